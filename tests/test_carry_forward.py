"""Issue 19, "carry forward, never re-type": a fact entered once is offered, prefilled and
dated, wherever it is needed again (weight and height, Schirmer and salivary flow, EXC5
answers, ongoing prior therapies, the event's target date)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crf import carry
from crf.forms import GlandFunctionForm, VitalsForm
from dosing import measurements, selectors
from dosing.models import Drug, Visit
from eligibility.models import Screening
from tests.factories.crf import record_con_med, save_vitals
from tests.factories.dosing import Course, make_course
from trialsite import protocol

pytestmark = pytest.mark.django_db

DAY_0_DAYS_AGO = 3


@pytest.fixture
def course(site_pumch, coordinator_pumch, investigator_pumch) -> Course:
    """Day 0 three days ago, confirmed, its baseline visit recorded (weight 31.5, 137 cm)."""
    course = make_course(
        site=site_pumch,
        coordinator=coordinator_pumch,
        investigator=investigator_pumch,
        day_0=timezone.localdate() - timedelta(days=DAY_0_DAYS_AGO),
    )
    course.day_0()
    baseline = Visit.objects.get(participant=course.participant, visit_code="BASELINE")
    save_vitals(baseline, coordinator_pumch, weight="31.5", height="137.0")
    return course


# --- 1. the selector ------------------------------------------------------------------


def test_baseline_weight_is_valid_for_seven_days_and_no_longer(course):
    day_0 = course.day_0_date
    weight = measurements.latest_valid_measurement(course.participant, "weight", day_0)
    assert weight is not None
    assert (weight.value, weight.unit, weight.measured_on) == (Decimal("31.5"), "kg", day_0)
    assert weight.source == "baseline vitals"
    limit = protocol.WEIGHT_HEIGHT_VALID_DAYS
    last_valid = day_0 + timedelta(days=limit)
    assert measurements.latest_valid_measurement(course.participant, "height", last_valid)
    after = day_0 + timedelta(days=limit + 1)
    assert measurements.latest_valid_measurement(course.participant, "weight", after) is None
    # Nothing measured after the date asked for counts either.
    before = day_0 - timedelta(days=1)
    assert measurements.latest_valid_measurement(course.participant, "weight", before) is None


def test_a_later_prescription_weight_wins_over_the_baseline_one(course):
    prescription = course.prescribe(Drug.RITUXIMAB, DAY_0_DAYS_AGO)  # weighed today (factory)
    found = measurements.latest_valid_measurement(
        course.participant, "weight", course.day(DAY_0_DAYS_AGO)
    )
    assert found.value == prescription.weight_kg
    assert found.measured_on == prescription.anthropometry_measured_on
    assert found.source == "a prescription"


def test_screening_schirmer_stands_for_baseline_within_the_screening_window(course):
    screening = course.participant.screening
    found = measurements.latest_valid_measurement(course.participant, "schirmer", course.day(0))
    assert found is not None
    assert (found.value, found.measured_on, found.source) == (
        screening.schirmer_mm_5min,
        screening.screening_date,
        "screening",
    )
    too_late = screening.screening_date + timedelta(days=protocol.GLAND_FUNCTION_VALID_DAYS + 1)
    assert measurements.latest_valid_measurement(course.participant, "schirmer", too_late) is None


# --- 2. prefilled forms ---------------------------------------------------------------


def test_the_prescription_form_is_prefilled_with_the_baseline_weight_and_its_date(
    client_for, investigator_pumch, course
):
    response = client_for(investigator_pumch).get(
        reverse("dosing:prescribe", args=[course.participant.subject_id])
    )
    html = response.content.decode()
    assert re.search(r'name="weight_kg" value="31.5"', html)
    assert re.search(r'name="height_cm" value="137.0"', html)
    assert f'name="anthropometry_measured_on" value="{course.day_0_date.isoformat()}"' in html
    assert "from baseline vitals, " in html
    assert f'data-carried-from="{course.day_0_date.isoformat()}"' in html


def test_an_infusion_visit_vitals_form_starts_from_the_baseline_weight(course):
    course.give(course.prescribe(Drug.RITUXIMAB, 0), 0)
    rtx1 = Visit.objects.get(participant=course.participant, visit_code="RTX1")
    form = VitalsForm(visit=rtx1, today=timezone.localdate())
    assert form.initial["weight_kg"] == Decimal("31.5")
    assert form.initial["height_cm"] == Decimal("137.0")
    assert "from baseline vitals" in str(form.fields["weight_kg"].help_text)
    assert "temperature_c" not in form.initial  # only measurements are carried


def test_baseline_gland_function_starts_from_screening(course):
    baseline = Visit.objects.get(participant=course.participant, visit_code="BASELINE")
    form = GlandFunctionForm(visit=baseline, today=timezone.localdate())
    screening = course.participant.screening
    assert form.initial["schirmer_mm_5min"] == screening.schirmer_mm_5min
    assert form.initial["unstimulated_saliva_ml_15min"] == screening.unstimulated_saliva_ml_15min
    assert "from screening" in str(form.fields["schirmer_mm_5min"].help_text)


def test_the_infusion_page_shows_the_weight_and_height_with_their_date(
    client_for, coordinator_pumch, course
):
    prescription = course.prescribe(Drug.RITUXIMAB, DAY_0_DAYS_AGO, measured=0)
    response = client_for(coordinator_pumch).get(
        reverse("dosing:infusion", args=[course.participant.subject_id])
    )
    html = response.content.decode()
    assert prescription.anthropometry_measured_on == course.day_0_date
    assert f'data-anthropometry="{course.day_0_date.isoformat()}"' in html
    assert "measured " in html


# --- 3. EXC5 on Day 0 -----------------------------------------------------------------


def test_day_0_starts_from_the_screening_exc5_answers(
    client_for, investigator_pumch, site_pumch, coordinator_pumch
):
    course = make_course(
        site=site_pumch,
        coordinator=coordinator_pumch,
        investigator=investigator_pumch,
        day_0=timezone.localdate(),
    )
    screening = course.participant.screening
    vaccine = screening.screening_date - timedelta(days=200)
    Screening.objects.filter(pk=screening.pk).update(live_vaccine=True, live_vaccine_date=vaccine)
    response = client_for(investigator_pumch).get(
        reverse("dosing:day_0", args=[course.participant.subject_id])
    )
    html = response.content.decode()
    assert re.search(r'name="live_vaccine" value="yes"[^>]*checked', html)
    assert re.search(r'name="high_infection_risk" value="no"[^>]*checked', html)
    assert f'name="live_vaccine_date" value="{vaccine.isoformat()}"' in html
    assert "Answered at screening on" in html


# --- 4. ongoing prior therapies as concomitant medication ------------------------------


def test_ongoing_prior_therapies_are_offered_once(client_for, coordinator_pumch, course):
    participant = course.participant
    offered = {offer.drug for offer in carry.ongoing_prior_therapy_offers(participant)}
    assert offered == {"methotrexate", "mycophenolate mofetil", "prednisone"}
    client = client_for(coordinator_pumch)
    page = client.get(reverse("crf:con_meds", args=[participant.subject_id])).content.decode()
    assert "Ongoing at screening" in page
    prednisone = next(
        o.therapy for o in carry.ongoing_prior_therapy_offers(participant) if o.drug == "prednisone"
    )
    add = reverse("crf:con_med_add", args=[participant.subject_id]) + f"?prior={prednisone.pk}"
    form_page = client.get(add).content.decode()
    assert 'name="drug" value="prednisone"' in form_page
    assert f'name="start_date" value="{prednisone.start.isoformat()}"' in form_page

    record_con_med(participant, coordinator_pumch, drug="Prednisone")
    offered = {offer.drug for offer in carry.ongoing_prior_therapy_offers(participant)}
    assert offered == {"methotrexate", "mycophenolate mofetil"}
    again = client.get(add)
    assert again.status_code == 302  # already recorded: no second row offered


# --- 5. a scheduled event's date defaults to its target ------------------------------


def test_a_visit_date_defaults_to_the_target_unless_it_is_still_ahead(course):
    today = timezone.localdate()
    sched = selectors.course_for(course.participant, today)
    week_12 = sched.event(protocol.WEEK_12_VISIT_CODE)
    assert week_12.target > today
    assert selectors.default_event_date(sched, protocol.WEEK_12_VISIT_CODE, today) == today
    later = week_12.target + timedelta(days=3)
    assert selectors.default_event_date(sched, protocol.WEEK_12_VISIT_CODE, later) == (
        week_12.target
    )
    assert selectors.default_event_date(sched, "UNS", later) == later


def test_a_blank_crf_carries_nothing_and_renders(client_for, coordinator_pumch):
    # The blank CRF builds its forms on an unsaved visit of no one (crf.blank).
    response = client_for(coordinator_pumch).get(reverse("crf:blank", args=["baseline"]))
    assert response.status_code == 200
    assert "data-carried-from" not in response.content.decode()
