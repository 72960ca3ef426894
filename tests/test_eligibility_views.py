"""Screening pages: entering data over several sittings, reasons for change, access."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from demo.screenings import ELIGIBLE_LABS
from eligibility.models import Screening, ScreeningLab
from tests.factories.eligibility import (
    EligibleScreeningFactory,
    ScreeningFactory,
    make_eligible_screening,
    make_screening,
)

pytestmark = pytest.mark.django_db


def section_url(screening: Screening, section: str) -> str:
    return reverse("eligibility:section", args=[screening.number, section])


def candidate_data(screening: Screening, **changes) -> dict:
    data = {
        "screening_date": screening.screening_date.isoformat(),
        "date_of_birth": screening.date_of_birth.isoformat(),
        "sex": screening.sex,
        "planned_day_0": screening.planned_day_0.isoformat(),
        "version": screening.version,
    }
    return {**data, **changes}


def test_a_coordinator_opens_a_new_screening(client_for, coordinator_pumch):
    client = client_for(coordinator_pumch)
    response = client.post(
        reverse("eligibility:new"),
        {
            "site": coordinator_pumch.sites.get().pk,
            "screening_date": "2026-11-02",
            "date_of_birth": "2015-03-14",
            "sex": "F",
            "planned_day_0": "2026-11-20",
        },
    )
    screening = Screening.objects.get()
    assert response.status_code == 302
    assert response["Location"] == screening.get_absolute_url()
    assert screening.number == "PUMCH-S001"
    assert screening.created_by == coordinator_pumch


def test_a_birth_date_in_the_future_is_a_form_error_naming_the_field(client_for, coordinator_pumch):
    client = client_for(coordinator_pumch)
    response = client.post(
        reverse("eligibility:new"),
        {
            "site": coordinator_pumch.sites.get().pk,
            "screening_date": "2026-11-02",
            "date_of_birth": "2099-01-01",
            "sex": "F",
        },
    )
    assert response.status_code == 200
    assert "date_of_birth" in response.context["form"].errors
    assert not Screening.objects.exists()


def test_first_entry_of_a_section_needs_no_reason(client_for, coordinator_pumch, site_pumch):
    screening = ScreeningFactory(site=site_pumch, user=coordinator_pumch)
    client = client_for(coordinator_pumch)
    response = client.post(
        section_url(screening, "agreement"),
        {"guardian_agrees": "true", "child_agrees": "true", "version": screening.version},
    )
    assert response.status_code == 302
    screening.refresh_from_db()
    assert screening.guardian_agrees is True


def test_an_edit_without_a_reason_is_rejected_and_changes_nothing(
    client_for, coordinator_pumch, site_pumch
):
    screening = ScreeningFactory(site=site_pumch, user=coordinator_pumch)
    client = client_for(coordinator_pumch)
    response = client.post(section_url(screening, "candidate"), candidate_data(screening, sex="M"))
    assert response.status_code == 200
    assert "reason_for_change" in response.context["form"].errors
    screening.refresh_from_db()
    assert screening.sex == "F"


def test_an_edit_with_a_reason_is_saved_and_the_reason_is_in_the_history(
    client_for, coordinator_pumch, site_pumch
):
    screening = ScreeningFactory(site=site_pumch, user=coordinator_pumch)
    client = client_for(coordinator_pumch)
    response = client.post(
        section_url(screening, "candidate"),
        candidate_data(screening, sex="M", reason_for_change="Transcription error"),
    )
    assert response.status_code == 302
    history = client.get(reverse("record_history", args=["eligibility", "screening", screening.pk]))
    assert history.status_code == 200
    content = history.content.decode()
    assert "Transcription error" in content
    assert "<del>Female</del> → Male" in content
    assert coordinator_pumch.username in content


def test_a_stale_form_is_refused_instead_of_overwriting(client_for, coordinator_pumch, site_pumch):
    screening = ScreeningFactory(site=site_pumch, user=coordinator_pumch)
    client = client_for(coordinator_pumch)
    stale = candidate_data(screening, sex="M", reason_for_change="mine")
    client.post(
        section_url(screening, "candidate"),
        candidate_data(screening, planned_day_0="2026-11-21", reason_for_change="theirs"),
    )
    response = client.post(section_url(screening, "candidate"), stale)
    assert response.status_code == 200
    assert "Someone else saved this record" in response.content.decode()
    screening.refresh_from_db()
    assert screening.sex == "F"
    assert screening.planned_day_0.isoformat() == "2026-11-21"


def test_labs_in_mg_dl_are_stored_canonically_and_shown_both_ways(
    client_for, coordinator_pumch, site_pumch
):
    screening = ScreeningFactory(site=site_pumch, user=coordinator_pumch)
    client = client_for(coordinator_pumch)
    response = client.post(
        reverse("eligibility:labs", args=[screening.number]),
        {
            "igg_value": "1850",
            "igg_unit": "mg/dL",
            "igg_date": "2026-11-01",
            "creatinine_value": "0.5",
            "creatinine_unit": "mg/dL",
            "creatinine_date": "2026-11-01",
            "version": screening.version,
        },
    )
    assert response.status_code == 302
    igg = ScreeningLab.objects.get(analyte="igg")
    assert (igg.value_entered, igg.unit_entered, igg.value) == (
        Decimal("1850"),
        "mg/dL",
        Decimal("18.5"),
    )
    assert ScreeningLab.objects.get(analyte="creatinine").value == Decimal("44.2")
    page = client.get(screening.get_absolute_url()).content.decode()
    assert "1850 mg/dL" in page and "18.5 g/L" in page


def test_an_impossible_lab_value_is_refused_with_the_field_named(
    client_for, coordinator_pumch, site_pumch
):
    screening = ScreeningFactory(site=site_pumch, user=coordinator_pumch)
    client = client_for(coordinator_pumch)
    response = client.post(
        reverse("eligibility:labs", args=[screening.number]),
        {
            "igg_value": "400",
            "igg_unit": "g/L",
            "igg_date": "2026-11-01",
            "wbc_value": "-1",
            "wbc_unit": "10^9/L",
            "wbc_date": "2026-11-01",
            "version": screening.version,
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "the highest possible value" in errors["igg_value"][0]
    assert "wbc_value" in errors
    assert not ScreeningLab.objects.exists()


def _post_labs(client, screening: Screening, **fields) -> object:
    return client.post(
        reverse("eligibility:labs", args=[screening.number]),
        {"version": screening.version, **fields},
    )


def _nothing_saved(screening: Screening) -> None:
    saved = Screening.objects.get(pk=screening.pk)
    assert saved.version == screening.version
    assert saved.serology_date is None and saved.hbsag is None
    assert not ScreeningLab.objects.filter(screening=screening).exists()


def _error_beside(content: str, error_id: str) -> str:
    """The text of the error element ``error_id``, rendered beside its field."""
    assert f'id="{error_id}"' in content, error_id
    return content.split(f'id="{error_id}"', 1)[1].split("</", 1)[0]


def _impossible_date(screening, when: str):
    """Tomorrow ("future") or the day before the candidate was born ("before_birth")."""
    if when == "future":
        return timezone.localdate() + timedelta(days=1)
    return screening.date_of_birth - timedelta(days=1)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("future", "This date is in the future."),
        ("before_birth", "This date is before the candidate&#x27;s date of birth."),
    ],
)
def test_a_screening_lab_with_an_impossible_date_is_refused_with_the_field_named(
    client_for, coordinator_pumch, site_pumch, when, message
):
    screening = make_screening(site=site_pumch, user=coordinator_pumch)
    taken_on = _impossible_date(screening, when)
    response = _post_labs(
        client_for(coordinator_pumch),
        screening,
        igg_value="12",
        igg_unit="g/L",
        igg_date=taken_on.isoformat(),
        wbc_value="5",
        wbc_unit="10^9/L",
        wbc_date="2026-11-01",
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["igg_date"]
    content = response.content.decode()
    assert 'aria-describedby="id_igg_date_error"' in content  # the input points to it
    assert message in _error_beside(content, "id_igg_date_error")
    _nothing_saved(screening)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("future", "This date is in the future."),
        ("before_birth", "This date is before the candidate&#x27;s date of birth."),
    ],
)
def test_a_serology_date_that_is_impossible_is_refused_with_the_field_named(
    client_for, coordinator_pumch, site_pumch, when, message
):
    screening = make_screening(site=site_pumch, user=coordinator_pumch)
    serology_date = _impossible_date(screening, when)
    response = _post_labs(
        client_for(coordinator_pumch),
        screening,
        hbsag="negative",
        serology_date=serology_date.isoformat(),
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["serology_date"]
    assert message in _error_beside(response.content.decode(), "error_1_id_serology_date")
    _nothing_saved(screening)


def test_a_serology_date_on_the_date_of_birth_is_accepted(
    client_for, coordinator_pumch, site_pumch
):
    screening = make_screening(site=site_pumch, user=coordinator_pumch)
    response = _post_labs(
        client_for(coordinator_pumch),
        screening,
        hbsag="negative",
        serology_date=screening.date_of_birth.isoformat(),
    )
    assert response.status_code == 302
    assert Screening.objects.get(pk=screening.pk).serology_date == screening.date_of_birth


def test_the_screening_page_warns_when_elevated_igg_contradicts_the_igg_entered(
    client_for, coordinator_pumch, site_pumch
):
    normal_igg = tuple(
        (
            analyte,
            Decimal("1200") if analyte == "igg" else value,
            "mg/dL" if analyte == "igg" else unit,
        )
        for analyte, value, unit in ELIGIBLE_LABS
    )
    contradicted = make_eligible_screening(
        site=site_pumch, user=coordinator_pumch, labs=normal_igg
    )  # "Elevated IgG" ticked (the demo default), IgG 12 g/L entered as 1200 mg/dL
    agreeing = make_eligible_screening(site=site_pumch, user=coordinator_pumch)  # IgG 18.5 g/L
    client = client_for(coordinator_pumch)

    page = client.get(contradicted.get_absolute_url()).content.decode()
    assert "INC3(b): “Elevated IgG” is ticked, but the screening IgG 12 g/L" in page
    assert 'data-outcome="eligible"' in page  # a warning only
    assert "INC3(b):" not in client.get(agreeing.get_absolute_url()).content.decode()


def test_changing_a_saved_lab_needs_a_reason(client_for, coordinator_pumch, site_pumch):
    screening = EligibleScreeningFactory(site=site_pumch, user=coordinator_pumch)
    client = client_for(coordinator_pumch)
    form = client.get(reverse("eligibility:labs", args=[screening.number])).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
    data = {k: ("true" if v is True else "false" if v is False else v) for k, v in data.items()}
    data["iga_value"] = "0.05"
    response = client.post(reverse("eligibility:labs", args=[screening.number]), data)
    assert response.status_code == 200
    assert "reason_for_change" in response.context["form"].errors
    assert ScreeningLab.objects.get(analyte="iga").value == Decimal("2.1")


def test_a_coordinator_of_another_site_gets_404(client_for, coordinator_chcmu, site_pumch):
    screening = ScreeningFactory(site=site_pumch)
    client = client_for(coordinator_chcmu)
    assert client.get(screening.get_absolute_url()).status_code == 404
    assert client.post(section_url(screening, "candidate"), {}).status_code == 404
    assert (
        client.get(
            reverse("record_history", args=["eligibility", "screening", screening.pk])
        ).status_code
        == 404
    )


def test_a_monitor_reads_but_gets_403_on_a_write(client_for, monitor_pumch, site_pumch):
    screening = ScreeningFactory(site=site_pumch)
    client = client_for(monitor_pumch)
    assert client.get(screening.get_absolute_url()).status_code == 200
    response = client.post(section_url(screening, "candidate"), candidate_data(screening, sex="M"))
    assert response.status_code == 403
    assert client.post(reverse("eligibility:new"), {}).status_code == 403
    screening.refresh_from_db()
    assert screening.sex == "F"


def test_the_screening_log_counts_and_filters_by_status(
    client_for, coordinator_pumch, site_pumch, site_chcmu
):
    ScreeningFactory(site=site_pumch)
    EligibleScreeningFactory(site=site_pumch)
    EligibleScreeningFactory(site=site_chcmu)
    client = client_for(coordinator_pumch)
    response = client.get(reverse("eligibility:log"), {"status": "eligible"})
    assert response.context["counts"]["total"] == 2
    assert response.context["counts"]["eligible"] == 1
    assert [s.number for s in response.context["page"]] == ["PUMCH-S002"]


def test_a_data_manager_sees_every_site_in_the_log(
    client_for, data_manager, site_pumch, site_chcmu
):
    ScreeningFactory(site=site_pumch)
    ScreeningFactory(site=site_chcmu)
    response = client_for(data_manager).get(reverse("eligibility:log"))
    assert response.context["counts"]["total"] == 2


@pytest.mark.parametrize(
    "junk",
    [
        {"screening_date": "yesterday", "date_of_birth": "31/02/2015", "sex": "X"},
        {"screening_date": "2026-11-02", "date_of_birth": "2015-03-14", "sex": "F" * 10_000},
        {"screening_date": "<script>alert(1)</script>", "date_of_birth": "'; DROP TABLE x;--"},
    ],
)
def test_hostile_input_gives_form_errors_not_a_server_error(client_for, coordinator_pumch, junk):
    client = client_for(coordinator_pumch)
    response = client.post(
        reverse("eligibility:new"), {"site": coordinator_pumch.sites.get().pk, **junk}
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Screening.objects.exists()


def test_wrong_passwords_when_signing_count_towards_the_lockout(
    client_for, investigator_pumch, site_pumch, password
):
    from axes.models import AccessAttempt

    screening = EligibleScreeningFactory(site=site_pumch)
    client = client_for(investigator_pumch)
    for _ in range(5):
        client.post(reverse("eligibility:sign", args=[screening.number]), {"password": "wrong"})
    assert AccessAttempt.objects.get(username=investigator_pumch.username).failures_since_start == 5
    response = client.post(
        reverse("eligibility:sign", args=[screening.number]), {"password": password}
    )
    assert response.status_code in (403, 429)
    from trialsite.models import Signature

    assert not Signature.objects.exists()
