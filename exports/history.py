"""The history handed over with the data: the audit trail, every e-signature (valid and
void) and every data query (open and closed), as tables of the CSV bundle (issue 18).

Each table is a header and rows of text (``rows._cell``); the bundle writes them as the
forms' files, spreadsheet-safe. The filters by site and participant apply; the date range
does not (a record's history runs past it). De-identified exports shift every date by the
participant's offset and leave out candidates never enrolled, as the forms do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F

from exports.registry import ExportForm, export_forms
from exports.rows import (
    CHUNK,
    ExportFilters,
    ExportOptions,
    _cell,
    _shift,
    base_queryset,
    exported_items,
    shift_dates_in,
)
from trialsite.models import Signature, User
from trialsite.signatures import signature_states, stored_records

Table = Iterator[list[str]]

AUDIT_TRAIL_COLUMNS = [
    "form",
    "event_id",
    "subject_id",
    "site",
    "record_id",
    "action",
    "version",
    "changed_at",
    "changed_by",
    "database_role",
    "reason",
    "changed_fields",
]
AUDIT_CHANGE_COLUMNS = ["form", "event_id", "subject_id", "record_id", "field", "old", "new"]
# Besides the form's fields, the changes that void a record are part of its trail.
VOID_FIELDS = ("voided_at", "voided_by", "void_reason")
ACTIONS = {"insert": "created", "update": "changed"}


def _users() -> dict[int, str]:
    return dict(User.objects.values_list("pk", "username"))


def _tracked_fields(form: ExportForm, options: ExportOptions) -> list[tuple[str, str, bool]]:
    """(event model attname, CSV column name, is a date) of every field the trail shows."""
    fields = [
        (item.field.attname, item.column, item.is_date)
        for item in exported_items(form, options)
        if item.field.concrete
    ]
    return fields + [
        (form.model._meta.get_field(name).attname, name, name == "voided_at")
        for name in VOID_FIELDS
    ]


def _event_values(form: ExportForm, filters: ExportFilters, options: ExportOptions):
    """Every audit event of the exported records, by record then in order."""
    event_model = form.model.pgh_event_model
    records = base_queryset(form, filters, options).values("pk")
    return (
        event_model.objects.filter(pgh_obj_id__in=records)
        .annotate(
            _subject=F(f"pgh_obj__{form.lookup(form.participant_path, 'subject_id')}"),
            _participant=F(f"pgh_obj__{form.lookup(form.participant_path, 'pk')}"),
            _site=F(f"pgh_obj__{form.model.site_field}__code"),
            _context=F("pgh_context__metadata"),
        )
        .order_by("pgh_obj_id", "pgh_id")
        .values()
        .iterator(chunk_size=CHUNK)
    )


def _text(value: Any, *, is_date: bool, days: int, user_field: bool, users: dict) -> str:
    if user_field and value is not None:
        return users.get(value, str(value))
    if is_date:
        return _cell(_shift(value, days))
    value = _cell(value)
    return shift_dates_in(value, days) if days else value


def _changes(form, filters, options) -> Iterator[tuple[dict, list[tuple[str, str, str]]]]:
    """Each event of ``form`` with its changes as (column, old text, new text)."""
    fields = _tracked_fields(form, options)
    user_columns = {
        f.attname
        for f in form.model._meta.concrete_fields
        if isinstance(f, models.ForeignKey) and f.related_model is User
    }
    users = _users()
    previous: dict[str, Any] | None = None
    for event in _event_values(form, filters, options):
        if previous is not None and previous["pgh_obj_id"] != event["pgh_obj_id"]:
            previous = None
        days = options.offsets.get(event["_participant"], 0) if options.shift_dates else 0
        changes = []
        for attname, column, is_date in fields:
            old = None if previous is None else previous[attname]
            new = event[attname]
            if previous is not None and old == new:
                continue
            if previous is None and new in (None, "", []):
                continue  # a field left empty at creation is no change
            kwargs = {"is_date": is_date, "days": days, "users": users}
            kwargs["user_field"] = attname in user_columns
            changes.append((column, _text(old, **kwargs), _text(new, **kwargs)))
        event["_days"] = days
        yield event, changes
        previous = event


def audit_trail(filters: ExportFilters, options: ExportOptions) -> Table:
    """One row per audit event of every exported record: who, when, why, which fields."""
    yield AUDIT_TRAIL_COLUMNS
    for form in export_forms():
        for event, changes in _changes(form, filters, options):
            context = event["_context"] or {}
            yield [
                form.code,
                str(event["pgh_id"]),
                _cell(event["_subject"]),
                event["_site"],
                str(event["pgh_obj_id"]),
                ACTIONS.get(event["pgh_label"], event["pgh_label"]),
                _cell(event.get("version")),
                _cell(_shift(event["pgh_created_at"], event["_days"])),
                context.get("username", ""),
                event.get("audit_db_user") or "",
                shift_dates_in(context.get("reason", ""), event["_days"]),
                "; ".join(column for column, _old, _new in changes),
            ]


def audit_changes(filters: ExportFilters, options: ExportOptions) -> Table:
    """One row per field changed by an update (a record's first values are in its form's
    file, or the ``old`` of the field's first change)."""
    yield AUDIT_CHANGE_COLUMNS
    for form in export_forms():
        for event, changes in _changes(form, filters, options):
            if event["pgh_label"] == "insert":
                continue
            for column, old, new in changes:
                yield [
                    form.code,
                    str(event["pgh_id"]),
                    _cell(event["_subject"]),
                    str(event["pgh_obj_id"]),
                    column,
                    old,
                    new,
                ]


# --- E-signatures --------------------------------------------------------------------------

SIGNATURE_COLUMNS = [
    "signature_id",
    "subject_id",
    "screening_number",
    "site",
    "signed",
    "record_id",
    "visit_code",
    "meaning",
    "signer",
    "printed_name",
    "signed_at",
    "source_signed_on",
    "state",
    "void_reason",
    "voided_at",
]


def _follow(obj: Any, path: str | None) -> Any:
    """The object at ``path`` (a lookup, "a__b"; "": ``obj`` itself) from ``obj``; None
    without a path or where a link is missing."""
    if path is None:
        return None
    for part in path.split("__") if path else []:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _where(obj: Any) -> tuple[str, Any, Any, Any]:
    """(what was signed, its participant, screening, visit) of a signed object."""
    forms = {form.model: form for form in export_forms()}
    form = forms.get(type(obj))
    if form is not None:
        participant = obj if form.participant_path is None else _follow(obj, form.participant_path)
        screening = _follow(obj, form.screening_path)
        visit = _follow(obj, form.visit_path)
        return form.code, participant, screening, visit
    # An investigator's sign-off of a visit or of the whole casebook.
    participant = getattr(obj, "participant", None)
    kind = getattr(obj, "kind", "")
    label = f"{obj._meta.model_name}_{kind}" if kind else obj._meta.model_name
    return label, participant, None, getattr(obj, "visit", None)


def _wanted(participant, site_code: str, filters: ExportFilters, options: ExportOptions) -> bool:
    if filters.site_codes and site_code not in filters.site_codes:
        return False
    subject = participant.subject_id if participant is not None else None
    if filters.subject_ids and subject not in filters.subject_ids:
        return False
    return not (options.shift_dates and subject is None)


def signatures(filters: ExportFilters, options: ExportOptions) -> Table:
    """Every e-signature, valid or void, with why it is void (``signature_states``)."""
    yield SIGNATURE_COLUMNS
    by_type = Signature.objects.order_by("content_type_id").values_list(
        "content_type_id", "object_id"
    )
    ids: dict[int, set[int]] = {}
    for content_type_id, object_id in by_type:
        ids.setdefault(content_type_id, set()).add(object_id)
    for content_type_id, object_ids in ids.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        objects = stored_records(model).in_bulk(sorted(object_ids))
        for pk in sorted(objects):
            obj = objects[pk]
            signed, participant, screening, visit = _where(obj)
            site = _follow(obj, getattr(model, "site_field", "site"))
            site_code = site.code if site is not None else ""
            if not _wanted(participant, site_code, filters, options):
                continue
            days = options.offsets.get(participant.pk, 0) if options.shift_dates else 0
            for state in signature_states(obj, reload=False):
                signature = state.signature
                yield [
                    str(signature.pk),
                    participant.subject_id if participant is not None else "",
                    screening.number if screening is not None else "",
                    site_code,
                    signed,
                    str(pk),
                    visit.visit_code if visit is not None else "",
                    signature.meaning,
                    signature.signer.username,
                    signature.printed_name,
                    _cell(_shift(signature.signed_at, days)),
                    _cell(_shift(signature.source_signed_on, days)),
                    "valid" if state.valid else "void",
                    shift_dates_in(str(state.reason), days),
                    _cell(_shift(signature.voided_at, days)),
                ]


# --- Data queries --------------------------------------------------------------------------

QUERY_COLUMNS = [
    "query_id",
    "subject_id",
    "screening_number",
    "site",
    "visit_code",
    "form",
    "record_id",
    "field",
    "question",
    "status",
    "edit_check",
    "opened_by",
    "opened_at",
    "answered_at",
    "closed_at",
    "closed_by",
]
QUERY_MESSAGE_COLUMNS = ["query_id", "subject_id", "site", "step", "text", "by", "at"]


def _queries(filters: ExportFilters, options: ExportOptions):
    from monitoring.models import DataQuery

    queries = DataQuery.objects.order_by("pk")
    if filters.site_codes:
        queries = queries.filter(site__code__in=filters.site_codes)
    if filters.subject_ids:
        queries = queries.filter(participant__subject_id__in=filters.subject_ids)
    if options.shift_dates:
        queries = queries.filter(participant__isnull=False)
    return queries


def _offset(participant_id: int | None, options: ExportOptions) -> int:
    return options.offsets.get(participant_id, 0) if options.shift_dates else 0


def queries(filters: ExportFilters, options: ExportOptions) -> Table:
    """Every data query, open, answered or closed, with the record and field it is about."""
    yield QUERY_COLUMNS
    forms = {ContentType.objects.get_for_model(form.model).pk: form for form in export_forms()}
    columns = {
        form.code: {item.name: item.column for item in form.items} for form in forms.values()
    }
    rows = _queries(filters, options).values(
        "pk",
        "participant_id",
        "content_type_id",
        "object_id",
        "field_name",
        "question",
        "status",
        "rule_code",
        "opened_at",
        "answered_at",
        "closed_at",
        subject=F("participant__subject_id"),
        screening_number=F("screening__number"),
        site_code=F("site__code"),
        visit_code=F("visit__visit_code"),
        opener=F("opened_by__username"),
        closer=F("closed_by__username"),
    )
    for query in rows.iterator(chunk_size=CHUNK):
        days = _offset(query["participant_id"], options)
        form = forms.get(query["content_type_id"])
        code = form.code if form else ContentType.objects.get_for_id(query["content_type_id"]).model
        field = query["field_name"]
        yield [
            str(query["pk"]),
            _cell(query["subject"]),
            _cell(query["screening_number"]),
            query["site_code"],
            _cell(query["visit_code"]),
            code,
            str(query["object_id"]),
            columns.get(code, {}).get(field, field),
            shift_dates_in(query["question"], days),
            query["status"],
            query["rule_code"],
            _cell(query["opener"]),
            *(_cell(_shift(query[k], days)) for k in ("opened_at", "answered_at", "closed_at")),
            _cell(query["closer"]),
        ]


def query_messages(filters: ExportFilters, options: ExportOptions) -> Table:
    """Every step of every query's conversation (asked, answered, closed, re-opened)."""
    from monitoring.models import QueryMessage

    yield QUERY_MESSAGE_COLUMNS
    messages = (
        QueryMessage.objects.filter(query__in=_queries(filters, options))
        .order_by("query_id", "created_at", "pk")
        .values(
            "query_id",
            "kind",
            "text",
            "created_at",
            participant=F("query__participant_id"),
            subject=F("query__participant__subject_id"),
            site=F("query__site__code"),
            author_name=F("author__username"),
        )
    )
    for message in messages.iterator(chunk_size=CHUNK):
        days = _offset(message["participant"], options)
        yield [
            str(message["query_id"]),
            _cell(message["subject"]),
            message["site"],
            message["kind"],
            shift_dates_in(message["text"], days),
            _cell(message["author_name"]),
            _cell(_shift(message["created_at"], days)),
        ]


# The history tables of the bundle, by file name, in the order they are written.
TABLES = {
    "audit_trail.csv": audit_trail,
    "audit_changes.csv": audit_changes,
    "signatures.csv": signatures,
    "queries.csv": queries,
    "query_messages.csv": query_messages,
}


# --- The history files in the data dictionary ---------------------------------------------

# (label, type, allowed values) of each column of the history files, by column name.
COLUMN_DESCRIPTIONS: dict[str, tuple[str, str, str]] = {
    "form": ("The form's file (without .csv) the record is in", "text", ""),
    "event_id": ("Audit event number (unique with form)", "integer", ""),
    "subject_id": ("Subject ID; empty for a candidate never enrolled", "text", ""),
    "screening_number": ("Screening number", "text", ""),
    "site": ("Site code", "text", ""),
    "record_id": ("Record identifier (record_id of the form's file)", "integer", ""),
    "action": ("What the event did", "text", "created; changed"),
    "version": ("Version of the record after the event", "integer", ""),
    "changed_at": ("When (UTC)", "datetime", ""),
    "changed_by": ("User name; empty: a change made outside the application", "text", ""),
    "database_role": ("Database role that made the change", "text", ""),
    "reason": ("Reason for change", "text", ""),
    "changed_fields": (
        "Columns whose value the event set or changed, separated by '; '",
        "text",
        "",
    ),
    "field": ("Column of the form's file (empty: the whole record)", "text", ""),
    "old": ("Value before the change, as in the form's file", "text", ""),
    "new": ("Value after the change, as in the form's file", "text", ""),
    "signature_id": ("Signature identifier (Signature ID SIG.<n> in the ODM file)", "integer", ""),
    "signed": ("What was signed: a form's file, or an investigator sign-off", "text", ""),
    "visit_code": ("Visit", "text", ""),
    "meaning": ("What the signature attests", "text", "eligibility; visit; casebook; prescription"),
    "signer": ("User name of the signer", "text", ""),
    "printed_name": ("Signer's printed name", "text", ""),
    "signed_at": ("When signed (UTC)", "datetime", ""),
    "source_signed_on": (
        "Day the paper source was signed (data entered after the fact)",
        "date",
        "",
    ),
    "state": ("Whether the signature still holds", "text", "valid; void"),
    "void_reason": ("Why the signature is void", "text", ""),
    "voided_at": ("When the signature was recorded as void (UTC)", "datetime", ""),
    "query_id": ("Data query identifier", "integer", ""),
    "question": ("The question", "text", ""),
    "status": ("Query status", "text", "open; answered; closed"),
    "edit_check": ("Automatic edit check that opened the query (empty: a person)", "text", ""),
    "opened_by": ("User name of who opened it (empty: an edit check)", "text", ""),
    "opened_at": ("When opened (UTC)", "datetime", ""),
    "answered_at": ("When last answered (UTC)", "datetime", ""),
    "closed_at": ("When closed (UTC)", "datetime", ""),
    "closed_by": ("User name of who closed it", "text", ""),
    "step": ("Step of the conversation", "text", "question; answer; close; reopen"),
    "text": ("What was written", "text", ""),
    "by": ("User name of the writer (empty: an edit check)", "text", ""),
    "at": ("When (UTC)", "datetime", ""),
}
HEADERS = {
    "audit_trail.csv": AUDIT_TRAIL_COLUMNS,
    "audit_changes.csv": AUDIT_CHANGE_COLUMNS,
    "signatures.csv": SIGNATURE_COLUMNS,
    "queries.csv": QUERY_COLUMNS,
    "query_messages.csv": QUERY_MESSAGE_COLUMNS,
}


def dictionary_rows() -> Iterator[list[str]]:
    """The history files' columns as rows of the data dictionary (dictionary.py's order)."""
    for name, header in HEADERS.items():
        for column in header:
            label, kind, allowed = COLUMN_DESCRIPTIONS[column]
            yield [name.removesuffix(".csv"), column, label, kind, "", allowed, "", column]
