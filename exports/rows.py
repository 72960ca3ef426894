"""Rows of each exported form, streamed with server-side cursors.

One query per form (joins for subject, site and visit; no N+1), read with
``.iterator()`` so memory stays flat however many rows there are.  Values are
plain strings as they go into CSV cells and ODM ``ItemData/@Value``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Case, F, Func, OuterRef, Q, QuerySet, Subquery, TextField, Value, When
from django.db.models.functions import Coalesce

from exports.registry import KEY_COLUMNS, TRAILER_COLUMNS, Computed, ExportForm, Item
from trialsite.units import format_decimal

CHUNK = 2000


@dataclass(frozen=True)
class ExportFilters:
    site_codes: tuple[str, ...] = ()
    subject_ids: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "sites": list(self.site_codes),
            "participants": list(self.subject_ids),
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }


@dataclass(frozen=True)
class ExportOptions:
    labels: bool = False  # add a <field>_label column beside each coded field
    drop_date_of_birth: bool = False
    shift_dates: bool = False  # de-identified: per-participant secret offsets
    offsets: dict[int, int] = field(default_factory=dict)  # participant pk -> days
    # CSV files for Excel: UTF-8 with a byte order mark, without which Excel reads them as
    # the system's code page (×10⁹/L shows as Ã—10â¹/L).
    excel: bool = False
    # ODM: every audited change as a transaction (Insert, Update, Remove), not the latest.
    full_history: bool = False

    def as_json(self) -> dict[str, bool]:
        return {
            "labels": self.labels,
            "drop_date_of_birth": self.drop_date_of_birth,
            "shift_dates": self.shift_dates,
            "excel": self.excel,
            "full_history": self.full_history,
        }


def exported_items(form: ExportForm, options: ExportOptions) -> tuple[Item, ...]:
    if options.drop_date_of_birth:
        return tuple(item for item in form.items if item.name != "date_of_birth")
    return form.items


@dataclass(frozen=True)
class Column:
    """One column of a form's CSV file."""

    key: str  # its key in a row of ``rows``
    name: str  # its header: unique in the file, at most 32 characters (registry.py)
    item: Item | None = None  # the form's field it holds
    label_of: Item | None = None  # the coded field whose labels it holds
    computed: Computed | None = None
    option_of: Item | None = None  # the multi-choice field one of whose options it holds
    option: str = ""  # that option's code: the column is 1 if it was chosen, 0 if not


def option_key(item: Item, code: str) -> str:
    """The key, in a row of ``rows``, of a multi-choice field's 0/1 column for ``code``."""
    return f"{item.name}__{code}"


def export_columns(form: ExportForm, options: ExportOptions) -> list[Column]:
    """The columns of ``form``'s CSV file, in order: keys, fields, computed, bookkeeping."""
    cols = [Column(name, name) for name in KEY_COLUMNS]
    for item in exported_items(form, options):
        # A field named as a key column (a visit's own visit_code, a participant's
        # subject_id) is that key column: ``rows`` fills the key with the field's value.
        if item.options:
            # Multi-choice: one 0/1 column per option (labelled in the dictionary), never
            # the codes joined in one cell, which no statistics package reads.
            cols += [
                Column(
                    option_key(item, code), item.option_column(code), option_of=item, option=code
                )
                for code, _label in item.options
            ]
            continue
        if item.name not in KEY_COLUMNS:
            cols.append(Column(item.name, item.column, item=item))
        if options.labels and item.choices:
            cols.append(Column(f"{item.name}_label", f"{item.column}_label", label_of=item))
    cols += [Column(computed.name, computed.name, computed=computed) for computed in form.computed]
    return cols + [Column(name, name) for name in TRAILER_COLUMNS]


def columns(form: ExportForm, options: ExportOptions) -> list[str]:
    """The header of ``form``'s CSV file."""
    return [column.name for column in export_columns(form, options)]


def base_queryset(form: ExportForm, filters: ExportFilters, options: ExportOptions) -> QuerySet:
    model = form.model
    qs = model._default_manager.all()
    site = F(f"{model.site_field}__code")
    if filters.site_codes:
        qs = qs.filter(**{f"{model.site_field}__code__in": filters.site_codes})
    subject = form.lookup(form.participant_path, "subject_id")
    if filters.subject_ids:
        qs = qs.filter(**{f"{subject}__in": filters.subject_ids})
    if options.shift_dates:
        # A de-identified export holds trial participants only.
        qs = qs.filter(**{f"{subject}__isnull": False})
    if form.date_field and (filters.date_from or filters.date_to):
        condition = Q()
        if filters.date_from:
            condition &= Q(**{f"{form.date_field}__gte": filters.date_from})
        if filters.date_to:
            condition &= Q(**{f"{form.date_field}__lte": filters.date_to})
        qs = qs.filter(condition)
    annotations: dict[str, Any] = {
        "_subject": F(subject),
        "_participant": F(form.lookup(form.participant_path, "pk")),
        "_site": site,
    }
    if form.screening_path is not None:
        annotations["_screening"] = F(form.lookup(form.screening_path, "number"))
    if form.is_visit_model:
        annotations["_visit_code"], annotations["_visit_date"] = F("visit_code"), F("visit_date")
    elif form.visit_path:
        annotations["_visit_code"] = F(f"{form.visit_path}__visit_code")
        annotations["_visit_date"] = F(f"{form.visit_path}__visit_date")
    elif dated_by_visit_code(form):
        annotations["_visit_date"] = _visit_date_of_code(form)
    lookups = [item.lookup for item in form.items]
    lookups += [lookup for computed in form.computed for lookup in computed.needs]
    order = [F("_subject").asc(nulls_last=True), "_site"]
    if form.date_field:
        order.append(form.date_field)
    return (
        qs.annotate(**annotations)
        .values("pk", "voided_at", "void_reason", "version", "updated_at", *lookups, *annotations)
        .order_by(*order, "pk")
    )


def dated_by_visit_code(form: ExportForm) -> bool:
    """A form tied to a visit by its own visit code, not by a link (a protocol deviation)."""
    return (
        not form.is_visit_model
        and not form.visit_path
        and form.participant_path is not None
        and any(item.name == "visit_code" for item in form.items)
    )


def _visit_date_of_code(form: ExportForm) -> Coalesce:
    """The date of the participant's visit of the row's visit code; for an event with no
    visit (a missed visit) the form's own date: every deviation row has its visit date."""
    from dosing.models import Visit

    visit = Visit.objects.active().filter(
        participant=OuterRef(form.lookup(form.participant_path, "pk")),
        visit_code=OuterRef("visit_code"),
    )
    own = F(form.date_field) if form.date_field else Value(None)
    return Coalesce(Subquery(visit.values("visit_date")[:1]), own, output_field=models.DateField())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "|".join(str(v) for v in value)
    return str(value)


def _option_cell(chosen: list | None, code: str) -> str:
    """A multi-choice option's cell: "1" chosen, "0" not, empty when the question has no
    answer (a null list: not answered; an empty list: none of the options)."""
    if chosen is None:
        return ""
    return "1" if code in (str(value) for value in chosen) else "0"


# --- Spreadsheet safety (issue 16: CSV formula injection) --------------------------------
#
# A spreadsheet opening a CSV runs a cell that starts with "=", "+", "-" or "@" (or a tab or
# CR) as a formula: ``=cmd|' /C calc'!A0`` in an AE description. The CSV bundle neutralises
# such a cell with a leading single quote (OWASP's rule), unless it is a plain number (-1.5
# stays a number). Only the CSV does this: ODM keeps the raw values.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?[0-9]+(\.[0-9]+)?")


def spreadsheet_safe(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows as text and never runs as a formula."""
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


# The same rule in SQL, for the CSV PostgreSQL writes (``copy_query``): byte for byte what
# ``spreadsheet_safe`` gives (tests/test_exports_csv.py).
_SPREADSHEET_SAFE_SQL = (
    r"CASE WHEN %(expressions)s ~ '^[-=+@\t\r]'"
    r" AND %(expressions)s !~ '^[-+]?[0-9]+(\.[0-9]+)?$'"
    " THEN '''' || %(expressions)s ELSE %(expressions)s END"
)


def _shift(value: Any, days: int) -> Any:
    if isinstance(value, dt.date | dt.datetime) and value is not None:
        return value + dt.timedelta(days=days)
    return value


_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def shift_dates_in(text: str, days: int) -> str:
    """Shift the ISO dates written in a text: the services write dates into reasons and
    notes ("First rituximab infusion given on 2026-04-26"), a de-identified export must not
    carry them."""

    if not days or not text:
        return text

    def shifted(match: re.Match) -> str:
        try:
            return (dt.date.fromisoformat(match.group(0)) + dt.timedelta(days=days)).isoformat()
        except ValueError:
            return match.group(0)

    return _ISO_DATE.sub(shifted, text)


def rows(
    form: ExportForm, filters: ExportFilters, options: ExportOptions
) -> Iterator[dict[str, str]]:
    """Each row of ``form`` as {column: text}, in subject and date order."""
    items = exported_items(form, options)
    labels = {item.name: dict(item.choices) for item in items if item.choices}
    for record in base_queryset(form, filters, options).iterator(chunk_size=CHUNK):
        days = options.offsets.get(record["_participant"], 0) if options.shift_dates else 0
        row = {
            "subject_id": _cell(record["_subject"]),
            "screening_number": _cell(record.get("_screening")),
            "site": record["_site"],
            "visit_code": _cell(record.get("_visit_code")),
            "visit_date": _cell(_shift(record.get("_visit_date"), days)),
            "record_id": str(record["pk"]),
        }
        for item in items:
            value = record[item.lookup]
            if item.is_date:
                value = _shift(value, days)
            elif days and isinstance(value, str):
                value = shift_dates_in(value, days)
            row[item.name] = _cell(value)  # the ODM file's value (codes joined by "|")
            for code, _label in item.options:
                row[option_key(item, code)] = _option_cell(value, code)
            if options.labels and item.name in labels:
                codes = value if isinstance(value, list) else [value]
                row[f"{item.name}_label"] = "|".join(
                    str(labels[item.name].get(code, code)) for code in codes if code is not None
                )
        values = {item.name: record[item.lookup] for item in form.items}
        values |= {
            lookup: record[lookup] for computed in form.computed for lookup in computed.needs
        }
        for computed in form.computed:
            try:
                row[computed.name] = _cell(computed.compute(values))
            except (ValueError, TypeError, KeyError):
                row[computed.name] = ""  # incomplete record: nothing to compute
        row["record_status"] = "voided" if record["voided_at"] else "active"
        row["void_reason"] = shift_dates_in(record["void_reason"], days)
        row["version"] = str(record["version"])
        row["last_changed_at"] = _cell(_shift(record["updated_at"], days))
        yield row


# --- The same rows as PostgreSQL's CSV ---------------------------------------------------
#
# The CSV bundle of a large trial spends most of its time turning values into text in
# Python (``rows`` above).  For the forms whose every column PostgreSQL can write exactly
# as ``_cell`` does, the bundle asks PostgreSQL for the CSV itself (``COPY ... TO STDOUT
# WITH CSV``) and streams it into the zip (issue 10).  ``tests/test_exports.py`` checks,
# form by form, that both ways give the same bytes.


def _sql(template: str, expression: Any) -> Func:
    return Func(expression, template=template, output_field=TextField())


# ``_cell`` in SQL, by model field class; "%(expressions)s" is the column.  Empty texts
# become NULL, which COPY writes as an empty unquoted field, as csv.writer writes "".
_UTC = "(%(expressions)s AT TIME ZONE 'UTC')"
_MICROSECONDS = "mod(extract(microseconds FROM %(expressions)s)::bigint, 1000000) <> 0"
_SQL_TEXT: tuple[tuple[type[models.Field], str], ...] = (
    (
        models.BooleanField,
        "CASE WHEN %(expressions)s THEN 'true' WHEN NOT %(expressions)s THEN 'false' END",
    ),
    (models.DecimalField, "trim_scale(%(expressions)s)::text"),
    (
        models.DateTimeField,  # before DateField, its parent class
        f"to_char({_UTC}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN {_MICROSECONDS} THEN to_char({_UTC}, '.US') ELSE '' END || 'Z'",
    ),
    (models.DateField, "to_char(%(expressions)s, 'YYYY-MM-DD')"),
    (
        models.TimeField,
        "to_char(DATE '2000-01-01' + %(expressions)s, 'HH24:MI:SS') || CASE WHEN "
        f"{_MICROSECONDS} THEN to_char(DATE '2000-01-01' + %(expressions)s, '.US') ELSE '' END",
    ),
    (models.CharField, "NULLIF(%(expressions)s, '')"),
    (models.TextField, "NULLIF(%(expressions)s, '')"),
    (models.IntegerField, "%(expressions)s::text"),  # small, big, positive, auto
    (models.ForeignKey, "%(expressions)s::text"),  # the key (``attname``)
)
_SQL_TEXT_OF = dict(_SQL_TEXT)


def _sql_text(field: models.Field, expression: Any) -> Func | None:
    """``expression`` (a column of ``field``) as the text ``_cell`` writes; None if unknown."""
    if isinstance(field, ArrayField):
        # "|".join(str(code)) of texts and integers; other element types stay in Python.
        if not isinstance(field.base_field, models.CharField | models.IntegerField):
            return None
        return _sql("NULLIF(array_to_string(%(expressions)s, '|'), '')", expression)
    for field_class, template in _SQL_TEXT:
        if isinstance(field, field_class):
            return _sql(template, expression)
    return None


def _item_field(item: Item) -> models.Field:
    if item.lookup.endswith("__username"):
        return item.field.related_model._meta.get_field("username")
    return item.field


def copy_query(
    form: ExportForm, filters: ExportFilters, options: ExportOptions
) -> tuple[str, tuple] | None:
    """The SELECT whose CSV is ``rows(form, ...)`` written by csv.writer, without header.

    None when the form or the options need Python: labels, shifted dates, a computed
    column without an SQL form (``Computed.sql``), a field type PostgreSQL cannot write
    as ``_cell`` does (the screening's JSON list of missing items).
    """
    if options.labels or options.shift_dates:
        return None
    items: dict[str, Any] = {}
    none = Value(None, output_field=TextField())
    for item in exported_items(form, options):
        if item.options:
            for code, _label in item.options:
                items[option_key(item, code)] = Case(
                    When(**{f"{item.lookup}__isnull": True}, then=none),
                    When(**{f"{item.lookup}__contains": [code]}, then=Value("1")),
                    default=Value("0"),
                    output_field=TextField(),
                )
            continue
        field = _item_field(item)
        expression = _sql_text(field, F(item.lookup))
        if expression is None:
            return None
        # Only text can start like a formula: numbers, dates and booleans never do.
        if isinstance(field, ArrayField | models.CharField | models.TextField):
            expression = _sql(_SPREADSHEET_SAFE_SQL, expression)
        items[item.name] = expression
    char, date = _SQL_TEXT_OF[models.CharField], _SQL_TEXT_OF[models.DateField]
    has_visit = form.is_visit_model or form.visit_path or dated_by_visit_code(form)
    has_screening = form.screening_path is not None
    keys = {
        "subject_id": _sql(char, F("_subject")),
        "screening_number": _sql(char, F("_screening")) if has_screening else none,
        "site": F("_site"),
        "visit_code": _sql(char, F("_visit_code")) if has_visit else none,
        "visit_date": _sql(date, F("_visit_date")) if has_visit else none,
        "record_id": _sql(_SQL_TEXT_OF[models.IntegerField], F("pk")),
    }
    # ``rows`` fills a key column with the form's own field of that name where it has one
    # (a deviation's visit_code): the same here.
    text: list[Any] = [items.get(name, expression) for name, expression in keys.items()]
    text += [expression for name, expression in items.items() if name not in keys]
    for computed in form.computed:
        if computed.sql is None:
            return None
        text.append(computed.sql())
    text += [
        Case(
            When(voided_at__isnull=True, then=Value("active")),
            default=Value("voided"),
            output_field=TextField(),
        ),
        _sql(_SPREADSHEET_SAFE_SQL, _sql(_SQL_TEXT_OF[models.TextField], F("void_reason"))),
        _sql(_SQL_TEXT_OF[models.IntegerField], F("version")),
        _sql(_SQL_TEXT_OF[models.DateTimeField], F("updated_at")),
    ]
    assert len(text) == len(columns(form, options)), form.code  # one expression per column
    queryset = base_queryset(form, filters, options).values(
        **{f"c{index}": expression for index, expression in enumerate(text)}
    )
    return queryset.query.sql_with_params()
