"""CRF writes: each one transaction, audited with who and why.

Visit CRFs need a participant whose consent stands; adverse events and concomitant
medication are safety data and may still be recorded after consent withdrawal
(``enrollment.services.data_entry_refusal``).
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crf.forms import (
    AdverseEventForm,
    AdverseEventUpdateForm,
    ConMedForm,
    VisitCrfForm,
    VisitLabsForm,
)
from crf.models import (
    AdverseEvent,
    AdverseEventUpdate,
    ConcomitantMedication,
    EssdaiAssessment,
    EsspriAssessment,
    GlandFunction,
    OutcomeState,
    PhysicianGlobal,
    SaeAcknowledgement,
    SeriousAeAlert,
    SeriousCriterion,
    VisitCrf,
    VisitFormsState,
)
from crf.selectors import (
    OUTCOME_ANALYTES,
    OUTCOME_TIME_POINTS,
    outcome_rows,
    visit_forms,
    visit_labs,
)
from dosing.models import BCellResult, LabResult, Visit, VisitKind
from enrollment.models import Participant
from enrollment.services import data_entry_refusal
from trialsite import protocol, workflow
from trialsite.audit import audit_context
from trialsite.forms import VERSION_MISSING
from trialsite.models import ClinicalRecord, User
from trialsite.roles import Role
from trialsite.services import record_save, record_void

logger = logging.getLogger(__name__)

# Messages the tests import.
ALREADY_ENTERED = _(
    "This form was entered for this visit by someone else meanwhile: reload the page."
)
LABS_CHANGED = _(
    "Someone else saved labs of this visit while you were editing them (%(tests)s): nothing "
    "was saved, reload the page to see their change."
)
VISIT_VOIDED = _("This visit is voided: its forms cannot be changed.")
NOT_A_RECIPIENT = _("This alert was not sent to you.")


def _require_entry(participant: Participant, *, safety: bool = False) -> None:
    refusal = data_entry_refusal(participant, safety=safety)
    if refusal:
        raise ValidationError(refusal, code="entry_refused")


def _require_visit(visit: Visit) -> None:
    if visit.is_voided:
        raise ValidationError(VISIT_VOIDED, code="visit_voided")
    _require_entry(visit.participant)


# --- Visit CRFs ----------------------------------------------------------------------


@transaction.atomic
def visit_crf_save(*, form: VisitCrfForm, user: User) -> VisitCrf:
    """Save one visit form (ESSDAI, ESSPRI, physician global, glands, vitals, review).

    The instrument version the rater saw is stored with ESSDAI and ESSPRI.
    """
    visit = Visit.objects.select_related("participant").get(pk=form.visit.pk)
    _require_visit(visit)
    assign: dict[str, object] = {"visit": visit}
    if hasattr(form.instance, "instrument_version"):
        assign["instrument_version"] = _instrument_version(form.instance)
    try:
        with transaction.atomic():
            return record_save(form=form, user=user, **assign)
    except IntegrityError as exc:
        # Two people entering the same form of the same visit at once: one wins.
        raise ValidationError(ALREADY_ENTERED, code="already_entered") from exc


def _labs_changed(visit: Visit, loaded: dict[int, int], current: dict[str, LabResult]) -> list[str]:
    """The tests whose stored result differs from the state the form was loaded with."""
    stored = {lab.pk: lab for lab in current.values()}
    changed = [
        lab.get_analyte_display() for pk, lab in stored.items() if loaded.get(pk) != lab.version
    ]
    gone = [pk for pk in loaded if pk not in stored]  # voided (or never of this visit)
    changed += [
        lab.get_analyte_display()
        for lab in LabResult.objects.filter(pk__in=gone, visit=visit).order_by("pk")
    ]
    if gone and not changed:
        changed = [_("a result that is no longer current")]
    return changed


def _instrument_version(record: VisitCrf) -> str:
    from crf.models import EssdaiAssessment

    if isinstance(record, EssdaiAssessment):
        return protocol.ESSDAI_VERSION
    return protocol.ESSPRI_VERSION


@transaction.atomic
def visit_labs_save(*, form: VisitLabsForm, user: User) -> list[LabResult]:
    """Upsert the visit's lab panel from a valid form; a cleared value is voided."""
    visit = Visit.objects.select_related("participant").select_for_update().get(pk=form.visit.pk)
    _require_visit(visit)
    current = visit_labs(visit, lock=True)
    loaded = form.cleaned_data.get("fingerprint")
    if loaded is None:  # the form refuses it; never "assume the current state"
        raise ValidationError(VERSION_MISSING, code="version_missing")
    changed = _labs_changed(visit, loaded, current)
    if changed:
        raise ValidationError(
            LABS_CHANGED, code="conflict", params={"tests": ", ".join(map(str, changed))}
        )
    taken_on = form.cleaned_data.get("taken_on")
    date_changed = "taken_on" in form.changed_data
    reason = form.reason or _("initial entry")
    saved: list[LabResult] = []
    written: list[LabResult] = []
    with audit_context(user, reason):
        for analyte, entered in form.lab_values.items():
            lab = current.get(analyte)
            if entered is None:
                if lab is not None:
                    lab.voided_at, lab.voided_by, lab.void_reason = timezone.now(), user, reason
                    lab.version += 1
                    lab.updated_by = user
                    lab.save()
                    written.append(lab)
                continue
            value, unit, canonical, significance = entered
            checked = f"{analyte}_value" in form.checked_values
            if lab is None:
                lab = LabResult(participant=visit.participant, visit=visit, created_by=user)
            elif (
                lab.value_entered == value
                and lab.unit_entered == unit
                and lab.value_checked == checked
                and lab.significance == significance
                and not date_changed
            ):
                saved.append(lab)
                continue
            else:
                lab.version += 1
            lab.analyte = analyte
            lab.value_entered, lab.unit_entered, lab.value = value, unit, canonical
            lab.value_checked = checked
            lab.significance = significance
            lab.taken_on = taken_on
            lab.updated_by = user
            lab.full_clean()
            lab.save()
            saved.append(lab)
            written.append(lab)
        workflow.record_changed(*written, user=user)
    return saved


# --- After every write: this app's read models (trialsite.workflow Step.CRF) ----------------


def crf_follows(records, **_context) -> None:
    """Step CRF of ``workflow.record_changed``: the visits' form completeness and the adverse
    events' state follow the records just written."""
    visit_forms_follow(records)
    adverse_event_state_follows(records)
    outcome_state_follows(records)


def _visits_of(records) -> set[int]:
    """The visits whose forms ``records`` are (a visit, its CRFs, its labs, a B-cell result
    of its day)."""
    ids = {r.pk for r in records if isinstance(r, Visit)}
    ids |= {r.visit_id for r in records if isinstance(r, VisitCrf | LabResult) and r.visit_id}
    for result in (r for r in records if isinstance(r, BCellResult)):
        ids |= set(
            Visit.objects.filter(
                Q(pk=result.visit_id)
                | Q(participant=result.participant_id, visit_date=result.taken_on)
            ).values_list("pk", flat=True)
        )
    return ids


def visit_forms_follow(records) -> None:
    ids = _visits_of(records)
    if ids:
        visit_forms_store(Visit.objects.filter(pk__in=ids))


def visit_forms_store(visits) -> None:
    """Replace the stored form completeness of ``visits`` (a queryset) with a fresh judgement."""
    visits = list(visits.exclude(kind=VisitKind.UNSCHEDULED).order_by("pk"))
    forms = visit_forms(visits)
    VisitFormsState.objects.filter(visit__in=[v.pk for v in visits]).delete()
    VisitFormsState.objects.bulk_create(
        VisitFormsState(
            visit_id=v.pk,
            participant_id=v.participant_id,
            visit_code=v.visit_code,
            visit_date=v.visit_date,
            n_expected=len(forms[v.pk].expected),
            n_complete=forms[v.pk].n_complete,
            missing=[kind.value for kind in forms[v.pk].missing],
        )
        for v in visits
    )


def visit_forms_rebuild(visits, *, batch: int = 2000) -> int:
    """Store the form completeness of many visits (load data, a migrated database)."""
    ids = list(visits.exclude(kind=VisitKind.UNSCHEDULED).values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        with transaction.atomic():
            visit_forms_store(Visit.objects.filter(pk__in=ids[start : start + batch]))
    return len(ids)


# The records the outcome review's stored numbers are computed from (``outcome_rows``).
_OUTCOME_RECORDS = (EssdaiAssessment, EsspriAssessment, PhysicianGlobal, GlandFunction)


def _outcome_participants(records) -> set[int]:
    """The participants whose outcome numbers ``records`` may change: an outcome visit
    (its date, code or voiding), its ESSDAI, ESSPRI, physician global, gland function, or
    an outcome lab (ESR, IgG, RF, C4)."""
    ids = {r.participant_id for r in records if isinstance(r, Visit)}
    visits = {r.visit_id for r in records if isinstance(r, _OUTCOME_RECORDS)}
    visits |= {
        r.visit_id
        for r in records
        if isinstance(r, LabResult) and r.visit_id and r.analyte in OUTCOME_ANALYTES
    }
    if visits:
        ids |= set(Visit.objects.filter(pk__in=visits).values_list("participant_id", flat=True))
    return ids


def outcome_state_follows(records) -> None:
    ids = _outcome_participants(records)
    if ids:
        outcome_state_store(Participant.objects.filter(pk__in=ids))


def outcome_state_store(participants) -> None:
    """Replace the stored outcome numbers of ``participants`` (a queryset) with fresh ones."""
    scope = participants.order_by("pk")
    rows = outcome_rows(list(scope), scope, glucocorticoids=False)
    OutcomeState.objects.filter(participant__in=[r.participant.pk for r in rows]).delete()
    OutcomeState.objects.bulk_create(outcome_state_of(row) for row in rows)


def outcome_state_of(row) -> OutcomeState:
    """The stored numbers of one outcome review row."""
    essdai = [row.points[code].essdai for code in OUTCOME_TIME_POINTS]
    esspri = [row.points[code].esspri for code in OUTCOME_TIME_POINTS]
    essdai_totals = [score.total if score else None for score in essdai]
    esspri_sums = [
        int(score.dryness + score.fatigue + score.pain) if score else None for score in esspri
    ]
    return OutcomeState(
        participant_id=row.participant.pk,
        essdai_baseline=essdai_totals[0],
        essdai_w12=essdai_totals[1],
        essdai_w28=essdai_totals[2],
        esspri_sum_baseline=esspri_sums[0],
        esspri_sum_w12=esspri_sums[1],
        esspri_sum_w28=esspri_sums[2],
        composite=row.composite.outcome if row.composite else "",
    )


_STATE_FIELDS = (
    "essdai_baseline",
    "essdai_w12",
    "essdai_w28",
    "esspri_sum_baseline",
    "esspri_sum_w12",
    "esspri_sum_w28",
    "composite",
)


def outcome_state_differences(participants) -> list[str]:
    """Every difference between the stored outcome numbers and a fresh computation."""
    scope = participants.order_by("pk")
    stored = {s.participant_id: s for s in OutcomeState.objects.filter(participant__in=scope)}
    lines = []
    for row in outcome_rows(list(scope), scope, glucocorticoids=False):
        built, have = outcome_state_of(row), stored.get(row.participant.pk)
        for name in _STATE_FIELDS:
            want, got = getattr(built, name), getattr(have, name) if have else None
            if want != got and not (have is None and want in (None, "")):
                lines.append(f"{row.participant.subject_id} {name}: stored {got!r}, is {want!r}")
    return lines


def outcome_state_rebuild(participants, *, batch: int = 2000) -> int:
    """Store the outcome numbers of many participants (load data, a migrated database)."""
    ids = list(participants.values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        with transaction.atomic():
            outcome_state_store(Participant.objects.filter(pk__in=ids[start : start + batch]))
    return len(ids)


def adverse_event_state_follows(records) -> None:
    """An adverse event written, or one of its follow-ups, stores its current grade and
    outcome and its worst grade (the one rule, ``crf.adverse_events.ae_state``) for every
    list, alert, outcome table and export."""
    events = {r.pk for r in records if isinstance(r, AdverseEvent)}
    events |= {r.adverse_event_id for r in records if isinstance(r, AdverseEventUpdate)}
    for event in AdverseEvent.objects.filter(pk__in=events):
        state = event.state()
        stored = (event.current_grade, event.current_outcome, event.worst_grade)
        if stored == (state.current_grade, state.current_outcome, state.worst_grade):
            continue
        event.current_grade, event.current_outcome = state.current_grade, state.current_outcome
        event.worst_grade = state.worst_grade
        # The write's own audit context (who and why) covers this derived change.
        AdverseEvent.objects.filter(pk=event.pk).update(
            current_grade=event.current_grade,
            current_outcome=event.current_outcome,
            worst_grade=event.worst_grade,
        )


# --- Adverse events ------------------------------------------------------------------


def alert_recipients(participant: Participant) -> list[User]:
    """The site's investigators and every data manager (PROTOCOL.md "Safety")."""
    return list(
        User.objects.filter(is_active=True)
        .filter(
            Q(groups__name=Role.INVESTIGATOR.group_name, sites=participant.site_id)
            | Q(groups__name=Role.DATA_MANAGER.group_name)
        )
        .distinct()
        .order_by("username")
    )


@transaction.atomic
def adverse_event_save(
    *, form: AdverseEventForm, user: User, participant: Participant
) -> AdverseEvent:
    """Record or correct an adverse event; the first time it is serious, raise the alert."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    _require_entry(participant, safety=True)
    event = record_save(form=form, user=user, participant=participant)
    if event.serious and not SeriousAeAlert.objects.filter(adverse_event=event).exists():
        _raise_alert(event, user)
    return event


def _raise_alert(event: AdverseEvent, user: User) -> SeriousAeAlert:
    recipients = alert_recipients(event.participant)
    with audit_context(user, _("serious adverse event alert")):
        alert = SeriousAeAlert.objects.create(adverse_event=event, raised_by=user)
        alert.recipients.set(recipients)
    # In this transaction: the e-mails are queued with the alert (notifications app), so
    # they are sent exactly when the save commits.
    workflow.alert_raised(alert)
    return alert


@transaction.atomic
def adverse_event_update_add(*, form: AdverseEventUpdateForm, user: User) -> AdverseEventUpdate:
    """Add a follow-up to an adverse event (or correct one).

    A follow-up that ticks seriousness criteria makes the event serious (its record says so,
    with the follow-up as the reason) and raises the alert, once per event as on saving it.
    """
    event = (
        AdverseEvent.objects.select_related("participant")
        .select_for_update(of=("self",))
        .get(pk=form.adverse_event.pk)
    )
    if event.is_voided:
        raise ValidationError(_("This adverse event is voided."), code="voided")
    _require_entry(event.participant, safety=True)
    update = record_save(form=form, user=user, adverse_event=event)
    new = set(update.serious_criteria) - set(event.serious_criteria)
    if new:
        met = new | set(event.serious_criteria)
        event.serious = True
        event.serious_criteria = [c for c in SeriousCriterion.values if c in met]
        event.version += 1
        event.updated_by = user
        reason = _("follow-up of %(date)s: %(criteria)s") % {
            "date": update.reported_on.isoformat(),
            "criteria": "; ".join(update.get_serious_criteria_display()),
        }
        with audit_context(user, reason):
            event.save(
                update_fields=["serious", "serious_criteria", "version", "updated_by", "updated_at"]
            )
            workflow.record_changed(event, user=user)
    if event.serious and not SeriousAeAlert.objects.filter(adverse_event=event).exists():
        _raise_alert(event, user)
    return update


@transaction.atomic
def sae_alert_acknowledge(*, alert: SeriousAeAlert, user: User) -> SaeAcknowledgement:
    """The recipient has seen the alert: it leaves their dashboard (idempotent)."""
    if not alert.recipients.filter(pk=user.pk).exists():
        raise ValidationError(NOT_A_RECIPIENT, code="not_recipient")
    with audit_context(user, _("serious adverse event alert acknowledged")):
        acknowledgement, _created = SaeAcknowledgement.objects.get_or_create(alert=alert, user=user)
    return acknowledgement


# --- Concomitant medication ---------------------------------------------------------------


@transaction.atomic
def con_med_save(
    *, form: ConMedForm, user: User, participant: Participant
) -> ConcomitantMedication:
    """Record or correct a concomitant medication (safety data: allowed after withdrawal)."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    _require_entry(participant, safety=True)
    return record_save(form=form, user=user, participant=participant)


# --- Voiding ---------------------------------------------------------------------------


@transaction.atomic
def crf_void(*, record: ClinicalRecord, user: User, reason: str) -> ClinicalRecord:
    """Void a CRF record entered in error (it stays, marked, with who, when and why)."""
    return record_void(record=record, user=user, reason=reason)
