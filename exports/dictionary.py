"""The data dictionary: every column of every exported form, described."""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.contrib.postgres.fields import ArrayField
from django.db import models

from exports.registry import ExportForm, Item, export_forms
from exports.rows import ExportOptions, exported_items

KEY_DESCRIPTIONS = {
    "subject_id": ("Subject ID (<SITE>-<nnn>); empty for a candidate never enrolled", "text"),
    "screening_number": ("Screening number (<SITE>-S<nnn>)", "text"),
    "site": ("Site code", "text"),
    "visit_code": (
        "Visit: BASELINE, RTXn, BELn, W12, W28, UNSn; empty if not tied to a visit",
        "text",
    ),
    "visit_date": ("Date of the visit", "date"),
    "record_id": ("Record identifier (stable across exports)", "integer"),
}
TRAILER_DESCRIPTIONS = {
    "record_status": ("active, or voided (never deleted; see void_reason)", "text"),
    "void_reason": ("Why the record was voided", "text"),
    "version": ("Number of saved versions of the record", "integer"),
    "last_changed_at": ("When the record was last changed (UTC)", "datetime"),
}

_UNIT = re.compile(r"\(([^()]*(?:/|%|mg|kg|cm|mm|g|mL|×)[^()]*)\)\s*$")


def data_type(field: models.Field) -> str:
    """ODM-style data type of a model field."""
    if isinstance(field, ArrayField):
        return "text"
    if isinstance(field, models.BooleanField):
        return "boolean"
    if isinstance(field, models.DateTimeField):
        return "datetime"
    if isinstance(field, models.DateField):
        return "date"
    if isinstance(field, models.TimeField):
        return "time"
    if isinstance(field, models.DecimalField | models.FloatField):
        return "float"
    if isinstance(field, models.IntegerField | models.ForeignKey):
        return (
            "integer"
            if not (
                isinstance(field, models.ForeignKey)
                and field.related_model._meta.label == "trialsite.User"
            )
            else "text"
        )
    return "text"


def unit_of(item: Item) -> str:
    """The unit written in the field's label, e.g. "weight (kg)" -> "kg"."""
    match = _UNIT.search(str(item.field.verbose_name))
    return match.group(1) if match else ""


def derivation(form: ExportForm, item: Item) -> str:
    texts = getattr(form.model, "export_derivations", {})
    if item.name in texts:
        return str(texts[item.name])
    if not item.field.editable:
        return "computed by the application, not entered"
    return ""


def allowed_values(item: Item) -> str:
    if item.choices:
        return "; ".join(f"{code}={label}" for code, label in item.choices)
    if isinstance(item.field, models.BooleanField):
        return "true; false; empty = not known"
    if isinstance(item.field, models.ForeignKey):
        if item.field.related_model._meta.label == "trialsite.User":
            return "user name"
        return f"identifier of a {item.field.related_model._meta.verbose_name}"
    return ""


def dictionary_rows(options: ExportOptions) -> Iterator[list[str]]:
    yield ["form", "field", "label", "type", "unit", "allowed_values", "derivation"]
    for form in export_forms():
        for name, (label, kind) in KEY_DESCRIPTIONS.items():
            yield [form.code, name, label, kind, "", "", ""]
        for item in exported_items(form, options):
            yield [
                form.code,
                item.name,
                item.label,
                data_type(item.field),
                unit_of(item),
                allowed_values(item),
                derivation(form, item),
            ]
            if options.labels and item.choices:
                yield [
                    form.code,
                    f"{item.name}_label",
                    f"{item.label} (label)",
                    "text",
                    "",
                    "",
                    f"label of {item.name}",
                ]
        for computed in form.computed:
            yield [
                form.code,
                computed.name,
                str(computed.label),
                "text",
                "",
                "",
                computed.derivation,
            ]
        for name, (label, kind) in TRAILER_DESCRIPTIONS.items():
            yield [form.code, name, label, kind, "", "", ""]
