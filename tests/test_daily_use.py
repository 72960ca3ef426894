"""Issue 11, what a coordinator expects day to day: the search box, "save and continue",
the unsaved-changes warning, blank CRFs to print, empty states and pagination."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from crf.expected import CrfKind
from tests.factories.crf import (
    essdai_data,
    make_participant,
    make_visit,
    record_con_med,
    save_vitals,
    today,
)
from tests.factories.eligibility import make_screening

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(site_pumch, coordinator_pumch, investigator_pumch):
    return make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )


def search(client, q: str):
    return client.get(reverse("search"), {"q": q})


# --- the search box ----------------------------------------------------------------------------


def test_the_search_box_is_in_the_navigation_of_every_page(client_for, coordinator_pumch):
    page = client_for(coordinator_pumch).get(reverse("dashboard")).content.decode()
    assert f'action="{reverse("search")}"' in page and 'name="q"' in page


def test_a_subject_id_opens_the_participant(client_for, coordinator_pumch, participant):
    response = search(client_for(coordinator_pumch), participant.subject_id.lower())
    assert response.status_code == 302
    assert response["Location"] == reverse("participant_detail", args=[participant.subject_id])


def test_a_screening_number_opens_the_screening(client_for, coordinator_pumch, site_pumch):
    screening = make_screening(site=site_pumch, user=coordinator_pumch)
    response = search(client_for(coordinator_pumch), screening.number)
    assert response.status_code == 302 and response["Location"] == screening.get_absolute_url()


def test_an_exact_number_wins_over_longer_ones_that_contain_it(
    client_for, coordinator_pumch, site_pumch
):
    screenings = [make_screening(site=site_pumch, user=coordinator_pumch) for _ in range(2)]
    client = client_for(coordinator_pumch)
    assert search(client, screenings[0].number)["Location"] == screenings[0].get_absolute_url()


def test_several_matches_give_a_paginated_list(client_for, coordinator_pumch, site_pumch):
    screenings = [make_screening(site=site_pumch, user=coordinator_pumch) for _ in range(3)]
    response = search(client_for(coordinator_pumch), "PUMCH-S")
    assert response.status_code == 200
    text = response.content.decode()
    assert all(s.number in text for s in screenings)
    assert len(response.context["page"]) == 3


def test_the_search_never_finds_another_sites_records(
    client_for, coordinator_chcmu, participant, site_pumch, coordinator_pumch
):
    screening = make_screening(site=site_pumch, user=coordinator_pumch)
    client = client_for(coordinator_chcmu)
    for query in (participant.subject_id, screening.number, "PUMCH"):
        response = search(client, query)
        assert response.status_code == 200 and len(response.context["page"]) == 0
        assert "data-empty-state" in response.content.decode()


def test_a_single_character_asks_for_more(client_for, coordinator_pumch, participant):
    response = search(client_for(coordinator_pumch), "P")
    assert response.status_code == 200 and "data-empty-state" in response.content.decode()


# --- save and continue -------------------------------------------------------------------------


def test_save_and_continue_goes_to_the_next_form_of_the_visit(
    client_for, coordinator_pumch, participant
):
    visit = make_visit(participant, "BASELINE")
    client = client_for(coordinator_pumch)
    vitals = {
        "weight_kg": "40.0",
        "height_cm": "150.0",
        "temperature_c": "36.8",
        "heart_rate_bpm": "90",
        "systolic_mmhg": "105",
        "diastolic_mmhg": "65",
        "save_and_continue": "1",
    }
    response = client.post(reverse("crf:visit_form", args=[visit.pk, "vitals"]), vitals)
    assert response["Location"] == reverse("crf:visit_form", args=[visit.pk, "essdai"])

    essdai = {**essdai_data(), "save_and_continue": "1"}
    response = client.post(reverse("crf:visit_form", args=[visit.pk, "essdai"]), essdai)
    assert response["Location"] == reverse("crf:visit_form", args=[visit.pk, "esspri"])


def test_save_and_continue_skips_complete_forms_and_ends_on_the_visit_page(
    client_for, coordinator_pumch, participant
):
    visit = make_visit(participant, "RTX1", on=participant.planned_day_0)
    client = client_for(coordinator_pumch)
    url = reverse("crf:visit_form", args=[visit.pk, CrfKind.SAFETY_REVIEW.value])
    page = client.get(url).content.decode()
    assert 'name="save_and_continue"' in page
    save_vitals(visit, coordinator_pumch)

    data = {"new_adverse_events": "False", "medication_changes": "False", "save_and_continue": "1"}
    response = client.post(url, data)
    assert response["Location"] == reverse("crf:visit", args=[visit.pk])


# --- blank CRFs -------------------------------------------------------------------------------


def test_the_blank_crf_index_lists_every_visit_type_with_its_forms(client_for, monitor_pumch):
    page = client_for(monitor_pumch).get(reverse("crf:blank_index")).content.decode()
    for slug in ("baseline", "w12", "w28", "rituximab", "belimumab", "unscheduled"):
        assert f'href="{reverse("crf:blank", args=[slug])}"' in page
    assert "ESSDAI" in page and "Vitals, weight and height" in page


def test_a_blank_baseline_crf_has_every_expected_form_with_empty_fields(
    client_for, coordinator_pumch
):
    response = client_for(coordinator_pumch).get(reverse("crf:blank", args=["baseline"]))
    page = response.content.decode()
    for title in (
        "Vitals, weight and height",
        "ESSDAI",
        "ESSPRI",
        "Physician global assessment",
        "Schirmer test and salivary flow",
        "Laboratory tests",
        "CD19⁺ B cells",
        "Adverse events and medication reviewed",
        "Adverse event (one sheet per event)",
    ):
        assert f". {title}</h2>" in page, title
    assert "Constitutional" in page and "Severe fever" in page  # ESSDAI levels, in full
    assert "<input" not in page.split('<article class="blank-crf"')[1]
    assert "Subject ID" in page and 'class="blank-write' in page


def test_a_blank_infusion_crf_starts_with_the_administration_record(client_for, monitor_pumch):
    page = client_for(monitor_pumch).get(reverse("crf:blank", args=["rituximab"]))
    text = page.content.decode()
    assert text.index("1. Infusion administration") < text.index("2. Vitals, weight and height")
    assert "Lot number" in text and "ESSDAI" not in text.split("<article")[1]


def test_an_unknown_visit_type_is_not_found(client_for, coordinator_pumch):
    assert client_for(coordinator_pumch).get("/crf/blank/w99/").status_code == 404


def test_the_visit_page_links_to_the_blank_crf_of_its_type(
    client_for, coordinator_pumch, participant
):
    visit = make_visit(participant, "W12")
    page = client_for(coordinator_pumch).get(reverse("crf:visit", args=[visit.pk]))
    assert f'href="{reverse("crf:blank", args=["w12"])}"' in page.content.decode()


def test_blank_crfs_print_without_the_navigation(client_for, coordinator_pumch):
    page = client_for(coordinator_pumch).get(reverse("crf:blank", args=["w28"])).content.decode()
    assert "css/print.css" in page and "data-print" in page


# --- empty states and pagination -------------------------------------------------------------


def test_an_empty_month_says_so(client_for, coordinator_pumch, participant):
    # After the 28-week course, within the trial's dates (a month beyond them is refused).
    month = (today() + timedelta(days=400)).strftime("%Y-%m")
    page = client_for(coordinator_pumch).get(reverse("dosing:calendar"), {"month": month})
    assert "No infusion or visit falls in this month at your sites." in page.content.decode()


def test_the_medication_log_is_paginated(client_for, coordinator_pumch, participant):
    for n in range(26):
        record_con_med(participant, coordinator_pumch, indication=f"course {n}")
    client = client_for(coordinator_pumch)
    url = reverse("crf:con_meds", args=[participant.subject_id])

    first, second = client.get(url), client.get(url, {"page": 2})

    assert len(first.context["rows"]) == 25 and len(second.context["rows"]) == 1
    assert "?page=2" in first.content.decode()


def test_the_history_of_a_record_is_paginated(client_for, coordinator_pumch, participant):
    page = client_for(coordinator_pumch).get(
        reverse("record_history", args=["enrollment", "participant", participant.pk])
    )
    assert page.status_code == 200 and page.context["entries"].number == 1


@pytest.mark.browser
def test_leaving_a_form_with_unsaved_changes_asks_first_but_saving_does_not(
    page, log_in, coordinator_pumch, site_pumch
):
    screening = make_screening(site=site_pumch, user=coordinator_pumch)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    log_in(coordinator_pumch)
    page.goto(f"/screening/{screening.number}/agreement/")

    page.get_by_role("link", name="Cancel").click()  # nothing typed yet: no question
    page.wait_for_load_state()
    assert dialogs == []

    page.goto(f"/screening/{screening.number}/agreement/")
    page.locator("input[name=guardian_agrees][value=true]").click()
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_load_state()
    assert dialogs == ["beforeunload"]

    page.goto(f"/screening/{screening.number}/agreement/")
    page.locator("input[name=guardian_agrees][value=true]").click()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    assert dialogs == ["beforeunload"]
    assert "Saved." in page.locator(".messages").inner_text()
