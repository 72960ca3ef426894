"""Dosing writes: each one transaction, audited with who and why.

The rules are the schedule engine's (``dosing.schedule``) and the dose module's
(``dosing.doses``); these services fetch the facts, ask the engine, refuse with the
engine's own words, write, move the participant's status and keep the automatic
deviations in step with the schedule.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, time
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dosing import doses, engine
from dosing.models import (
    AbsoluteCountUnit,
    BCellResult,
    CalendarFeed,
    CourseEvent,
    Day0Confirmation,
    Deviation,
    DeviationCategory,
    Drug,
    EventNotDone,
    Infusion,
    LabResult,
    Prescription,
    Visit,
    VisitKind,
)
from dosing.selectors import course_facts
from dosing.stored_course import course_store
from eligibility.criteria import ScreeningFacts, Status, exc5_infection
from enrollment.models import Participant
from enrollment.rules import ACTIVE_STATUSES, DiscontinuationReason, ParticipantStatus
from enrollment.services import data_entry_refusal, participant_transition
from trialsite import access, protocol, roles, signatures, texts, units, workflow
from trialsite.audit import audit_context
from trialsite.forms import ClinicalForm
from trialsite.models import SignatureMeaning, User
from trialsite.services import record_save, record_void

# Messages the tests import (HackSoft: error messages as module constants).
NOT_ACTIVE = gettext_lazy(
    "Treatment has ended for this participant (%(status)s): no infusion can be recorded."
)
FUTURE = gettext_lazy("%(what)s cannot be in the future.")
DAY_0_CONFIRMATION_NEEDED = gettext_lazy(
    "The first rituximab on %(date)s needs a passing Day 0 re-confirmation of EXC5 dated "
    "that day (EXC5)."
)
DAY_0_ALREADY_GIVEN = gettext_lazy("The first rituximab is already recorded: Day 0 is past.")
OPEN_PRESCRIPTION_EXISTS = gettext_lazy(
    "There is already an open prescription (%(drug)s, %(dose)s mg): record its administration "
    "or void it first."
)
PRESCRIPTION_USED = gettext_lazy("This prescription has already been administered.")
PRESCRIPTION_OTHER_PARTICIPANT = gettext_lazy("This prescription belongs to another participant.")
ANTHROPOMETRY_NOT_CURRENT = gettext_lazy("Weight and height: %(explanation)s")
DOSE_REASON_NEEDED = gettext_lazy("%(explanation)s")
REACTION_GRADE_NEEDED = gettext_lazy("An infusion reaction needs its CTCAE grade (1–5).")
REACTION_GRADE_WITHOUT_REACTION = gettext_lazy(
    "A CTCAE grade is only recorded with an infusion reaction."
)
STOP_BEFORE_START = gettext_lazy("The stop time is before the start time.")
B_CELL_NEEDS_A_MEASURE = gettext_lazy("Enter the CD19⁺ percentage, the absolute count, or both.")
IMPLAUSIBLE = gettext_lazy(
    "%(analyte)s %(value)s %(unit)s is not a possible value: check the entry."
)
GATE_NOT_FAILED = gettext_lazy(
    "The EXC10/EXC11 gate does not fail (%(reason)s): there is nothing to confirm."
)
GATE_NOT_AWAITED = gettext_lazy(
    "The first belimumab is not awaited: the gate applies only before it."
)
VISIT_ALREADY_RECORDED = gettext_lazy("The %(code)s visit is already recorded (edit it instead).")
VISIT_BEFORE_DAY_0 = gettext_lazy("Record the first rituximab (Day 0) before the %(code)s visit.")
VISIT_BEFORE_ENROLMENT = gettext_lazy("The visit date is before the enrolment date (%(date)s).")
OUT_OF_WINDOW_NEEDS_EXPLANATION = gettext_lazy(
    "%(label)s on %(date)s is outside its window %(start)s to %(end)s: explain why."
)
EXPLANATION_BEFORE_REVIEW = gettext_lazy(
    "The site must explain the deviation before it is reviewed."
)
ALREADY_REVIEWED = gettext_lazy("This deviation is already reviewed.")
CONFIRMED_NOT_DONE = gettext_lazy(
    "%(label)s was confirmed not done on %(date)s: void that confirmation before recording it."
)
NOT_COMPLETE = gettext_lazy(
    "Treatment is not complete yet: the last belimumab and the week 28 visit must be recorded."
)

# Participant statuses whose schedule still produces automatic deviations (after a
# discontinuation or a withdrawal every future event would otherwise turn "missed").
_SCHEDULED_STATUSES = ACTIVE_STATUSES | {ParticipantStatus.COMPLETED}

ASSESSMENT_CODES = (
    protocol.BASELINE_VISIT_CODE,
    *(code for code, _day in protocol.ASSESSMENT_VISITS),
)
UNSCHEDULED_PREFIX = protocol.UNSCHEDULED_VISIT_PREFIX


# --- Helpers ------------------------------------------------------------------------------


def _lock(participant: Participant) -> Participant:
    return (
        Participant.objects.select_for_update()
        .select_related("site", "screening")
        .get(pk=participant.pk)
    )


def _require_entry(participant: Participant, user: User) -> None:
    if not access.can_write(user):
        raise PermissionDenied(_("Your role is read-only: it cannot change data."))
    refusal = data_entry_refusal(participant)
    if refusal:
        raise ValidationError(refusal, code="entry_refused")


def _require_active(participant: Participant) -> None:
    if participant.status not in ACTIVE_STATUSES:
        raise ValidationError(
            NOT_ACTIVE % {"status": participant.get_status_display()}, code="not_active"
        )


def _not_future(value: date, today: date, what: str) -> None:
    if value > today:
        raise ValidationError(FUTURE % {"what": what}, code="future")


def _stamp(record, user: User) -> None:
    record.created_by = user
    record.updated_by = user


# --- Day 0: EXC5 re-confirmed -----------------------------------------------------------


@transaction.atomic
def day_0_confirmation_record(
    *,
    participant: Participant,
    user: User,
    confirmed_on: date,
    chronic_infection_suppressive_therapy: bool,
    infection_hospitalisation_last_date: date | None,
    parenteral_antimicrobials_last_date: date | None,
    live_vaccine_date: date | None,
    high_infection_risk: bool,
    today: date,
) -> Day0Confirmation:
    """EXC5 re-confirmed on Day 0 by an investigator, judged by the screening's own rule.

    The windows are counted back from the confirmation date (the Day 0 it confirms).
    """
    access.require(user, roles.SIGN)
    participant = _lock(participant)
    _require_entry(participant, user)
    _require_active(participant)
    _not_future(confirmed_on, today, _("The Day 0 confirmation date"))
    if Infusion.objects.active().filter(participant=participant, drug=Drug.RITUXIMAB).exists():
        raise ValidationError(DAY_0_ALREADY_GIVEN, code="day_0_past")
    facts = ScreeningFacts(
        screening_date=participant.screening.screening_date,
        planned_day_0=confirmed_on,
        chronic_infection_suppressive_therapy=chronic_infection_suppressive_therapy,
        infection_hospitalisation=infection_hospitalisation_last_date is not None,
        infection_hospitalisation_last_date=infection_hospitalisation_last_date,
        parenteral_antimicrobials=parenteral_antimicrobials_last_date is not None,
        parenteral_antimicrobials_last_date=parenteral_antimicrobials_last_date,
        live_vaccine=live_vaccine_date is not None,
        live_vaccine_date=live_vaccine_date,
        high_infection_risk=high_infection_risk,
    )
    result = exc5_infection(facts)
    confirmation = Day0Confirmation(
        participant=participant,
        confirmed_on=confirmed_on,
        chronic_infection_suppressive_therapy=chronic_infection_suppressive_therapy,
        infection_hospitalisation_last_date=infection_hospitalisation_last_date,
        parenteral_antimicrobials_last_date=parenteral_antimicrobials_last_date,
        live_vaccine_date=live_vaccine_date,
        high_infection_risk=high_infection_risk,
        passed=result.status == Status.PASS,
        explanation=result.reason,
    )
    if confirmation.passed:  # the engine's decision, in each reader's language
        confirmation.explanation = confirmation.set_text(texts.Text("exc5.pass"))
    _stamp(confirmation, user)
    confirmation.full_clean()
    with audit_context(user, _("Day 0 re-confirmation of EXC5")):
        confirmation.save()
        workflow.record_changed(confirmation, user=user)
    return confirmation


def day_0_confirmed(participant: Participant, on: date) -> Day0Confirmation | None:
    """The latest re-confirmation dated ``on`` if it passes (a later failing one wins)."""
    latest = (
        Day0Confirmation.objects.active()
        .filter(participant=participant, confirmed_on=on)
        .order_by("-pk")
        .first()
    )
    return latest if latest is not None and latest.passed else None


# --- Prescription (investigator) ---------------------------------------------------------


def propose_dose(drug: str, *, weight_kg: Decimal, height_cm: Decimal) -> doses.DoseProposal:
    if drug == Drug.RITUXIMAB:
        return doses.propose_rituximab_dose(height_cm, weight_kg)
    return doses.propose_belimumab_dose(weight_kg)


def _check_anthropometry(measured_on: date, infusion_on: date) -> None:
    check = doses.check_anthropometry(measured_on, infusion_on)
    if not check.current:
        raise ValidationError(
            ANTHROPOMETRY_NOT_CURRENT % {"explanation": check.explanation},
            code="anthropometry_not_current",
        )


def _dose_check(proposed: Decimal, given: Decimal, reason: str) -> doses.DoseCheck:
    check = doses.check_dose(proposed, given)
    if check.needs_reason and not reason.strip():
        raise ValidationError(
            DOSE_REASON_NEEDED % {"explanation": check.explanation}, code="dose_reason_needed"
        )
    return check


def _refuse_if_confirmed_not_done(facts: engine.CourseFacts, code: str, label: str) -> None:
    confirmation = next((n for n in facts.not_done if n.visit_code == code), None)
    if confirmation is not None:
        raise ValidationError(
            CONFIRMED_NOT_DONE % {"label": label, "date": confirmation.confirmed_on.isoformat()},
            code="confirmed_not_done",
        )


def _refusal(refusal: engine.Refusal) -> ValidationError:
    return ValidationError(refusal.message, code=refusal.code.value)


def prescription_create(
    *, user: User, password: str, request: HttpRequest | None = None, **details
) -> Prescription:
    """An investigator prescribes and signs; the password is checked first, outside the
    transaction, so a wrong one counts towards the lockout (signatures.reauthenticate)."""
    reauth = signatures.reauthenticate(user=user, password=password, request=request)
    return _prescription_create(user=user, reauth=reauth, **details)


@transaction.atomic
def _prescription_create(
    *,
    participant: Participant,
    user: User,
    reauth: signatures.Reauthentication,
    drug: str,
    planned_on: date,
    weight_kg: Decimal,
    height_cm: Decimal,
    anthropometry_measured_on: date,
    prescribed_dose_mg: Decimal,
    dose_difference_reason: str = "",
    today: date,
) -> Prescription:
    """An investigator prescribes the next infusion and signs it ("I prescribe this dose").

    Refused when the engine would refuse an infusion of ``drug`` on ``planned_on`` (the
    EXC10/EXC11 labs may still follow: they are checked when it is given), when weight and
    height are more than 7 days old on that date, and when the dose is more than 10 %
    from the proposed one without a reason (it is then flagged).
    """
    access.require(user, roles.SIGN)
    participant = _lock(participant)
    _require_entry(participant, user)
    _require_active(participant)
    _not_future(anthropometry_measured_on, today, _("The date weight and height were measured"))
    current = (
        Prescription.objects.active().filter(participant=participant, infusion__isnull=True).first()
    )
    if current is not None:
        raise ValidationError(
            OPEN_PRESCRIPTION_EXISTS
            % {"drug": current.get_drug_display(), "dose": current.prescribed_dose_mg},
            code="open_prescription",
        )
    inputs = course_facts(participant, today)
    # Judged as if given on the planned date, with what is known today.
    refusal = engine.check_infusion_allowed(
        replace(inputs, today=max(today, planned_on)), engine.Drug(drug), planned_on
    )
    if refusal is not None and refusal.code is not engine.RefusalCode.PRE_BELIMUMAB_LABS_MISSING:
        raise _refusal(refusal)
    _check_anthropometry(anthropometry_measured_on, planned_on)
    proposal = propose_dose(drug, weight_kg=weight_kg, height_cm=height_cm)
    check = _dose_check(proposal.dose_mg, prescribed_dose_mg, dose_difference_reason)
    prescription = Prescription(
        participant=participant,
        drug=drug,
        planned_on=planned_on,
        weight_kg=weight_kg,
        height_cm=height_cm,
        anthropometry_measured_on=anthropometry_measured_on,
        bsa_m2=proposal.bsa_m2,
        proposed_dose_mg=proposal.dose_mg,
        dose_cap_applied=proposal.capped,
        proposal_explanation=proposal.explanation,
        prescribed_dose_mg=prescribed_dose_mg,
        dose_difference_reason=dose_difference_reason.strip(),
        dose_flagged=check.needs_reason,
        prescribed_by=user,
    )
    _stamp(prescription, user)
    prescription.full_clean()
    with audit_context(user, _("prescription")):
        prescription.save()
        workflow.record_changed(prescription, user=user)
    signatures.sign(
        obj=prescription, user=user, reauth=reauth, meaning=SignatureMeaning.PRESCRIPTION
    )
    return prescription


@transaction.atomic
def prescription_void(*, prescription: Prescription, user: User, reason: str) -> Prescription:
    """An investigator voids a prescription that will not be given (never one administered)."""
    from trialsite.services import record_void

    access.require(user, roles.SIGN)
    if Infusion.objects.filter(prescription=prescription).exists():
        raise ValidationError(PRESCRIPTION_USED, code="prescription_used")
    prescription = record_void(record=prescription, user=user, reason=reason)
    signatures.void_signatures(prescription, user=user, reason=reason)
    return prescription


# --- Infusion (administration) ---------------------------------------------------------------


def _check_administration(
    participant: Participant,
    facts: engine.CourseFacts,
    drug: engine.Drug,
    given_on: date,
    infusion_reaction: bool,
    reaction_grade: int | None,
    start_time: time | None,
    stop_time: time | None,
) -> None:
    first_rituximab = drug is engine.Drug.RITUXIMAB and not any(
        i.drug is engine.Drug.RITUXIMAB for i in facts.infusions
    )
    # EXC5 is re-confirmed on Day 0, before the first rituximab.
    if first_rituximab and day_0_confirmed(participant, given_on) is None:
        raise ValidationError(
            DAY_0_CONFIRMATION_NEEDED % {"date": given_on.isoformat()}, code="day_0_not_confirmed"
        )
    if infusion_reaction and reaction_grade is None:
        raise ValidationError(REACTION_GRADE_NEEDED, code="grade_needed")
    if not infusion_reaction and reaction_grade is not None:
        raise ValidationError(REACTION_GRADE_WITHOUT_REACTION, code="grade_without_reaction")
    if start_time and stop_time and stop_time < start_time:
        raise ValidationError(STOP_BEFORE_START, code="stop_before_start")


def _status_follows_infusion(
    participant: Participant, user: User, drug: engine.Drug, given_on: date
) -> None:
    """The first rituximab starts the rituximab phase, the first belimumab its own."""
    if drug is engine.Drug.RITUXIMAB and participant.status == ParticipantStatus.ENROLLED:
        participant_transition(
            participant=participant,
            to_status=ParticipantStatus.RITUXIMAB,
            user=user,
            on=given_on,
            reason=texts.Text("status.first_rituximab", {"date": given_on}),
        )
    elif drug is engine.Drug.BELIMUMAB and participant.status == ParticipantStatus.RITUXIMAB:
        participant_transition(
            participant=participant,
            to_status=ParticipantStatus.BELIMUMAB,
            user=user,
            on=given_on,
            reason=texts.Text("status.first_belimumab", {"date": given_on}),
        )


def _new_infusion(
    participant: Participant,
    prescription: Prescription,
    event: engine.Event,
    *,
    given_on: date,
    administered_dose_mg: Decimal,
    dose_reason: str,
    dose_flagged: bool,
    details: dict,
) -> tuple[Visit, Infusion]:
    """The infusion visit (RTXn/BELn, as the engine numbers it) and the infusion, unsaved:
    the prescription's doses and measurements, the administration as recorded."""
    visit = Visit(
        participant=participant,
        visit_code=event.visit_code,
        kind=VisitKind.INFUSION,
        visit_date=given_on,
    )
    infusion = Infusion(
        participant=participant,
        visit=visit,
        prescription=prescription,
        drug=prescription.drug,
        number=event.number,
        given_on=given_on,
        weight_kg=prescription.weight_kg,
        height_cm=prescription.height_cm,
        anthropometry_measured_on=prescription.anthropometry_measured_on,
        bsa_m2=prescription.bsa_m2,
        proposed_dose_mg=prescription.proposed_dose_mg,
        dose_cap_applied=prescription.dose_cap_applied,
        prescribed_dose_mg=prescription.prescribed_dose_mg,
        prescribed_by=prescription.prescribed_by,
        administered_dose_mg=administered_dose_mg,
        dose_difference_reason=dose_reason,
        dose_flagged=dose_flagged,
        **details,
    )
    return visit, infusion


@transaction.atomic
def infusion_record(
    *,
    participant: Participant,
    user: User,
    prescription: Prescription,
    given_on: date,
    administered_dose_mg: Decimal,
    lot_number: str,
    start_time: time | None = None,
    stop_time: time | None = None,
    dose_difference_reason: str = "",
    premedication: Sequence[str] = (),
    premedication_details: str = "",
    infusion_reaction: bool = False,
    reaction_grade: int | None = None,
    reaction_action: str = "",
    today: date,
) -> Infusion:
    """Record an infusion given against its prescription; creates its visit (RTXn/BELn).

    Refused with the engine's reason when the protocol has no place for it (a fifth
    rituximab, belimumab before the rituximab phase is complete, the first belimumab
    without passing EXC10/EXC11 labs within the 10 days before it); the first
    rituximab also needs a passing Day 0 re-confirmation of EXC5 dated that day.
    """
    participant = _lock(participant)
    _require_entry(participant, user)
    _require_active(participant)
    prescription = Prescription.objects.select_for_update().get(pk=prescription.pk)
    if prescription.participant_id != participant.pk:
        raise ValidationError(PRESCRIPTION_OTHER_PARTICIPANT, code="other_participant")
    if prescription.is_voided or Infusion.objects.filter(prescription=prescription).exists():
        raise ValidationError(PRESCRIPTION_USED, code="prescription_used")
    drug = engine.Drug(prescription.drug)
    facts = course_facts(participant, today)
    # The course with this infusion in it: built once, judged, then handed on.
    judgement = engine.judge_infusion(facts, drug, given_on)
    if judgement.refusal is not None:
        raise _refusal(judgement.refusal)
    _refuse_if_confirmed_not_done(facts, judgement.event.visit_code, judgement.event.label)
    _check_administration(
        participant, facts, drug, given_on, infusion_reaction, reaction_grade, start_time, stop_time
    )
    _check_anthropometry(prescription.anthropometry_measured_on, given_on)
    reason = dose_difference_reason.strip() or prescription.dose_difference_reason
    check = _dose_check(prescription.proposed_dose_mg, administered_dose_mg, reason)

    visit, infusion = _new_infusion(
        participant,
        prescription,
        judgement.event,
        given_on=given_on,
        administered_dose_mg=administered_dose_mg,
        dose_reason=reason if check.needs_reason or prescription.dose_flagged else "",
        dose_flagged=check.needs_reason or prescription.dose_flagged,
        details={
            "start_time": start_time,
            "stop_time": stop_time,
            "lot_number": lot_number.strip(),
            "premedication": list(premedication),
            "premedication_details": premedication_details.strip(),
            "infusion_reaction": infusion_reaction,
            "reaction_grade": reaction_grade if infusion_reaction else None,
            "reaction_action": reaction_action.strip() if infusion_reaction else "",
        },
    )
    _stamp(visit, user)
    _stamp(infusion, user)
    with audit_context(user, _("infusion recorded")):
        visit.full_clean()
        visit.save()
        infusion.visit = visit  # now that it has a primary key
        infusion.full_clean()
        infusion.save()

    _status_follows_infusion(participant, user, drug, given_on)
    with audit_context(user, _("infusion recorded")):
        workflow.record_changed(visit, infusion, user=user, today=today, course=judgement.course)
    return infusion


# --- B-cell results ------------------------------------------------------------------------


@transaction.atomic
def b_cell_result_record(
    *,
    participant: Participant,
    user: User,
    taken_on: date,
    cd19_percent: Decimal | None = None,
    cd19_absolute_entered: Decimal | None = None,
    cd19_absolute_unit: str = "",
    lymphocytes_10e9_l: Decimal | None = None,
    today: date,
) -> BCellResult:
    """A CD19⁺ result (SCH2); the absolute count is stored in ×10⁶/L whatever unit it came in.

    A lymphocyte count alone is kept as entered: the engine derives the absolute count
    from it and the percentage, and a measured count always beats a derived one.
    """
    participant = _lock(participant)
    _require_entry(participant, user)
    _not_future(taken_on, today, _("The date of the sample"))
    if cd19_percent is None and cd19_absolute_entered is None:
        raise ValidationError(B_CELL_NEEDS_A_MEASURE, code="no_measure")
    absolute = None
    if cd19_absolute_entered is not None:
        unit = AbsoluteCountUnit(cd19_absolute_unit or AbsoluteCountUnit.PER_10E6_L)
        absolute = engine.cd19_absolute_in_canonical(cd19_absolute_entered, unit)
        _plausible("cd19_absolute", absolute, cd19_absolute_entered, unit.label)
        cd19_absolute_unit = unit.value
    if cd19_percent is not None:
        _plausible("cd19_percent", cd19_percent, cd19_percent, "%")
    if lymphocytes_10e9_l is not None:
        _plausible("lymphocytes", lymphocytes_10e9_l, lymphocytes_10e9_l, "×10⁹/L")
    same_day = list(Visit.objects.active().filter(participant=participant, visit_date=taken_on)[:2])
    result = BCellResult(
        participant=participant,
        visit=same_day[0] if len(same_day) == 1 else None,
        taken_on=taken_on,
        cd19_percent=cd19_percent,
        cd19_absolute_entered=cd19_absolute_entered,
        cd19_absolute_unit=cd19_absolute_unit if cd19_absolute_entered is not None else "",
        cd19_absolute=absolute,
        lymphocytes_10e9_l=lymphocytes_10e9_l,
    )
    _stamp(result, user)
    result.full_clean()
    with audit_context(user, _("B-cell result")):
        result.save()
        workflow.record_changed(result, user=user, today=today)
    return result


def _plausible(code: str, canonical: Decimal, entered: Decimal, unit: str) -> None:
    if not units.is_plausible(code, canonical):
        raise ValidationError(
            IMPLAUSIBLE
            % {
                "analyte": units.get_analyte(code).name,
                "value": units.format_decimal(entered),
                "unit": unit,
            },
            code="implausible",
        )


# --- EXC10/EXC11: labs before the first belimumab ----------------------------------------


@dataclass(frozen=True)
class LabEntry:
    analyte: str  # igg, iga, wbc, neutrophils
    value: Decimal
    unit: str  # a unit key of trialsite.units
    taken_on: date
    checked: bool = False  # an implausible value confirmed ("I have checked this value")


@transaction.atomic
def gate_labs_record(
    *, participant: Participant, user: User, entries: Sequence[LabEntry], today: date
) -> list:
    """Store the pre-belimumab labs as study lab results (LabResult), canonical units."""
    participant = _lock(participant)
    _require_entry(participant, user)
    rows = []
    for entry in entries:
        if entry.analyte not in engine.GATE_TESTS:
            raise ValidationError(
                _("%(analyte)s is not a pre-belimumab gate lab.") % {"analyte": entry.analyte}
            )
        _not_future(entry.taken_on, today, _("The date of the sample"))
        try:
            canonical = units.to_canonical(entry.analyte, entry.value, entry.unit)
        except units.UnitError as exc:
            raise ValidationError(str(exc), code="unit") from exc
        _plausible(entry.analyte, canonical, entry.value, entry.unit)
        row = LabResult(
            participant=participant,
            analyte=entry.analyte,
            value_entered=entry.value,
            unit_entered=entry.unit,
            value=canonical,
            taken_on=entry.taken_on,
            value_checked=entry.checked,
        )
        _stamp(row, user)
        row.full_clean()
        rows.append(row)
    with audit_context(user, _("labs before the first belimumab (EXC10/EXC11)")):
        for row in rows:
            row.save()
        workflow.record_changed(*rows, user=user, today=today)
    return rows


@transaction.atomic
def gate_failure_confirm(*, participant: Participant, user: User, today: date) -> Participant:
    """An investigator confirms failing EXC10/EXC11 labs: treatment ends ("discontinued").

    The gate is judged as the pages show it: against the first belimumab's target while it
    lies ahead, against today once it has passed.
    """
    access.require(user, roles.SIGN)
    participant = _lock(participant)
    _require_entry(participant, user)
    _require_active(participant)
    inputs = course_facts(participant, today)
    sched = engine.build_course(inputs)
    reference = engine.gate_reference_date(sched, inputs)
    if reference is None:
        raise ValidationError(GATE_NOT_AWAITED, code="gate_not_awaited")
    gate = engine.belimumab_lab_gate(reference, inputs.labs)
    if gate.outcome is not engine.GateOutcome.FAIL:
        raise ValidationError(GATE_NOT_FAILED % {"reason": gate.reason}, code="gate_not_failed")
    return participant_transition(
        participant=participant,
        to_status=ParticipantStatus.DISCONTINUED,
        user=user,
        on=today,
        reason=gate.text or gate.reason,
        discontinuation_reason=DiscontinuationReason.LAB_GATE,
    )


# --- Visits ------------------------------------------------------------------------------------


def _window_refusal(course: engine.Course, code: str, visit_date: date, explanation: str) -> None:
    event = course.event(code)
    if event is None or event.window_start <= visit_date <= event.window_end:
        return
    if not explanation.strip():
        raise ValidationError(
            OUT_OF_WINDOW_NEEDS_EXPLANATION
            % {
                "label": event.label,
                "date": visit_date.isoformat(),
                "start": event.window_start.isoformat(),
                "end": event.window_end.isoformat(),
            },
            code="explanation_needed",
        )


@transaction.atomic
def visit_record(
    *,
    participant: Participant,
    user: User,
    visit_code: str,
    visit_date: date,
    out_of_window_explanation: str = "",
    today: date,
) -> Visit:
    """Record the baseline, week 12 or week 28 visit, or an unscheduled one (``UNS``).

    A scheduled visit out of its window needs the explanation; the deviation itself is
    recorded automatically from the schedule.
    """
    participant = _lock(participant)
    _require_entry(participant, user)
    _not_future(visit_date, today, _("The visit date"))
    if visit_date < participant.enrolled_on:
        raise ValidationError(
            VISIT_BEFORE_ENROLMENT % {"date": participant.enrolled_on.isoformat()},
            code="before_enrolment",
        )
    facts = course_facts(participant, today)
    if visit_code == UNSCHEDULED_PREFIX:
        count = Visit.objects.filter(participant=participant, kind=VisitKind.UNSCHEDULED).count()
        visit_code, kind = f"{UNSCHEDULED_PREFIX}{count + 1}", VisitKind.UNSCHEDULED
        course = engine.build_course(facts)
    elif visit_code in ASSESSMENT_CODES:
        if Visit.objects.active().filter(participant=participant, visit_code=visit_code).exists():
            raise ValidationError(
                VISIT_ALREADY_RECORDED % {"code": visit_code}, code="already_recorded"
            )
        _refuse_if_confirmed_not_done(facts, visit_code, visit_code)
        # The course with this visit in it: built once, judged, then handed on.
        done = engine.VisitDone(visit_code, visit_date)
        course = engine.build_course(replace(facts, visits_done=facts.visits_done + (done,)))
        if visit_code != protocol.BASELINE_VISIT_CODE and not course.day_0_is_actual:
            raise ValidationError(VISIT_BEFORE_DAY_0 % {"code": visit_code}, code="before_day_0")
        _window_refusal(course, visit_code, visit_date, out_of_window_explanation)
        kind = (
            VisitKind.BASELINE
            if visit_code == protocol.BASELINE_VISIT_CODE
            else VisitKind.ASSESSMENT
        )
    else:
        raise ValidationError(_("Unknown visit %(code)s.") % {"code": visit_code})
    visit = Visit(
        participant=participant,
        visit_code=visit_code,
        kind=kind,
        visit_date=visit_date,
        out_of_window_explanation=out_of_window_explanation.strip(),
    )
    _stamp(visit, user)
    visit.full_clean()
    with audit_context(user, _("visit recorded")):
        visit.save()
        workflow.record_changed(visit, user=user, today=today, course=course)
    return visit


@transaction.atomic
def visit_update(*, form: ClinicalForm, user: User, today: date) -> Visit:
    """Correct a visit's date or explanation (reason for change; optimistic locking)."""
    participant = _lock(form.instance.participant)
    _require_entry(participant, user)
    visit_date = form.cleaned_data["visit_date"]
    _not_future(visit_date, today, _("The visit date"))
    # The course with the corrected date: built once, judged, then handed on.
    facts = course_facts(participant, today)
    code = form.instance.visit_code
    scheduled = form.instance.kind in (VisitKind.BASELINE, VisitKind.ASSESSMENT)
    if scheduled:
        done = tuple(v for v in facts.visits_done if v.visit_code != code)
        facts = replace(facts, visits_done=(*done, engine.VisitDone(code, visit_date)))
    course = engine.build_course(facts)
    if scheduled:
        explanation = form.cleaned_data.get("out_of_window_explanation", "")
        _window_refusal(course, code, visit_date, explanation)
    return record_save(form=form, user=user, today=today, course=course)


# --- Deviations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncResult:
    created: int
    updated: int
    voided: int


@transaction.atomic
def deviations_sync(
    *,
    participant: Participant,
    user: User | None,
    today: date,
    course: engine.Course | None = None,
) -> SyncResult:
    """Make the automatic deviations match the schedule's: each one recorded once.

    New ones are created (a visit's out-of-window explanation becomes the deviation's
    explanation), changed ones follow the schedule's date and description, and ones the
    schedule no longer shows (the data they came from was corrected) are voided.
    Idempotent: a second call changes nothing.  ``course``: the participant's course when
    the caller has just built it (else it is built here).
    """
    participant = Participant.objects.get(pk=participant.pk)
    if participant.status not in _SCHEDULED_STATUSES:
        return SyncResult(0, 0, 0)
    course = course or engine.build_course(course_facts(participant, today))
    wanted = {(_sync_key(d.code), d.visit_code): d for d in course.deviations}
    existing = {
        (_sync_key(d.category), d.visit_code): d
        for d in Deviation.objects.active()
        .select_for_update()
        .filter(participant=participant, automatic=True)
    }
    explanations = dict(
        Visit.objects.active()
        .filter(participant=participant, visit_code__in=[code for _c, code in wanted])
        .values_list("visit_code", "out_of_window_explanation")
    )
    created = updated = voided = 0
    with audit_context(user, _("automatic deviation from the schedule")):
        for key, deviation in wanted.items():
            record = existing.get(key)
            if record is None:
                record = Deviation(
                    participant=participant,
                    category=deviation.code.value,
                    automatic=True,
                    visit_code=deviation.visit_code,
                    occurred_on=deviation.on,
                    explanation=explanations.get(deviation.visit_code, ""),
                    created_by=user,
                    updated_by=user,
                )
                record.description = record.set_text(deviation.text) or deviation.description
                record.save()
                workflow.record_changed(record, user=user)
                created += 1
            elif (record.category, record.occurred_on, record.stored_text) != (
                deviation.code.value,
                deviation.on,
                deviation.text,
            ):
                # A missed event recorded late becomes out of window: the same deviation.
                record.category = deviation.code.value
                record.occurred_on = deviation.on
                record.description = record.set_text(deviation.text) or deviation.description
                record.version += 1
                record.updated_by = user
                record.save()
                workflow.record_changed(record, user=user)
                updated += 1
    stale = [record for key, record in existing.items() if key not in wanted]
    reason = _("The schedule no longer shows this deviation: the data it came from changed.")
    with audit_context(user, reason, action="void"):
        for record in stale:
            record.voided_at, record.voided_by, record.void_reason = timezone.now(), user, reason
            record.version += 1
            record.updated_by = user
            record.save()
            workflow.record_changed(record, user=user)
            voided += 1
    return SyncResult(created, updated, voided)


@dataclass(frozen=True)
class SyncAllResult:
    created: int
    voided: int
    skipped: int  # locked participants, left as they are


def deviations_sync_all(*, today: date) -> SyncAllResult:
    """``deviations_sync`` for every participant whose schedule runs (the daily job).

    One transaction per participant: a locked participant is skipped, the others synced.
    """
    created = voided = skipped = 0
    for participant in Participant.objects.active().filter(status__in=ACTIVE_STATUSES):
        try:
            result = deviations_sync(participant=participant, user=None, today=today)
        except PermissionDenied:
            skipped += 1
            continue
        created += result.created
        voided += result.voided
    return SyncAllResult(created, voided, skipped)


# The deviations of one event's timing: a missed event recorded late turns its missed
# deviation into an out-of-window one (the same record, changed; the audit shows both).
_TIMING = {
    DeviationCategory.INFUSION_MISSED: "infusion_timing",
    DeviationCategory.INFUSION_OUT_OF_WINDOW: "infusion_timing",
    DeviationCategory.VISIT_MISSED: "visit_timing",
    DeviationCategory.VISIT_OUT_OF_WINDOW: "visit_timing",
}


def _sync_key(category: str) -> str:
    return _TIMING.get(DeviationCategory(category), category)


MANUAL_CATEGORIES = (
    DeviationCategory.CONSENT,
    DeviationCategory.ELIGIBILITY,
    DeviationCategory.DOSING,
    DeviationCategory.PROCEDURE,
    DeviationCategory.OTHER,
)


@transaction.atomic
def deviation_create(
    *,
    participant: Participant,
    user: User,
    category: str,
    occurred_on: date,
    description: str,
    visit_code: str = "",
    explanation: str = "",
    corrective_action: str = "",
    today: date,
) -> Deviation:
    """A deviation the site records by hand (the schedule's own are automatic)."""
    participant = _lock(participant)
    if not access.can_write(user):
        raise PermissionDenied(_("Your role is read-only: it cannot change data."))
    if participant.is_voided:
        raise ValidationError(_("This participant record is voided."))
    _not_future(occurred_on, today, _("The date of the deviation"))
    if category not in MANUAL_CATEGORIES:
        raise ValidationError(
            _("This category is recorded automatically from the schedule."), code="automatic"
        )
    deviation = Deviation(
        participant=participant,
        category=category,
        visit_code=visit_code.strip(),
        occurred_on=occurred_on,
        description=description.strip(),
        explanation=explanation.strip(),
        corrective_action=corrective_action.strip(),
    )
    _stamp(deviation, user)
    deviation.full_clean()
    with audit_context(user, _("deviation recorded")):
        deviation.save()
        workflow.record_changed(deviation, user=user)
    return deviation


@transaction.atomic
def deviation_explain(*, form: ClinicalForm, user: User) -> Deviation:
    """The site's explanation and corrective action; a change after review needs a new one."""
    if not access.can_write(user):
        raise PermissionDenied(_("Your role is read-only: it cannot change data."))
    assign = {}
    if form.instance.reviewed_at is not None and form.has_changed():
        assign = {"reviewed_at": None, "reviewed_by": None}
    return record_save(form=form, user=user, **assign)


@transaction.atomic
def deviation_review(*, deviation: Deviation, user: User, comment: str = "") -> Deviation:
    """An investigator reviews a deviation the site has explained."""
    access.require(user, roles.SIGN)
    deviation = Deviation.objects.select_for_update().get(pk=deviation.pk)
    if deviation.is_voided:
        raise ValidationError(_("A voided record cannot be changed."))
    if deviation.reviewed_at is not None:
        raise ValidationError(ALREADY_REVIEWED, code="already_reviewed")
    if not deviation.explanation.strip():
        raise ValidationError(EXPLANATION_BEFORE_REVIEW, code="explanation_needed")
    deviation.reviewed_by = user
    deviation.reviewed_at = timezone.now()
    deviation.review_comment = comment.strip()
    deviation.version += 1
    deviation.updated_by = user
    with audit_context(user, _("deviation reviewed by the investigator")):
        deviation.save()
        workflow.record_changed(deviation, user=user)
    return deviation


# --- Events confirmed not given / not done (issue 15) ------------------------------------


@transaction.atomic
def event_not_done_confirm(
    *, participant: Participant, user: User, visit_code: str, reason: str, today: date
) -> EventNotDone:
    """An investigator confirms a scheduled event was not given / not done, with the reason.

    Until then, time passing decides nothing: the event is "not recorded" and can be
    recorded on any date.  The confirmation makes its missed deviation final and lets the
    course go on (the next belimumab keeps its target; completion no longer waits for it).
    Belimumab after the first and the assessment visits only: the rituximab phase and the
    first belimumab cannot go on without theirs (discontinue instead).
    """
    access.require(user, roles.SIGN)
    participant = _lock(participant)
    _require_entry(participant, user)
    _require_active(participant)
    if not reason.strip():
        raise ValidationError(_("Give the reason it was not given or not done."), code="reason")
    facts = course_facts(participant, today)
    refusal = engine.not_done_refusal(
        engine.build_course(facts).event(visit_code), today, code=visit_code
    )
    if refusal:
        raise ValidationError(refusal, code="not_confirmable")
    confirmation = EventNotDone(
        participant=participant,
        visit_code=visit_code,
        confirmed_on=today,
        reason=reason.strip(),
        confirmed_by=user,
    )
    # The course with the confirmation in it, handed on to be stored.
    course = engine.build_course(replace(facts, not_done=(*facts.not_done, confirmation.as_fact())))
    _stamp(confirmation, user)
    confirmation.full_clean()
    with audit_context(user, reason.strip()):
        confirmation.save()
        workflow.record_changed(confirmation, user=user, today=today, course=course)
    return confirmation


# --- After every write: the course's consequences (trialsite.workflow Step.COURSE) --------


def _replanned(records) -> set[int]:
    """Participants just written whose stored course does not follow their planned Day 0
    (enrolment: none stored yet; the planned Day 0 moved before rituximab 1)."""
    planned = {r.pk: r.planned_day_0 for r in records if isinstance(r, Participant)}
    if not planned:
        return set()
    first = engine.infusion_visit_code(engine.Drug.RITUXIMAB, 1)
    stored = {
        pid: (moves, target)
        for pid, moves, target in CourseEvent.objects.filter(
            participant_id__in=planned, visit_code=first
        ).values_list("participant_id", "moves_with_plan", "target")
    }
    return {
        pid
        for pid, day_0 in planned.items()
        if pid not in stored or (stored[pid][0] and stored[pid][1] != day_0)
    }


def _course_participants(records) -> set[int]:
    """The participants whose course facts ``records`` are (the engine's inputs)."""
    return {
        record.participant_id
        for record in records
        if isinstance(record, Infusion | BCellResult | Visit | EventNotDone)
        or (isinstance(record, LabResult) and record.visit_id is None)  # the gate's labs
    }


def course_changed(
    records, *, user: User | None, today: date, course: engine.Course | None = None, **_context
) -> None:
    """Step COURSE of ``workflow.record_changed``: after a write to a participant's course
    facts, the stored course, the automatic deviations and the "completed" status follow the
    course — the one the writing service hands on (built once per write), else built here.
    An enrolment or a moved planned Day 0 only stores the course."""
    changed = _course_participants(records)
    for participant_id in changed:
        participant = Participant.objects.get(pk=participant_id)
        current = course or engine.build_course(course_facts(participant, today))
        course_store(participant_id, current)
        deviations_sync(participant=participant, user=user, today=today, course=current)
        _complete_if_done(participant, user, today, current)
    for participant_id in _replanned(records) - changed:
        participant = Participant.objects.get(pk=participant_id)
        course_store(
            participant_id, course or engine.build_course(course_facts(participant, today))
        )


# --- End of treatment --------------------------------------------------------------------------


def _complete_if_done(
    participant: Participant, user: User | None, today: date, course: engine.Course
) -> None:
    # Decision: "completed" = the last planned belimumab and the week 28 end-of-treatment
    # visit each recorded or confirmed not done (the engine's TREATMENT_COMPLETE).
    participant = Participant.objects.get(pk=participant.pk)
    completed_on = engine.completed_on(course)
    if participant.status == ParticipantStatus.BELIMUMAB and completed_on is not None:
        participant_transition(
            participant=participant,
            to_status=ParticipantStatus.COMPLETED,
            user=user,
            on=completed_on,
            reason=texts.Text("status.completed"),
        )


@transaction.atomic
def participant_complete(*, participant: Participant, user: User, today: date) -> Participant:
    """Mark treatment completed when the course is complete but the status lags behind
    (completion is otherwise recorded by the write that completes the course)."""
    participant = _lock(participant)
    _require_entry(participant, user)
    course = engine.build_course(course_facts(participant, today))
    if participant.status != ParticipantStatus.BELIMUMAB or engine.completed_on(course) is None:
        raise ValidationError(NOT_COMPLETE, code="not_complete")
    _complete_if_done(participant, user, today, course)
    return Participant.objects.get(pk=participant.pk)


# --- iCalendar feed ---------------------------------------------------------------------------


def feed_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_create(*, user: User) -> str:
    """A new secret feed address for ``user`` (replacing any previous one); returns the token.

    Only the token's hash is stored: the address is shown once, when it is created.
    """
    if not user.has_perm(roles.VIEW):
        raise PermissionDenied(_("Your role does not allow this action."))
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.select_for_update().filter(user=user).first()
    with audit_context(user, _("calendar feed address created")):
        if feed is None:
            CalendarFeed.objects.create(user=user, token=feed_token_hash(token))
        else:
            feed.token = feed_token_hash(token)
            feed.created_at = timezone.now()
            feed.revoked_at = None
            feed.save()
    return token


@transaction.atomic
def calendar_feed_revoke(*, user: User) -> None:
    """Revoke the user's feed address: it answers 404 from now on."""
    feed = CalendarFeed.objects.select_for_update().filter(user=user).first()
    if feed is None or feed.revoked_at is not None:
        return
    with audit_context(user, _("calendar feed address revoked")):
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])


def calendar_feed_user(token: str) -> User | None:
    """The active user whose current feed address holds ``token``, if any."""
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(token=feed_token_hash(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    return feed.user if feed is not None else None


@transaction.atomic
def result_void(*, record, user: User, reason: str, today: date):
    """Void a B-cell result or a gate lab entered in error (kept, marked, never deleted);
    the schedule and its automatic deviations follow."""
    _lock(record.participant)
    if not access.can_write(user):
        raise PermissionDenied(_("Your role is read-only: it cannot change data."))
    return record_void(record=record, user=user, reason=reason, today=today)


@transaction.atomic
def infusion_correct(*, form, user: User) -> Infusion:
    """Correct the administration details of a recorded infusion, with a reason.

    The drug, date and doses are not edited here: they drive the schedule and the
    signed prescription (an infusion recorded on the wrong date is a data manager's
    correction through a deviation)."""
    _require_entry(_lock(form.instance.participant), user)
    return record_save(form=form, user=user)
