"""Labs at entry (issue 19): the child's reference range, the judgement of an out-of-range
value, the CTCAE grade of a lab abnormality."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse

from demo.participants import enrol_candidate
from dosing.models import LabResult
from monitoring.models import DataQuery, MessageKind, QueryStatus
from tests.factories.crf import (
    NORMAL_PANEL,
    lab_data,
    make_participant,
    make_visit,
    save_labs,
    today,
)
from tests.factories.trialsite import PASSWORD
from tests.test_exports_csv import bundle_texts, read_csv, run_export
from trialsite.audit import history_of
from trialsite.reference_ranges import LabFacts, Significance, reference_range

D = Decimal


# --- The child's range, without a database -----------------------------------------------------


def test_the_igg_range_of_a_6_year_old_differs_from_a_15_year_olds():
    six = reference_range("igg", age=6, sex="F", site="pumch")
    fifteen = reference_range("igg", age=15, sex="F", site="pumch")

    assert (six.lower, six.upper) == (D("5.0"), D("13.0"))
    assert (fifteen.lower, fifteen.upper) == (D("7.0"), D("16.0"))


def test_an_igg_normal_for_a_6_year_old_is_low_for_a_15_year_old():
    assert LabFacts(age=6, sex="M", site=None).flag("igg", D("6.0")).flag is None
    assert LabFacts(age=15, sex="M", site=None).flag("igg", D("6.0")).flag == "L"


def test_a_band_of_the_childs_sex_is_chosen_for_a_teenager():
    girl = reference_range("haemoglobin", age=15, sex="F")
    boy = reference_range("haemoglobin", age=15, sex="M")

    assert (girl.lower, boy.lower) == (D("120"), D("130"))
    assert reference_range("haemoglobin", age=8, sex="M").lower == D("115")


def test_an_unknown_age_uses_the_all_ages_row():
    assert reference_range("igg", age=None, sex=None).lower == D("7.0")


def test_a_site_laboratory_table_overrides_the_trials_for_that_site_only():
    bands = {"pumch": {"igg": [{"sex": None, "ages": [5, 10], "limits": ["4.5", "12.5"]}]}}
    with override_settings(SITE_LAB_REFERENCE_RANGES=bands):
        assert reference_range("igg", age=6, sex="F", site="pumch").lower == D("4.5")
        assert reference_range("igg", age=6, sex="F", site="chcmu").lower == D("5.0")
        # Outside the site's bands: the test's all-ages row.
        assert reference_range("igg", age=15, sex="F", site="pumch").lower == D("7.0")


# --- The edit check uses the child's range --------------------------------------------------------


def child(site, coordinator, investigator, *, years: int):
    day_0 = today() - timedelta(days=200)
    born = date(day_0.year - years, 1, 15)
    return enrol_candidate(
        site=site,
        coordinator=coordinator,
        investigator=investigator,
        investigator_password=PASSWORD,
        day_0=day_0,
        date_of_birth=born,
    )


@pytest.fixture
def six_year_old(site_pumch, coordinator_pumch, investigator_pumch):
    return child(site_pumch, coordinator_pumch, investigator_pumch, years=6)


def test_the_edit_check_judges_igg_by_the_childs_range(six_year_old, coordinator_pumch):
    baseline = make_visit(six_year_old, "BASELINE", user=coordinator_pumch)
    week_12 = make_visit(six_year_old, "W12", user=coordinator_pumch)

    save_labs(baseline, coordinator_pumch, **{**NORMAL_PANEL, "igg": "5.5", "creatinine": "40"})
    assert not DataQuery.objects.filter(rule_code="LAB_RANGE").exists()  # low for an adult

    save_labs(week_12, coordinator_pumch, **{**NORMAL_PANEL, "igg": "14", "creatinine": "40"})
    [query] = DataQuery.objects.filter(rule_code="LAB_RANGE")
    assert "upper limit 13 g/L" in query.question  # the 6-year-old's upper limit, not 16


# --- "Clinically significant?" recorded with the value -----------------------------------------


@pytest.fixture
def visit(site_pumch, coordinator_pumch, investigator_pumch):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    return make_visit(participant, "BASELINE", user=coordinator_pumch)


def post_labs(client, visit, *, reason: str = "", **values) -> None:
    judgements = {k: v for k, v in values.items() if k.endswith("_significance")}
    tests = {k: v for k, v in values.items() if k not in judgements}
    data = {**lab_data(visit, **{**NORMAL_PANEL, **tests}), **judgements}
    if reason:
        data["reason_for_change"] = reason
    response = client.post(reverse("crf:visit_labs", args=[visit.pk]), data)
    assert response.status_code == 302, response.context["form"].errors


def igg_of(visit) -> LabResult:
    return LabResult.objects.active().get(visit=visit, analyte="igg")


def test_an_igg_below_range_expected_for_the_disease_opens_no_query_and_is_audited_and_exported(
    client_for, visit, coordinator_pumch, data_manager
):
    post_labs(
        client_for(coordinator_pumch), visit, igg="4.0", igg_significance=Significance.EXPECTED
    )

    igg = igg_of(visit)
    assert igg.significance == Significance.EXPECTED
    assert not DataQuery.objects.filter(rule_code="LAB_RANGE").exists(), [
        q.question for q in DataQuery.objects.all()
    ]
    [created] = history_of(igg)
    assert created.who == coordinator_pumch.username
    assert any(
        c.label == "clinically significant?" and c.new == "Expected for the disease"
        for c in created.changes
    )
    texts = bundle_texts(run_export(data_manager))
    [name] = [n for n in texts if n.endswith("dosing_labresult.csv")]
    rows = read_csv(texts[name])
    [row] = [r for r in rows if r["analyte"] == "igg"]
    assert row["significance"] == "expected"
    header = list(rows[0])
    assert header.index("significance") == header.index("value") + 1


def test_judging_a_value_later_closes_its_automatic_query_saying_who_judged_it(
    client_for, visit, coordinator_pumch
):
    client = client_for(coordinator_pumch)
    post_labs(client, visit, igg="4.0")
    [query] = DataQuery.objects.filter(rule_code="LAB_RANGE")
    assert query.status == QueryStatus.OPEN

    post_labs(
        client,
        visit,
        reason="investigator's judgement",
        igg="4.0",
        igg_significance=Significance.NOT_SIGNIFICANT,
    )

    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    closing = query.messages.last()
    assert closing.kind == MessageKind.CLOSE
    assert coordinator_pumch.printed_name in closing.text
    assert "Not clinically significant" in closing.text


def test_a_value_judged_clinically_significant_keeps_its_query(
    client_for, visit, coordinator_pumch
):
    post_labs(
        client_for(coordinator_pumch),
        visit,
        igg="4.0",
        igg_significance=Significance.SIGNIFICANT,
    )

    assert DataQuery.objects.filter(rule_code="LAB_RANGE", status=QueryStatus.OPEN).exists()


def test_a_judgement_of_a_value_within_range_is_not_stored(client_for, visit, coordinator_pumch):
    post_labs(
        client_for(coordinator_pumch), visit, igg="10", igg_significance=Significance.EXPECTED
    )

    assert igg_of(visit).significance == ""


# --- The entry page and the visit page ------------------------------------------------------------


def test_the_lab_entry_page_shows_the_childs_range_and_loads_the_flag_script(
    client_for, visit, coordinator_pumch
):
    response = client_for(coordinator_pumch).get(reverse("crf:visit_labs", args=[visit.pk]))

    page = response.content.decode()
    assert 'src="/static/js/labs.js"' in page or "js/labs.js" in page
    assert 'data-analyte="igg" data-lower="6.0" data-upper="15.0"' in page  # 13 years old
    assert "6–15 g/L" in page  # one number format (issue 19)
    assert "<script>" not in page  # CSP: no inline script


def test_a_grade_3_neutropenia_is_graded_on_the_visit_page_with_an_ae_prompt(
    client_for, visit, coordinator_pumch
):
    client = client_for(coordinator_pumch)
    post_labs(client, visit, neutrophils="0.8", igg="4.0", igg_significance=Significance.EXPECTED)

    page = client.get(reverse("crf:visit", args=[visit.pk])).content.decode()

    assert 'data-ctcae-grade="3"' in page
    assert "Grade 3 neutrophil count decreased: record an adverse event?" in page
    assert "Expected for the disease" in page  # the judgement shown with the saved value
    link = f"{reverse('crf:ae_add', args=[visit.participant.subject_id])}?term=Neutrophil+count"
    assert link in page
    form = client.get(
        reverse("crf:ae_add", args=[visit.participant.subject_id]),
        {"term": "Neutrophil count decreased", "grade": "3", "onset_date": "2026-05-01"},
    ).context["form"]
    assert form.initial["term"] == "Neutrophil count decreased" and form.initial["grade"] == "3"


def test_the_gate_lab_panel_shows_the_childs_range_and_loads_the_flag_script(
    client_for, visit, coordinator_pumch
):
    subject = visit.participant.subject_id
    page = client_for(coordinator_pumch).get(reverse("dosing:gate_labs", args=[subject]))

    html = page.content.decode()
    assert 'data-analyte="igg" data-lower="6.0" data-upper="15.0"' in html  # 13 years old
    assert "js/labs.js" in html and "<script>" not in html
