"""Enrolment writes: each one transaction, audited with who and why."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from eligibility.criteria import assent_required
from eligibility.models import Screening, ScreeningStatus
from enrollment.models import (
    Consent,
    ConsentFormVersion,
    ConsentKind,
    ConsentWithdrawal,
    Participant,
    StatusChange,
)
from enrollment.rules import (
    ACTIVE_STATUSES,
    DiscontinuationReason,
    ParticipantStatus,
    transition_refusal,
)
from enrollment.selectors import awaiting_reconsent, latest_consent_form_version
from trialsite import protocol, signatures, texts, workflow
from trialsite.audit import audit_context
from trialsite.models import SignatureMeaning, Site, User
from trialsite.services import record_save

# Any constant shared by all enrolment transactions: they queue on this lock so
# the ENR1 count and the insert happen as one step (see enroll_participant).
_ENROLMENT_LOCK_KEY = 6410833
# Registrations of a consent-form version queue on this lock (per form).
_VERSION_LOCK_KEY = 6410834

CAP_REACHED = gettext_lazy(
    "The trial has reached its enrolment target of %(cap)s participants (ENR1): "
    "this candidate cannot be enrolled. The screening is kept unchanged."
)

WITHDRAWAL_BEFORE_ENROLMENT = gettext_lazy(
    "The withdrawal cannot be dated before the enrolment date (%(date)s)."
)
VERSION_NOT_NEWER = gettext_lazy(
    "A new version must come into use after version %(version)s (in use from %(date)s)."
)


class EnrolmentRefused(ValidationError):
    """Enrolment is not possible; the message says why."""


def enrolment_blockers(screening: Screening, enrolled_on: date) -> list[str]:
    """Everything that stops ``screening`` from being enrolled on ``enrolled_on``."""
    problems = []
    if hasattr(screening, "participant"):
        return [
            _("This candidate is already enrolled as %(id)s.")
            % {"id": screening.participant.subject_id}
        ]
    if screening.is_voided:
        problems.append(_("This screening is voided."))
    if screening.status != ScreeningStatus.ELIGIBLE:
        problems.append(
            _("The eligibility assessment is “%(status)s”, not “eligible”.")
            % {"status": screening.get_status_display()}
        )
    elif signatures.valid_signature(screening, SignatureMeaning.ELIGIBILITY) is None:
        problems.append(_("No investigator has signed the eligibility assessment."))
    consents = [c for c in screening.consents.all() if not c.is_voided]
    guardian = [
        c for c in consents if c.kind == ConsentKind.GUARDIAN_CONSENT and c.signed_on <= enrolled_on
    ]
    if not guardian:
        problems.append(
            _("No guardian informed consent dated on or before %(date)s.") % {"date": enrolled_on}
        )
    else:
        consent_date = max(c.signed_on for c in guardian)
        if assent_required(screening.date_of_birth, consent_date):
            assent = [
                c
                for c in consents
                if c.kind == ConsentKind.CHILD_ASSENT and c.signed_on <= enrolled_on
            ]
            if not assent:
                problems.append(
                    _(
                        "The child is %(min)s or older: child assent dated on or before %(date)s "
                        "is required."
                    )
                    % {"min": protocol.ASSENT_MIN_AGE_YEARS, "date": enrolled_on}
                )
    return problems


@transaction.atomic
def enroll_participant(*, screening: Screening, user: User, enrolled_on: date) -> Participant:
    """Enrol an eligible, signed, consented candidate; assigns ``<SITE>-<nnn>``.

    ENR1 holds under concurrency: every enrolment takes the same transaction-level
    advisory lock before counting, so two coordinators cannot both take the 15th place.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ENROLMENT_LOCK_KEY])
    screening = Screening.objects.select_for_update().select_related("site").get(pk=screening.pk)
    problems = enrolment_blockers(screening, enrolled_on)
    if problems:
        raise EnrolmentRefused(problems)
    if Participant.objects.active().count() >= protocol.ENROLMENT_CAP:
        raise EnrolmentRefused(CAP_REACHED % {"cap": protocol.ENROLMENT_CAP})

    site = Site.objects.select_for_update().get(pk=screening.site_id)
    # Never reused: participants are never deleted, so max + 1 is always new.
    sequence = (Participant.objects.filter(site=site).aggregate(m=Max("sequence"))["m"] or 0) + 1
    with audit_context(user, _("enrolment")):
        participant = Participant.objects.create(
            site=site,
            sequence=sequence,
            subject_id=f"{site.code}-{sequence:03d}",
            screening=screening,
            enrolled_on=enrolled_on,
            planned_day_0=screening.planned_day_0,
            enrolled_by=user,
            status=ParticipantStatus.ENROLLED,
            created_by=user,
            updated_by=user,
        )
        enrolled = StatusChange(
            participant=participant,
            from_status="",
            to_status=ParticipantStatus.ENROLLED,
            changed_on=enrolled_on,
            created_by=user,
            updated_by=user,
        )
        enrolled.reason = enrolled.set_text(
            texts.Text("status.enrolled", {"number": screening.number})
        )
        enrolled.save()
        screening.status = ScreeningStatus.ENROLLED
        screening.updated_by = user
        screening.version += 1
        screening.save(update_fields=["status", "updated_by", "version", "updated_at"])
        workflow.record_changed(participant, enrolled, screening, user=user)
    return participant


@transaction.atomic
def participant_transition(
    *,
    participant: Participant,
    to_status: str,
    user: User | None,
    on: date,
    reason: str | texts.Text,
    discontinuation_reason: str = "",
) -> Participant:
    """Move ``participant`` to ``to_status`` if the state machine allows it (``reason``: the
    user's words, or a generated text kept as a code for each reader's language)."""
    text = reason if isinstance(reason, texts.Text) else None
    reason = text.english() if text is not None else reason
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    refusal = transition_refusal(participant.status, to_status)
    if refusal:
        raise ValidationError(refusal, code="illegal_transition")
    if to_status == ParticipantStatus.DISCONTINUED and not discontinuation_reason:
        raise ValidationError(_("Choose the reason for discontinuation."), code="reason_required")
    if not reason.strip():
        raise ValidationError(_("Give a reason for the status change."), code="reason_required")
    with audit_context(user, reason):
        change = StatusChange(
            participant=participant,
            from_status=participant.status,
            to_status=to_status,
            changed_on=on,
            reason=reason.strip(),
            discontinuation_reason=discontinuation_reason,
            created_by=user,
            updated_by=user,
        )
        change.set_text(text)
        change.save()
        participant.status = to_status
        participant.version += 1
        participant.updated_by = user
        participant.save(update_fields=["status", "version", "updated_by", "updated_at"])
        workflow.record_changed(change, participant, user=user)
    return participant


@transaction.atomic
def withdraw_consent(
    *,
    participant: Participant,
    user: User,
    withdrawn_on: date,
    data_may_be_kept: bool,
    notes: str = "",
) -> ConsentWithdrawal:
    """Record the guardian's withdrawal and move the participant to "withdrawn"."""
    if withdrawn_on < participant.enrolled_on:
        raise ValidationError(
            WITHDRAWAL_BEFORE_ENROLMENT % {"date": participant.enrolled_on},
            code="before_enrolment",
        )
    if participant.status not in ACTIVE_STATUSES:
        raise ValidationError(
            _("Only an active participant can withdraw; this one is “%(status)s”.")
            % {"status": participant.get_status_display()}
        )
    reason = texts.Text("status.consent_withdrawn", {"date": withdrawn_on})
    with audit_context(user, reason.english()):
        withdrawal = ConsentWithdrawal.objects.create(
            participant=participant,
            withdrawn_on=withdrawn_on,
            data_may_be_kept=data_may_be_kept,
            notes=notes,
            created_by=user,
            updated_by=user,
        )
        workflow.record_changed(withdrawal, user=user)
    participant_transition(
        participant=participant,
        to_status=ParticipantStatus.WITHDRAWN,
        user=user,
        on=withdrawn_on,
        reason=reason,
    )
    return withdrawal


def data_entry_refusal(participant: Participant, *, safety: bool = False) -> str | None:
    """Why new data cannot be entered for ``participant`` (None when it can).

    After consent withdrawal only safety follow-up (adverse events and their
    medication) may still be recorded.
    """
    if participant.is_voided:
        return _("This participant record is voided.")
    if participant.status == ParticipantStatus.WITHDRAWN and not safety:
        return _("Consent was withdrawn: only safety follow-up can be recorded.")
    return None


@transaction.atomic
def consent_record(*, form, user: User, screening: Screening) -> Consent:
    """Save a consent or assent (first consent or re-consent) given for ``screening``.

    Once the candidate is enrolled, the participant's data-entry rules apply: after
    consent withdrawal nothing but safety follow-up may be recorded, and a consent is
    not safety data.
    """
    participant = Participant.objects.select_for_update().filter(screening=screening).first()
    if participant is not None and (refusal := data_entry_refusal(participant)):
        raise ValidationError(refusal, code="data_entry_refused")
    return record_save(form=form, user=user, screening=screening)


@transaction.atomic
def consent_form_version_register(
    *,
    user: User,
    kind: str,
    version: str,
    effective_from: date,
    requires_reconsent: bool,
    today: date,
) -> tuple[ConsentFormVersion, int]:
    """Register a newly approved consent or assent form version.

    With ``requires_reconsent`` the enrolled, still-active participants whose consent
    (or assent) is on an older version are flagged for re-consent from now on; the
    flag clears when they consent on this version (enrollment/selectors.py). Returns
    the version and how many participants it flagged.
    """
    # One registration of a form at a time, so "newer than the latest" holds.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_VERSION_LOCK_KEY, kind])
    latest = latest_consent_form_version(kind)
    if latest is not None and effective_from <= latest.effective_from:
        raise ValidationError(
            {
                "effective_from": VERSION_NOT_NEWER
                % {"version": latest.version, "date": latest.effective_from}
            },
        )
    registered = ConsentFormVersion(
        kind=kind,
        version=version.strip(),
        effective_from=effective_from,
        requires_reconsent=requires_reconsent,
        registered_by=user,
    )
    registered.full_clean()
    with audit_context(user, _("new consent form version registered")):
        registered.save()
    flagged = 0
    if requires_reconsent:
        flagged = awaiting_reconsent(
            Participant.objects.all(), today=today, versions={kind: registered}
        ).count()
    return registered, flagged


__all__ = [
    "CAP_REACHED",
    "VERSION_NOT_NEWER",
    "WITHDRAWAL_BEFORE_ENROLMENT",
    "DiscontinuationReason",
    "EnrolmentRefused",
    "consent_form_version_register",
    "consent_record",
    "data_entry_refusal",
    "enroll_participant",
    "enrolment_blockers",
    "participant_transition",
    "withdraw_consent",
]


@transaction.atomic
def participant_reschedule_day_0(
    *, participant: Participant, user: User, planned_day_0: date, reason: str, version: int | None
) -> Participant:
    """Move the planned Day 0 before the first rituximab infusion.

    ``version`` is the participant's version the form was loaded at: if someone else
    changed the participant since (another move, a status change), the move is refused
    with what changed rather than made over their change.  The eligibility criteria are
    re-run against the new date (SCR1: screening data within 28 days before Day 0; EXC5
    windows), and the move is refused if the candidate would no longer be eligible on it.
    """
    from dataclasses import replace

    from eligibility import criteria
    from eligibility.selectors import facts_for
    from trialsite.forms import VERSION_MISSING
    from trialsite.services import EditConflict, changed_since

    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if version is None:
        raise ValidationError(VERSION_MISSING, code="version_missing")
    if version != participant.version:
        conflict = EditConflict(participant, changed_since(participant, version))
        raise ValidationError(str(conflict), code="conflict")
    if participant.infusions.filter(voided_at__isnull=True).exists():
        raise ValidationError(
            _("Day 0 is the date of the first rituximab infusion, which is already recorded.")
        )
    if participant.status not in ACTIVE_STATUSES:
        raise ValidationError(_("Only an active participant can be rescheduled."))
    if planned_day_0 < participant.enrolled_on:
        raise ValidationError(_("Day 0 cannot be before the enrolment date."))
    if not reason.strip():
        raise ValidationError(_("Give a reason for moving Day 0."))
    facts = replace(facts_for(participant.screening), planned_day_0=planned_day_0)
    assessment = criteria.assess(facts)
    if assessment.outcome != criteria.Outcome.ELIGIBLE:
        problems = [r.reason for r in assessment.results if r.status != criteria.Status.PASS]
        raise ValidationError(
            [
                _("On %(date)s the candidate would not be eligible:") % {"date": planned_day_0},
                *problems,
            ]
        )
    with audit_context(user, reason.strip()):
        participant.planned_day_0 = planned_day_0
        participant.version += 1
        participant.updated_by = user
        participant.save(update_fields=["planned_day_0", "version", "updated_by", "updated_at"])
        workflow.record_changed(participant, user=user)
    return participant
