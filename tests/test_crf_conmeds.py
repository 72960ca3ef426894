"""Concomitant medication: the log and the prednisone-equivalent dose per kg."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from crf.forms import GLUCOCORTICOID_NEEDS_MG
from crf.models import ConcomitantMedication
from crf.selectors import Weight, glucocorticoid_mg_per_kg_on, weight_on
from tests.factories.crf import make_participant, make_visit, record_con_med, save_vitals

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(site_pumch, coordinator_pumch, investigator_pumch):
    return make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )


def rows(client, participant) -> str:
    return client.get(reverse("crf:con_meds", args=[participant.subject_id])).content.decode()


def test_prednisone_is_shown_per_kg_with_the_latest_weight_measured(
    client_for, coordinator_pumch, participant
):
    save_vitals(make_visit(participant, "BASELINE"), coordinator_pumch, weight="50.0")
    save_vitals(make_visit(participant, "W12"), coordinator_pumch, weight="40.0")
    record_con_med(participant, coordinator_pumch, drug="Prednisone", dose="10")

    html = rows(client_for(coordinator_pumch), participant)

    assert 'data-pred-mg-kg-day="0.250"' in html  # 10 mg/day ÷ 40 kg, the week-12 weight


def test_methylprednisolone_is_converted_to_its_prednisone_equivalent(
    client_for, coordinator_pumch, participant
):
    save_vitals(make_visit(participant, "BASELINE"), coordinator_pumch, weight="40.0")
    record_con_med(participant, coordinator_pumch, drug="methylprednisolone", dose="8")

    html = rows(client_for(coordinator_pumch), participant)

    assert "10.00 mg/day" in html  # 8 mg methylprednisolone = 10 mg prednisone
    assert 'data-pred-mg-kg-day="0.250"' in html


def test_without_a_weight_the_dose_per_kg_is_not_computed(
    client_for, coordinator_pumch, participant
):
    record_con_med(participant, coordinator_pumch)

    html = rows(client_for(coordinator_pumch), participant)

    assert "data-pred-mg-kg-day" not in html
    assert "no weight measured yet" in html


def test_a_glucocorticoid_must_be_given_in_mass_units_with_a_regular_frequency(
    client_for, coordinator_pumch, participant
):
    response = client_for(coordinator_pumch).post(
        reverse("crf:con_med_add", args=[participant.subject_id]),
        {
            "drug": "prednisolone",
            "dose": "5",
            "dose_unit": "mL",
            "route": "oral",
            "frequency": "prn",
            "start_date": "2026-01-01",
            "indication": "x",
        },
    )

    assert response.status_code == 200
    assert str(GLUCOCORTICOID_NEEDS_MG) in response.content.decode()
    assert not ConcomitantMedication.objects.exists()


def test_a_stop_date_before_the_start_is_refused(client_for, coordinator_pumch, participant):
    response = client_for(coordinator_pumch).post(
        reverse("crf:con_med_add", args=[participant.subject_id]),
        {
            "drug": "hydroxychloroquine",
            "dose": "200",
            "dose_unit": "mg",
            "route": "oral",
            "frequency": "qd",
            "start_date": "2026-03-01",
            "stop_date": "2026-02-01",
            "indication": "x",
        },
    )
    assert "stop_date" in response.context["form"].errors
    assert not ConcomitantMedication.objects.exists()


def test_the_daily_dose_per_kg_adds_up_the_glucocorticoids_taken_that_day(
    coordinator_pumch, participant
):
    day = participant.planned_day_0
    first = record_con_med(
        participant, coordinator_pumch, dose="10", stop_date=(day - timedelta(days=1)).isoformat()
    )
    second = record_con_med(participant, coordinator_pumch, dose="5", start_date=day.isoformat())
    hydrocortisone = record_con_med(
        participant,
        coordinator_pumch,
        drug="hydrocortisone",
        dose="10",
        frequency="bid",
        start_date=day.isoformat(),
    )
    other = record_con_med(participant, coordinator_pumch, drug="hydroxychloroquine", dose="200")
    weights = [Weight(day - timedelta(days=3), Decimal("25"), "vitals")]
    meds = [first, second, hydrocortisone, other]

    # 5 mg prednisone + 20 mg hydrocortisone (= 5 mg prednisone) = 10 mg/day over 25 kg.
    assert glucocorticoid_mg_per_kg_on(meds, weights, day) == Decimal("0.400")
    # Before any weight was measured the dose per kg is unknown, not zero.
    assert glucocorticoid_mg_per_kg_on(meds, weights, day - timedelta(days=10)) is None
    # No glucocorticoid that day: zero.
    assert glucocorticoid_mg_per_kg_on([other], weights, day) == Decimal(0)


def test_the_weight_used_is_the_latest_on_or_before_the_day():
    weights = [
        Weight(date(2026, 1, 1), Decimal("30"), "vitals"),
        Weight(date(2026, 2, 1), Decimal("31"), "infusion record"),
    ]
    assert weight_on(weights, date(2026, 1, 31)).kg == Decimal("30")
    assert weight_on(weights, date(2026, 2, 1)).kg == Decimal("31")
    assert weight_on(weights, date(2025, 12, 31)) is None


def test_steroid_eye_drops_are_recorded_in_drops_and_not_counted(
    client_for, coordinator_pumch, participant
):
    day = participant.planned_day_0
    save_vitals(make_visit(participant, "BASELINE"), coordinator_pumch, weight="40.0")
    response = client_for(coordinator_pumch).post(
        reverse("crf:con_med_add", args=[participant.subject_id]),
        {
            "drug": "prednisolone acetate",
            "dose": "1",
            "dose_unit": "drops",
            "route": "ophthalmic",
            "frequency": "other",
            "start_date": (day - timedelta(days=5)).isoformat(),
            "indication": "keratoconjunctivitis sicca flare",
        },
    )

    assert response.status_code == 302
    drops = ConcomitantMedication.objects.get()
    html = rows(client_for(coordinator_pumch), participant)
    assert "data-not-systemic" in html and "data-pred-mg-kg-day" not in html
    assert glucocorticoid_mg_per_kg_on([drops], [Weight(day, Decimal("40"), "vitals")], day) == 0


def test_an_intravenous_salt_form_is_converted_and_counted(
    client_for, coordinator_pumch, participant
):
    save_vitals(make_visit(participant, "BASELINE"), coordinator_pumch, weight="40.0")
    record_con_med(
        participant,
        coordinator_pumch,
        drug="Methylprednisolone sodium succinate",
        dose="40",
        route="iv",
        frequency="once",
    )
    record_con_med(participant, coordinator_pumch, drug="prednisone", dose="10", route="topical")

    html = rows(client_for(coordinator_pumch), participant)

    assert "50.00 mg/day" in html  # 40 mg methylprednisolone = 50 mg prednisone
    assert 'data-pred-mg-kg-day="1.250"' in html
    assert html.count("data-pred-mg-kg-day") == 1  # the topical prednisone is not counted


def test_a_systemic_glucocorticoid_in_millilitres_is_still_refused(
    client_for, coordinator_pumch, participant
):
    response = client_for(coordinator_pumch).post(
        reverse("crf:con_med_add", args=[participant.subject_id]),
        {
            "drug": "prednisolone sodium phosphate",
            "dose": "5",
            "dose_unit": "mL",
            "route": "oral",
            "frequency": "qd",
            "start_date": "2026-01-01",
            "indication": "x",
        },
    )
    assert str(GLUCOCORTICOID_NEEDS_MG) in response.content.decode()
    assert not ConcomitantMedication.objects.exists()
