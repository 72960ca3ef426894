"""Dosing services on the real database: refusals in the engine's words, gates, status,
doses and the automatic deviations."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from dosing import engine, services
from dosing.models import BCellResult, Deviation, Drug, Infusion, LabResult, Prescription, Visit
from dosing.selectors import course_facts, course_for
from enrollment.models import StatusChange
from enrollment.rules import DiscontinuationReason, ParticipantStatus
from enrollment.services import withdraw_consent
from tests.factories.dosing import Course, make_course, ready_for_belimumab
from trialsite.models import Signature, SignatureMeaning
from trialsite.protocol import CRF_ENTRY_DAYS

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(site_pumch, coordinator_pumch, investigator_pumch) -> Course:
    return make_course(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )


def refusal_code(excinfo) -> str:
    return excinfo.value.error_list[0].code


# --- Day 0 and the first rituximab ---------


def test_first_rituximab_needs_a_day_0_confirmation_dated_that_day(course):
    course.day_0(-1, visit=False)  # confirmed the day before: not Day 0
    prescription = course.prescribe(Drug.RITUXIMAB, 0)

    with pytest.raises(ValidationError) as excinfo:
        course.give(prescription, 0)

    assert refusal_code(excinfo) == "day_0_not_confirmed"
    assert not Infusion.objects.exists()


def test_a_live_vaccine_within_3_months_fails_exc5_on_day_0_and_blocks_rituximab(course):
    course.day_0(0, live_vaccine=course.day(-80), visit=False)
    prescription = course.prescribe(Drug.RITUXIMAB, 0)

    confirmation = course.participant.day_0_confirmations.get()
    assert not confirmation.passed
    assert "Live-attenuated vaccine" in confirmation.explanation
    with pytest.raises(ValidationError) as excinfo:
        course.give(prescription, 0)
    assert refusal_code(excinfo) == "day_0_not_confirmed"


def test_first_rituximab_creates_visit_rtx1_and_moves_the_participant_to_rituximab(course):
    course.day_0().rituximab(0)

    infusion = Infusion.objects.get()
    assert (infusion.visit.visit_code, infusion.visit.kind, infusion.number) == (
        "RTX1",
        "infusion",
        1,
    )
    assert course.participant.status == ParticipantStatus.RITUXIMAB
    change = StatusChange.objects.filter(participant=course.participant).latest("pk")
    assert change.to_status == ParticipantStatus.RITUXIMAB
    assert course.day(0).isoformat() in change.reason


def test_infusion_keeps_what_the_prescriber_saw(course):
    course.day_0().rituximab(0)

    infusion = Infusion.objects.get()
    # Mosteller: sqrt(138 x 32 / 3600) = 1.11 m2; 375 x 1.11 = 416 mg.
    assert infusion.bsa_m2 == Decimal("1.11")
    assert infusion.proposed_dose_mg == Decimal("416")
    assert infusion.prescribed_by == course.investigator
    assert infusion.prescription.infusion == infusion


# --- Prescription ---------


def test_only_an_investigator_can_prescribe(course, coordinator_pumch, password):
    course.day_0()
    with pytest.raises(PermissionDenied):
        services.prescription_create(
            participant=course.participant,
            user=coordinator_pumch,
            password=password,
            drug=Drug.RITUXIMAB,
            planned_on=course.day(0),
            weight_kg=Decimal("32"),
            height_cm=Decimal("138"),
            anthropometry_measured_on=course.day(0),
            prescribed_dose_mg=Decimal("416"),
            today=course.day(0),
        )
    assert not Prescription.objects.exists()


def test_a_prescription_is_signed_and_a_wrong_password_saves_nothing(course):
    course.day_0()
    prescription = course.prescribe(Drug.RITUXIMAB, 0)
    signature = Signature.objects.get(meaning=SignatureMeaning.PRESCRIPTION)
    assert signature.meaning == SignatureMeaning.PRESCRIPTION
    assert signature.object_id == prescription.pk
    services.prescription_void(prescription=prescription, user=course.investigator, reason="x")

    with pytest.raises(ValidationError):
        services.prescription_create(
            participant=course.participant,
            user=course.investigator,
            password="not-the-password",
            drug=Drug.RITUXIMAB,
            planned_on=course.day(0),
            weight_kg=Decimal("32"),
            height_cm=Decimal("138"),
            anthropometry_measured_on=course.day(0),
            prescribed_dose_mg=Decimal("416"),
            today=course.day(0),
        )
    assert Prescription.objects.active().count() == 0


def test_weight_measured_8_days_before_the_infusion_is_refused_7_days_is_fine(course):
    course.day_0()
    with pytest.raises(ValidationError) as excinfo:
        course.prescribe(Drug.RITUXIMAB, 0, measured=-8)
    assert refusal_code(excinfo) == "anthropometry_not_current"

    assert course.prescribe(Drug.RITUXIMAB, 0, measured=-7).pk


def test_a_dose_more_than_10_percent_from_the_proposed_one_needs_a_reason_and_is_flagged(course):
    course.day_0()
    # Proposed 416 mg; 458 mg is 10.1 % more.
    with pytest.raises(ValidationError) as excinfo:
        course.prescribe(Drug.RITUXIMAB, 0, dose=Decimal("458"))
    assert refusal_code(excinfo) == "dose_reason_needed"
    assert "more than 10 %" in excinfo.value.messages[0]

    within = course.prescribe(Drug.RITUXIMAB, 0, dose=Decimal("457"))
    assert not within.dose_flagged
    with pytest.raises(ValidationError) as excinfo:
        course.give(within, 0, administered=Decimal("370"))  # 11 % less than proposed
    assert refusal_code(excinfo) == "dose_reason_needed"

    infusion = course.give(within, 0, administered=Decimal("370"), reason="Reaction: stopped")
    assert infusion.dose_flagged
    assert infusion.dose_difference_reason == "Reaction: stopped"


def test_a_second_open_prescription_is_refused(course):
    course.day_0()
    course.prescribe(Drug.RITUXIMAB, 0)
    with pytest.raises(ValidationError) as excinfo:
        course.prescribe(Drug.RITUXIMAB, 0)
    assert refusal_code(excinfo) == "open_prescription"


# --- What the engine refuses ---------


def test_belimumab_before_the_rituximab_phase_is_complete_is_refused_with_the_engines_reason(
    course,
):
    course.day_0().rituximab(0, 7)  # no B-cell result yet: not complete
    inputs = course_facts(course.participant, course.day(35))
    expected = engine.check_infusion_allowed(inputs, engine.Drug.BELIMUMAB, course.day(35))

    with pytest.raises(ValidationError) as excinfo:
        course.prescribe(Drug.BELIMUMAB, 35)

    assert refusal_code(excinfo) == "belimumab_before_rituximab_complete"
    assert excinfo.value.messages == [expected.message]


def test_a_fifth_rituximab_is_refused(course):
    course.day_0().rituximab(0, 7, 14, 21)  # never a B-cell result: 4 doses, phase over

    with pytest.raises(ValidationError) as excinfo:
        course.prescribe(Drug.RITUXIMAB, 28)

    assert refusal_code(excinfo) == "fifth_rituximab"
    assert "at most 4 rituximab infusions" in excinfo.value.messages[0]


def test_rituximab_after_depletion_is_refused_even_with_a_prescription_made_before(course):
    course.day_0().rituximab(0, 7)
    prescription = course.prescribe(Drug.RITUXIMAB, 14, today=9)
    course.depleted(10)

    with pytest.raises(ValidationError) as excinfo:
        course.give(prescription, 14)

    assert refusal_code(excinfo) == "rituximab_after_depletion"
    assert "depleted" in excinfo.value.messages[0]


def test_an_infusion_dated_in_the_future_is_refused(course):
    course.day_0()
    prescription = course.prescribe(Drug.RITUXIMAB, 0)
    with pytest.raises(ValidationError) as excinfo:
        course.give(prescription, 1, today=0)
    assert refusal_code(excinfo) == "future_date"


# --- The EXC10/EXC11 gate ---------


def test_first_belimumab_with_labs_10_days_old_is_recorded_and_moves_status_to_belimumab(course):
    ready_for_belimumab(course).labs(25).belimumab(35)

    infusion = Infusion.objects.get(drug=Drug.BELIMUMAB)
    assert infusion.visit.visit_code == "BEL1"
    assert course.participant.status == ParticipantStatus.BELIMUMAB


def test_first_belimumab_with_labs_11_days_old_is_refused(course):
    ready_for_belimumab(course).labs(24)
    prescription = course.prescribe(Drug.BELIMUMAB, 35)  # labs may still follow

    with pytest.raises(ValidationError) as excinfo:
        course.give(prescription, 35)

    assert refusal_code(excinfo) == "pre_belimumab_labs_missing"
    assert "IgG" in excinfo.value.messages[0]
    assert course.refresh().status == ParticipantStatus.RITUXIMAB


def test_failing_labs_refuse_the_first_belimumab_and_the_investigator_discontinues(course):
    ready_for_belimumab(course).labs(30, igg="3.9")

    with pytest.raises(ValidationError) as excinfo:
        course.prescribe(Drug.BELIMUMAB, 35)
    assert refusal_code(excinfo) == "pre_belimumab_labs_fail"

    with pytest.raises(PermissionDenied):
        services.gate_failure_confirm(
            participant=course.participant, user=course.coordinator, today=course.day(31)
        )
    assert course.refresh().status == ParticipantStatus.RITUXIMAB

    services.gate_failure_confirm(
        participant=course.participant, user=course.investigator, today=course.day(31)
    )
    change = StatusChange.objects.filter(participant=course.participant).latest("pk")
    assert course.refresh().status == ParticipantStatus.DISCONTINUED
    assert change.discontinuation_reason == DiscontinuationReason.LAB_GATE
    assert "EXC10" in change.reason
    assert change.created_by == course.investigator


def test_passing_labs_cannot_be_confirmed_as_a_gate_failure(course):
    ready_for_belimumab(course).labs(30)
    with pytest.raises(ValidationError) as excinfo:
        services.gate_failure_confirm(
            participant=course.participant, user=course.investigator, today=course.day(31)
        )
    assert refusal_code(excinfo) == "gate_not_failed"
    assert course.refresh().status == ParticipantStatus.RITUXIMAB


def test_gate_labs_are_converted_to_canonical_units_and_impossible_values_refused(course):
    course.day_0()
    services.gate_labs_record(
        participant=course.participant,
        user=course.coordinator,
        entries=[services.LabEntry("igg", Decimal("620"), "mg/dL", course.day(0))],
        today=course.day(0),
    )
    lab = LabResult.objects.get()
    assert (lab.value_entered, lab.unit_entered, lab.value) == (
        Decimal("620"),
        "mg/dL",
        Decimal("6.2"),
    )

    with pytest.raises(ValidationError) as excinfo:
        services.gate_labs_record(
            participant=course.participant,
            user=course.coordinator,
            entries=[services.LabEntry("igg", Decimal("400"), "g/L", course.day(0))],
            today=course.day(0),
        )
    assert refusal_code(excinfo) == "implausible"
    assert LabResult.objects.count() == 1


# --- B cells ---------


def test_a_b_cell_count_in_10e9_per_litre_is_stored_in_10e6_per_litre(course):
    course.day_0().rituximab(0, 7)
    services.b_cell_result_record(
        participant=course.participant,
        user=course.coordinator,
        taken_on=course.day(10),
        cd19_absolute_entered=Decimal("0.015"),
        cd19_absolute_unit="10e9/L",
        today=course.day(10),
    )

    result = BCellResult.objects.get()
    assert result.cd19_absolute == Decimal("15")
    assert result.cd19_absolute_entered == Decimal("0.015")
    sched = course_for(course.participant, course.day(10))
    assert sched.phase is engine.Phase.AWAITING_FIRST_BELIMUMAB
    assert sched.next_infusion.target == course.day(35)


def test_a_b_cell_result_without_any_cd19_value_is_refused(course):
    with pytest.raises(ValidationError) as excinfo:
        services.b_cell_result_record(
            participant=course.participant,
            user=course.coordinator,
            taken_on=course.day(-1),
            lymphocytes_10e9_l=Decimal("2.0"),
            today=course.day(0),
        )
    assert refusal_code(excinfo) == "no_measure"


# --- Visits, deviations, completion ---------


def test_a_late_belimumab_creates_one_automatic_deviation_and_sync_is_idempotent(course):
    ready_for_belimumab(course).labs(36).belimumab(40)  # window 32-38

    deviation = Deviation.objects.get()
    assert deviation.automatic
    assert (deviation.category, deviation.visit_code, deviation.occurred_on) == (
        "infusion_out_of_window",
        "BEL1",
        course.day(40),
    )
    again = services.deviations_sync(
        participant=course.participant, user=None, today=course.day(40)
    )
    assert again == services.SyncResult(0, 0, 0)
    assert Deviation.objects.count() == 1


def test_a_missed_visit_deviation_is_voided_when_the_visit_turns_out_to_be_done(course):
    course.day_0(visit=False).rituximab(0)
    # Missed once the CRF entry period after the window has passed too (issue 15).
    after_entry = course.day(1 + CRF_ENTRY_DAYS)
    services.deviations_sync(participant=course.participant, user=None, today=after_entry)
    missed = Deviation.objects.get(category="visit_missed", visit_code="BASELINE")

    course.visit("BASELINE", 0)  # entered late, dated Day 0: in window

    missed.refresh_from_db()
    assert missed.is_voided
    assert not Deviation.objects.active().filter(visit_code="BASELINE").exists()


def test_an_out_of_window_visit_needs_an_explanation_which_the_deviation_takes_over(course):
    course.day_0().rituximab(0, 7).not_depleted(10)
    with pytest.raises(ValidationError) as excinfo:
        course.visit("W12", 95)  # window days 77-91
    assert refusal_code(excinfo) == "explanation_needed"

    course.visit("W12", 95, explanation="Family holiday")

    deviation = Deviation.objects.get(category="visit_out_of_window")
    assert deviation.visit_code == "W12"
    assert deviation.explanation == "Family holiday"


def test_unscheduled_visits_are_numbered_uns1_uns2(course):
    course.visit("UNS", 0).visit("UNS", 3)
    assert list(
        Visit.objects.filter(kind="unscheduled").order_by("pk").values_list("visit_code", flat=True)
    ) == ["UNS1", "UNS2"]


def test_the_week_28_visit_after_the_last_belimumab_completes_treatment(course):
    ready_for_belimumab(course).labs(30).belimumab(35, 63).visit("W12", 84)
    course.belimumab(91, 119, 147, 175)  # six: 35 + 28k while day <= 196
    assert course.refresh().status == ParticipantStatus.BELIMUMAB

    course.visit("W28", 196)

    assert course.refresh().status == ParticipantStatus.COMPLETED


def test_a_deviation_is_reviewed_by_an_investigator_after_the_site_explains_it(course):
    ready_for_belimumab(course).labs(36).belimumab(40)
    deviation = Deviation.objects.get()
    with pytest.raises(ValidationError) as excinfo:
        services.deviation_review(deviation=deviation, user=course.investigator)
    assert refusal_code(excinfo) == "explanation_needed"

    deviation.explanation = "Infusion chair unavailable"
    deviation.save()
    with pytest.raises(PermissionDenied):
        services.deviation_review(deviation=deviation, user=course.coordinator)
    reviewed = services.deviation_review(
        deviation=deviation, user=course.investigator, comment="Accepted"
    )
    assert reviewed.reviewed_by == course.investigator
    assert reviewed.review_comment == "Accepted"


# --- Withdrawal ---------


def test_a_withdrawn_participant_gets_no_new_infusion_result_or_visit(course):
    course.day_0().rituximab(0)
    prescription = course.prescribe(Drug.RITUXIMAB, 7, today=6)
    withdraw_consent(
        participant=course.participant,
        user=course.coordinator,
        withdrawn_on=course.day(6),
        data_may_be_kept=True,
    )
    course.refresh()

    with pytest.raises(ValidationError, match="withdrawn"):
        course.give(prescription, 7)
    with pytest.raises(ValidationError, match="withdrawn"):
        course.depleted(8)
    with pytest.raises(ValidationError, match="withdrawn"):
        course.visit("UNS", 8)
    assert Infusion.objects.count() == 1
    assert not BCellResult.objects.exists()


# --- iCalendar feed tokens ---------


def test_a_feed_token_is_stored_hashed_and_stops_working_when_revoked(course):
    token = services.calendar_feed_create(user=course.coordinator)

    feed = course.coordinator.calendar_feed
    assert token not in feed.token
    assert services.calendar_feed_user(token) == course.coordinator

    services.calendar_feed_revoke(user=course.coordinator)
    assert services.calendar_feed_user(token) is None

    new = services.calendar_feed_create(user=course.coordinator)
    assert services.calendar_feed_user(new) == course.coordinator
    assert services.calendar_feed_user(token) is None


def test_planned_dates_move_with_what_happened_not_what_was_planned(course):
    # Rituximab 2 given 2 days late: belimumab 1 is 28 days after it, not after its target.
    ready = course.day_0().rituximab(0, 9).depleted(12)
    sched = course_for(ready.participant, course.day(12))
    assert sched.next_infusion.visit_code == "BEL1"
    assert sched.next_infusion.target == course.day(9) + timedelta(days=28)
