"""Monitoring's part in every write of a clinical record (registered in ``MonitoringConfig.ready``
with ``trialsite.workflow``, which declares the order).

Guard: locked data is read-only for everyone: the save is refused with ``PermissionDenied``
(a 403 in a request, and the surrounding transaction rolls back), so a crafted POST, a
service that forgot to check, or a script changes nothing.

After the write (``workflow.record_changed``), in the same transaction:

1. a verified value that changed loses its verification, recorded with what changed;
2. an investigator sign-off over the changed data is recorded as void;
3. when the write is a correction made in answer to a query (``monitoring.context``), the
   query is answered, linked to the change;
4. the automatic edit checks run for the record (``monitoring.edit_checks``).

None of these enters an audit context of its own: nested pghistory contexts share one
context row, and a reason set here would replace the reason the user gave for the change.
The events written here carry the write's context (who and why).
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from monitoring import context, edit_checks, services
from monitoring.models import Lock, LockScope
from monitoring.targets import Position, position

LOCKED = gettext_lazy(
    "This data is locked by %(who)s (%(scope)s, %(when)s): nobody can change it until a "
    "data manager unlocks it."
)


def active_lock(pos: Position):
    """The lock that covers a record at ``pos``, if any (one query)."""
    if pos.participant_id is None:
        return None  # nothing before enrolment can be locked
    covers = Q(scope=LockScope.PARTICIPANT, participant_id=pos.participant_id)
    if pos.visit_id is not None:
        covers |= Q(scope=LockScope.VISIT, visit_id=pos.visit_id)
        if pos.form_kind:
            covers |= Q(scope=LockScope.FORM, visit_id=pos.visit_id, form_kind=pos.form_kind)
    if pos.form_object_id is not None:
        covers |= Q(
            scope=LockScope.FORM,
            visit__isnull=True,
            content_type_id=pos.form_content_type_id,
            object_id=pos.form_object_id,
        )
    return (
        Lock.objects.filter(unlocked_at__isnull=True)
        .filter(covers)
        .select_related("locked_by")
        .order_by("pk")
        .first()
    )


def refusal(lock) -> PermissionDenied:
    return PermissionDenied(
        LOCKED
        % {
            "who": lock.locked_by.printed_name,
            "scope": lock.get_scope_display(),
            "when": date_format(timezone.localdate(lock.locked_at), "SHORT_DATE_FORMAT"),
        }
    )


def refuse_if_locked(record) -> None:
    """403 when ``record`` is locked (the access layer asks this before an edit page)."""
    lock = active_lock(position(record))
    if lock is not None:
        raise refusal(lock)


def clear_stale_verifications(records, *, user, now, **_context) -> None:
    for record in records:
        services.verifications_clear_stale(record=record, user=user, now=now)


def void_stale_sign_offs(records, *, now, **_context) -> None:
    for record in records:
        pos = position(record)
        if pos.participant_id is None:
            continue
        services.signoffs_void_stale(
            participant_id=pos.participant_id,
            visit_id=pos.visit_id,
            reason=_("The data changed after it was signed: %(record)s.")
            % {"record": f"{record._meta.verbose_name} #{record.pk}"},
            now=now,
        )


def answer_query_by_correction(records, *, user, now, **_context) -> None:
    correction = context.current()
    if correction is None:
        return
    for record in records:
        if _is_target(correction.query, record):
            services.query_answer_by_correction(
                query=correction.query, record=record, user=user, reason=correction.reason, now=now
            )
            correction.answered = True


def run_edit_checks(records, *, now, **_context) -> None:
    for record in records:
        edit_checks.run_for_record(record, now=now)


def _is_target(query, record) -> bool:
    return (
        query.object_id == record.pk
        and query.content_type_id == ContentType.objects.get_for_model(record).pk
    )
