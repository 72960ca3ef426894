"""Writes shared by every clinical record: save with audit context, void."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trialsite import workflow
from trialsite.audit import audit_context
from trialsite.forms import FORM_TOKEN_FIELD, VERSION_MISSING, ClinicalForm
from trialsite.models import ClinicalRecord, FormToken, User

R = TypeVar("R", bound=ClinicalRecord)

_BOOKKEEPING = {"updated_at", "updated_by", "version", "created_at", "created_by"}


class EditConflict(Exception):
    """Someone else saved the record after this form was loaded."""

    def __init__(self, current: ClinicalRecord, changed_fields: list[str]) -> None:
        self.current = current
        self.changed_fields = changed_fields
        super().__init__(
            _("Someone else saved this record while you were editing it (%(fields)s).")
            % {"fields": ", ".join(changed_fields) or _("no visible field")}
        )


class AlreadySubmitted(ValidationError):
    """The create form's one-time token was used already: ``record`` is what it made
    (None if the token was not this user's)."""

    def __init__(self, record: Any) -> None:
        super().__init__(
            _("This form was already submitted: the record was saved once."),
            code="already_submitted",
        )
        self.record = record


def form_token_use(*, token: str, user: User) -> None:
    """Spend a create form's token in the caller's transaction (issue 16); raises
    ``AlreadySubmitted`` when it was spent before. A simultaneous post of the same token
    waits on the unique index until the first commits, then finds it spent."""
    try:
        with transaction.atomic():
            FormToken.objects.create(token=token, user=user)
    except IntegrityError:
        used = FormToken.objects.filter(token=token, user=user).first()
        raise AlreadySubmitted(used.record if used is not None else None) from None


def _form_token_made(token: str, record: ClinicalRecord) -> None:
    FormToken.objects.filter(token=token).update(
        content_type=ContentType.objects.get_for_model(record), object_id=record.pk
    )


def _loaded_and_latest(record: ClinicalRecord, version: int):
    import pghistory.models

    events = pghistory.models.Events.objects.tracks(record).order_by("-pgh_id")
    return events.filter(pgh_data__version=version).first(), events.first()


def saved_at(record: ClinicalRecord, version: int) -> datetime | None:
    """When ``version`` of ``record`` was written (database time, from the audit trail)."""
    loaded, _latest = _loaded_and_latest(record, version)
    return loaded.pgh_created_at if loaded is not None else None


def changed_since(record: ClinicalRecord, version: int) -> list[str]:
    """Labels of the fields changed since ``version`` of ``record``, read from the audit trail."""
    loaded, latest = _loaded_and_latest(record, version)
    if latest is None or loaded is None:
        return []
    return [
        str(f.verbose_name)
        for f in record._meta.concrete_fields
        if f.name not in _BOOKKEEPING
        and loaded.pgh_data.get(f.column) != latest.pgh_data.get(f.column)
    ]


@transaction.atomic
def record_save(
    *, form: ClinicalForm, user: User, today: date | None = None, course: Any = None, **assign
) -> ClinicalRecord:
    """Save a valid clinical form in one transaction, audited with user and reason.

    ``assign`` sets fields the form does not carry (e.g. ``participant=``); ``today`` and
    ``course`` go to the after-write steps (``trialsite.workflow.record_changed``).
    An edit is refused with ``EditConflict`` when the stored version moved on
    since the form was loaded (optimistic locking).
    """
    token = "" if form.is_edit else form.cleaned_data.get(FORM_TOKEN_FIELD, "")
    if token:
        form_token_use(token=token, user=user)  # first: a second post stops here
    record = form.save(commit=False)
    for name, value in assign.items():
        setattr(record, name, value)
    if record.is_voided:
        raise ValidationError(_("A voided record cannot be changed."))
    if form.is_edit:
        current = type(record)._default_manager.select_for_update().get(pk=record.pk)
        loaded_version = form.cleaned_data.get("version")
        if loaded_version is None:  # never "assume the current one": that overwrites
            raise ValidationError(VERSION_MISSING, code="version_missing")
        if current.version != loaded_version:
            raise EditConflict(current, changed_since(current, loaded_version))
        record.version = current.version + 1
    else:
        record.created_by = user
    record.updated_by = user
    record.full_clean(exclude=list(form._meta.exclude or ()))
    with audit_context(user, form.reason or _("initial entry")):
        record.save()
        form.save_m2m()
        workflow.record_changed(record, user=user, today=today, course=course)
    if token:
        _form_token_made(token, record)
    return record


@transaction.atomic
def record_void(*, record: R, user: User, reason: str, today: date | None = None) -> R:
    """Void a record (never delete it): it stays, marked, with who, when and why."""
    if not reason.strip():
        raise ValidationError(_("Give a reason for voiding."))
    locked = type(record)._default_manager.select_for_update().get(pk=record.pk)
    if locked.is_voided:
        raise ValidationError(_("This record is already voided."))
    locked.voided_at = timezone.now()
    locked.voided_by = user
    locked.void_reason = reason.strip()
    locked.version += 1
    locked.updated_by = user
    with audit_context(user, reason.strip(), action="void"):
        locked.save()
        workflow.record_changed(locked, user=user, today=today)
    return locked
