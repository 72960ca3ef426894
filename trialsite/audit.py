"""Audit context and the human-readable history of a record.

The trail itself is written by database triggers (django-pghistory): every
insert and update of every clinical table, whoever makes it, including
``QuerySet.update()``, bulk operations and raw SQL.  This module only adds
*who* and *why* to the change (``audit_context``) and reads the trail back.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pghistory
import pghistory.middleware
import pghistory.runtime as pghistory_runtime
from django.apps import apps
from django.db import connection, models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialsite.models import User

# Bookkeeping columns that change on every save and say nothing to a reader.
_HIDDEN_COLUMNS = {
    "id",
    "updated_at",
    "updated_by_id",
    "version",
    "created_at",
    "created_by_id",
    "audit_db_user",
}

EVENT_LABELS = {
    "insert": gettext_lazy("Created"),
    "update": gettext_lazy("Changed"),
    "delete": gettext_lazy("Deleted"),
}


def _user_context(user: User | None) -> dict[str, Any]:
    if user is None or not user.is_authenticated:
        return {}
    return {"user": user.pk, "username": user.username}


class AuditContextMiddleware(pghistory.middleware.HistoryMiddleware):
    """pghistory's middleware, also recording the username and client address."""

    def get_context(self, request) -> dict[str, Any]:
        context = super().get_context(request)
        context.update(_user_context(getattr(request, "user", None)))
        context["remote_addr"] = request.META.get("REMOTE_ADDR", "")
        return context


@contextlib.contextmanager
def audit_context(user: User | None, reason: str = "", **extra: Any) -> Iterator[None]:
    """Attach the acting user and the reason to every change made inside the block.

    pghistory keeps one context per request, and a nested ``pghistory.context``
    only updates its metadata, so the last reason given would become the reason of
    every change of the request. A block with its own reason therefore gets a
    context of its own (same user and URL, its own reason) and the outer one is
    restored afterwards: each event keeps its own "why".
    """
    metadata = {**_user_context(user), **extra}
    if reason:
        metadata["reason"] = reason
    outer = getattr(pghistory_runtime._tracker, "value", None)
    if outer is None or not reason or outer.metadata.get("reason") == reason:
        with pghistory.context(**metadata):
            yield
        return
    # pghistory reads the active context at each statement (runtime._tracker).
    pghistory_runtime._tracker.value = pghistory_runtime.Context(
        id=uuid.uuid4(), metadata={**outer.metadata, **metadata}
    )
    try:
        yield
    finally:
        pghistory_runtime._tracker.value = outer


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime
    action: str
    who: str
    reason: str
    changes: list[FieldChange] = field(default_factory=list)
    url: str = ""
    is_creation: bool = False


def _display(model_field: models.Field | None, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if model_field is None:
        return str(value)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(model_field, models.BooleanField):
        return _("Yes") if value else _("No")
    if isinstance(model_field, models.ForeignKey):
        related = model_field.related_model._base_manager.filter(pk=value).first()
        return str(related) if related is not None else str(value)
    return str(value)


def history_of(obj: models.Model) -> list[HistoryEntry]:
    """Every audit event of ``obj``, oldest first, in human terms."""
    columns = {f.column: f for f in obj._meta.concrete_fields}
    entries = []
    events = pghistory.models.Events.objects.tracks(obj).order_by("pgh_created_at", "pgh_id")
    for event in events:
        context = event.pgh_context or {}
        data = event.pgh_data or {}
        who = context.get("username") or _("database role %(role)s, outside the application") % {
            "role": data.get("audit_db_user", "?")
        }
        if event.pgh_label == "insert":
            raw_changes = {col: (None, value) for col, value in data.items()}
        else:
            raw_changes = {col: tuple(pair) for col, pair in (event.pgh_diff or {}).items()}
        changes = [
            FieldChange(
                label=str(columns[col].verbose_name) if col in columns else col,
                old=_display(columns.get(col), old),
                new=_display(columns.get(col), new),
            )
            for col, (old, new) in raw_changes.items()
            if col not in _HIDDEN_COLUMNS and not (old is None and new in ("", None))
        ]
        entries.append(
            HistoryEntry(
                when=event.pgh_created_at,
                action=str(EVENT_LABELS.get(event.pgh_label, event.pgh_label)),
                who=str(who),
                reason=context.get("reason", ""),
                changes=changes,
                url=context.get("url", ""),
                is_creation=event.pgh_label == "insert",
            )
        )
    return entries


# --- The trail against the data (manage.py verify_audit) ------------------------------------


@dataclass(frozen=True)
class UnauditedRow:
    """A tracked row whose values are not those of its newest audit event."""

    model: str  # app_label.ModelName
    pk: Any
    columns: list[str]  # the columns that differ; empty when the row has no event at all


@dataclass(frozen=True)
class AuditCheck:
    tables: int
    rows: int
    unaudited: list[UnauditedRow]


def tracked_models() -> list[tuple[type[models.Model], type[models.Model]]]:
    """(tracked model, its event model) for every model the audit trail tracks."""
    pairs = []
    for event_model in apps.get_models():
        tracked = getattr(event_model, "pgh_tracked_model", None)
        if tracked is not None:
            pairs.append((tracked, event_model))
    return sorted(pairs, key=lambda pair: pair[0]._meta.label)


def _compared_columns(tracked: type[models.Model], event_model: type[models.Model]) -> list[str]:
    """The tracked row's columns its events snapshot (not pghistory's own, not the role)."""
    own = {f.column for f in tracked._meta.concrete_fields}
    return [
        f.column
        for f in event_model._meta.concrete_fields
        if f.column in own and not f.column.startswith("pgh_")
    ]


def _unaudited_rows(tracked: type[models.Model], event_model: type[models.Model]):
    quote = connection.ops.quote_name
    pk = quote(tracked._meta.pk.column)
    names = _compared_columns(tracked, event_model)
    columns = [quote(c) for c in names]
    # Column names come from the models (never from input); each is also given as a literal.
    differing = ", ".join(
        f"CASE WHEN t.{c} IS DISTINCT FROM e.{c} THEN '{name}' END"
        for c, name in zip(columns, names, strict=True)
    )
    sql = (
        f"SELECT t.{pk}, e.pgh_obj_id IS NULL, "
        f"array_remove(ARRAY[{differing}]::text[], NULL) "
        f"FROM {quote(tracked._meta.db_table)} t LEFT JOIN ("
        f"  SELECT DISTINCT ON (pgh_obj_id) * FROM {quote(event_model._meta.db_table)} "
        f"  ORDER BY pgh_obj_id, pgh_id DESC"
        f") e ON e.pgh_obj_id = t.{pk} "
        f"WHERE e.pgh_obj_id IS NULL "
        f"OR ({', '.join(f't.{c}' for c in columns)}) IS DISTINCT FROM "
        f"({', '.join(f'e.{c}' for c in columns)}) ORDER BY t.{pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {quote(tracked._meta.db_table)}")
        count = cursor.fetchone()[0]
        cursor.execute(sql)
        return count, cursor.fetchall()


def verify_audit() -> AuditCheck:
    """Compare every tracked row with the newest snapshot in its event table: a row that
    differs, or has no event, was changed where the audit triggers did not fire (e.g. with
    ``session_replication_role = replica``, or a restore of an edited dump)."""
    tables, rows, unaudited = 0, 0, []
    for tracked, event_model in tracked_models():
        count, found = _unaudited_rows(tracked, event_model)
        tables, rows = tables + 1, rows + count
        unaudited += [
            UnauditedRow(tracked._meta.label, pk, [] if no_event else list(differing))
            for pk, no_event, differing in found
        ]
    return AuditCheck(tables, rows, unaudited)


@dataclass(frozen=True)
class UnattributedLinks:
    """Link changes (user–site, user–role, role–permission) made without an audit context."""

    listed: list[Any]  # LinkEvents by any role but the owner: outside the application
    by_owner: int  # the owner's (migrate's role synchronisation, a deployment step)


def unattributed_link_changes() -> UnattributedLinks:
    """Every link change recorded without a who and why: the application always gives one
    (accounts services, demo loaders), so a change by the app role, or any role but the
    owner that runs ``migrate``, was made outside the application."""
    from trialsite.models import LinkEvent

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = %s",
            [LinkEvent._meta.db_table],
        )
        owner = cursor.fetchone()[0]
    without = LinkEvent.objects.filter(context_id__isnull=True)
    return UnattributedLinks(
        listed=list(without.exclude(db_user=owner).order_by("at", "pk")),
        by_owner=without.filter(db_user=owner).count(),
    )
