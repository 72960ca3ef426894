"""Screening writes: each one transaction, audited, followed by a fresh assessment.

After every change the criteria are re-run, the stored status follows the
outcome, and signatures over data that changed are recorded as void.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from eligibility.criteria import Outcome
from eligibility.forms import LabsForm, PriorTherapyForm, lab_is_unchanged
from eligibility.models import (
    PriorTherapy,
    Screening,
    ScreeningAnalyte,
    ScreeningLab,
    ScreeningStatus,
)
from eligibility.selectors import assessment_for
from trialsite import signatures, workflow
from trialsite.audit import audit_context
from trialsite.forms import VERSION_MISSING, ClinicalForm
from trialsite.models import Signature, SignatureMeaning, Site, User
from trialsite.services import EditConflict, changed_since, record_save, saved_at

_STATUS_FOR_OUTCOME = {
    Outcome.ELIGIBLE: ScreeningStatus.ELIGIBLE,
    Outcome.NOT_ELIGIBLE: ScreeningStatus.NOT_ELIGIBLE,
    Outcome.INCOMPLETE: ScreeningStatus.IN_PROGRESS,
}

CLOSED = gettext_lazy("This screening is closed (%(status)s): it can no longer be changed.")


def _check_open(screening: Screening) -> None:
    if screening.is_closed or screening.is_voided:
        raise ValidationError(CLOSED % {"status": screening.get_status_display()})


def _next_screening_sequence(site: Site) -> int:
    # Lock the site row so two coordinators creating screenings at the same
    # moment get different numbers; numbers are never reused because
    # screenings are never deleted.
    Site.objects.select_for_update().get(pk=site.pk)
    current = Screening.objects.filter(site=site).aggregate(m=Max("sequence"))["m"]
    return (current or 0) + 1


def screening_reassess(screening: Screening, *, user: User | None) -> Screening:
    """Re-run the criteria, store the outcome, void signatures over changed data."""
    screening = Screening.objects.get(pk=screening.pk)  # fresh rows after the change
    assessment = assessment_for(screening)
    if not screening.is_closed:
        screening.status = _STATUS_FOR_OUTCOME[assessment.outcome]
    screening.failed_codes = list(assessment.failed_codes)
    screening.missing_items = [str(item) for item in assessment.missing_items]
    screening.criteria_sets_met = [str(s) for s in assessment.criteria_sets_met]
    with audit_context(user, _("assessment recomputed")):
        Screening.objects.filter(pk=screening.pk).update(
            status=screening.status,
            failed_codes=screening.failed_codes,
            missing_items=screening.missing_items,
            criteria_sets_met=screening.criteria_sets_met,
        )
        signatures.void_stale_signatures(
            screening, user=user, reason=_("The screening data changed after it was signed.")
        )
    return screening


@transaction.atomic
def screening_create(*, site: Site, user: User | None, **fields) -> Screening:
    """Open a screening at ``site`` with the next number ``<SITE>-S<nnn>``."""
    sequence = _next_screening_sequence(site)
    screening = Screening(
        site=site,
        sequence=sequence,
        number=f"{site.code}-S{sequence:03d}",
        created_by=user,
        updated_by=user,
        **fields,
    )
    screening.full_clean()
    with audit_context(user, _("new screening")):
        screening.save()
        workflow.record_changed(screening, user=user)
    return screening_reassess(screening, user=user)


@transaction.atomic
def screening_save_section(*, form: ClinicalForm, user: User) -> Screening:
    """Save one section of a screening and reassess."""
    _check_open(Screening.objects.select_for_update().get(pk=form.instance.pk))
    screening = record_save(form=form, user=user)
    return screening_reassess(screening, user=user)


def _changed_since(screening: Screening, version: int) -> list[str]:
    """The screening's fields and the tests changed since ``version`` was loaded."""
    from django.apps import apps

    changed = changed_since(screening, version)
    loaded_at = saved_at(screening, version)
    if loaded_at is not None:
        lab_events = apps.get_model("eligibility", "ScreeningLabAuditEvent").objects
        analytes = set(
            lab_events.filter(
                pgh_obj__screening=screening, pgh_created_at__gt=loaded_at
            ).values_list("analyte", flat=True)
        )
        labels = dict(ScreeningAnalyte.choices)
        changed += [str(labels.get(code, code)) for code in sorted(analytes)]
    return changed


@transaction.atomic
def screening_save_labs(*, form: LabsForm, user: User) -> Screening:
    """Upsert the screening labs and serology from a valid ``LabsForm``."""
    screening = Screening.objects.select_for_update().get(pk=form.screening.pk)
    _check_open(screening)
    loaded = form.cleaned_data.get("version")
    if loaded is None:  # the form refuses it; never "assume the current version"
        raise ValidationError(VERSION_MISSING, code="version_missing")
    if loaded != screening.version:
        raise EditConflict(screening, _changed_since(screening, loaded))
    reason = form.reason or _("initial entry")
    written: list[ScreeningLab] = []
    with audit_context(user, reason):
        for analyte, entered in form.lab_values.items():
            current = form.existing.get(analyte)
            if entered is None:
                if current is not None:
                    current.voided_at, current.voided_by = timezone.now(), user
                    current.void_reason = reason
                    current.save()
                    written.append(current)
                continue
            value, unit, canonical, taken_on = entered
            checked = f"{analyte}_value" in form.checked_values
            if current is not None and lab_is_unchanged(current, value, unit, taken_on, checked):
                continue
            if current is not None:
                current.value_entered, current.unit_entered = value, unit
                current.value, current.taken_on = canonical, taken_on
                current.value_checked = checked
                current.updated_by = user
                current.version += 1
                current.save()
                written.append(current)
            else:
                created = ScreeningLab.objects.create(
                    screening=screening,
                    analyte=analyte,
                    value_entered=value,
                    unit_entered=unit,
                    value=canonical,
                    taken_on=taken_on,
                    value_checked=checked,
                    created_by=user,
                    updated_by=user,
                )
                written.append(created)
        for name in ("hbsag", "hbsab", "hbcab", "hcv_ab", "hiv_ever", "active_tb", "serology_date"):
            setattr(screening, name, form.cleaned_data.get(name))
        screening.version += 1
        screening.updated_by = user
        screening.save()
        workflow.record_changed(*written, screening, user=user)
    return screening_reassess(screening, user=user)


@transaction.atomic
def prior_therapy_save(*, form: PriorTherapyForm, user: User) -> PriorTherapy:
    screening = Screening.objects.select_for_update().get(pk=form.screening.pk)
    _check_open(screening)
    therapy = record_save(form=form, user=user, screening=screening)
    if screening.no_prior_therapy:
        with audit_context(user, _("prior therapy entered")):
            screening.no_prior_therapy = False
            screening.save(update_fields=["no_prior_therapy", "updated_at"])
            workflow.record_changed(screening, user=user)
    screening_reassess(screening, user=user)
    return therapy


@transaction.atomic
def prior_therapy_void(*, therapy: PriorTherapy, user: User, reason: str) -> PriorTherapy:
    from trialsite.services import record_void

    _check_open(Screening.objects.select_for_update().get(pk=therapy.screening_id))
    therapy = record_void(record=therapy, user=user, reason=reason)
    screening_reassess(therapy.screening, user=user)
    return therapy


def screening_sign_eligibility(
    *,
    screening: Screening,
    user: User,
    password: str,
    request: HttpRequest | None = None,
    source_signed_on: date | None = None,
) -> Signature:
    """An investigator confirms an "eligible" assessment with an e-signature (with the date
    the paper source was signed, when it is entered later)."""
    # The password is checked first, outside the transaction (signatures.reauthenticate).
    reauth = signatures.reauthenticate(user=user, password=password, request=request)
    return _sign_eligibility(
        screening=screening, user=user, reauth=reauth, source_signed_on=source_signed_on
    )


@transaction.atomic
def _sign_eligibility(
    *,
    screening: Screening,
    user: User,
    reauth: signatures.Reauthentication,
    source_signed_on: date | None = None,
) -> Signature:
    screening = Screening.objects.select_for_update().get(pk=screening.pk)
    if screening.is_voided or screening.status == ScreeningStatus.SCREEN_FAILED:
        raise ValidationError(_("This screening cannot be signed."))
    if assessment_for(screening).outcome != Outcome.ELIGIBLE:
        raise ValidationError(_("Only an “eligible” assessment can be confirmed."))
    if signatures.valid_signature(screening, SignatureMeaning.ELIGIBILITY):
        raise ValidationError(_("This assessment is already signed."))
    return signatures.sign(
        obj=screening,
        user=user,
        reauth=reauth,
        meaning=SignatureMeaning.ELIGIBILITY,
        source_signed_on=source_signed_on,
    )


@transaction.atomic
def screening_mark_failed(*, screening: Screening, user: User, reason: str) -> Screening:
    """Close the screening as a screen failure; it stays in the log with its reasons."""
    screening = Screening.objects.select_for_update().get(pk=screening.pk)
    _check_open(screening)
    if not reason.strip():
        raise ValidationError(_("Give the reason for the screen failure."))
    with audit_context(user, reason.strip()):
        screening.status = ScreeningStatus.SCREEN_FAILED
        screening.screen_failure_reason = reason.strip()
        screening.version += 1
        screening.updated_by = user
        screening.save()
        workflow.record_changed(screening, user=user)
    return screening
