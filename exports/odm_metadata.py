"""What the ODM file's metadata says beyond the data dictionary (issue 18): units with their
UCUM codes, the unit of each value, range checks from the reference ranges, the schedule of
assessments (which forms each study event has), which items a form requires, and the full
question text of each item in English and Chinese.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from django.utils import translation

from exports.dictionary import canonical_lab_unit, lab_units, row_unit_column, unit_of
from exports.registry import ExportForm, Item
from trialsite import protocol

# The UCUM code (https://ucum.org) of every unit the export writes, by the symbol people
# read (the MeasurementUnit's Name). A unit missing here gets no MeasurementUnitRef:
# tests/test_exports_odm.py fails on a declared unit without its code.
UCUM: dict[str, str] = {
    "×10⁹/L": "10*9/L",
    "×10⁶/L": "10*6/L",
    "/µL": "/uL",
    "cells/µL": "{cells}/uL",
    "cells/uL": "{cells}/uL",
    "µmol/L": "umol/L",
    "mL/min/1.73 m²": "mL/min/{1.73_m2}",
    "g/L": "g/L",
    "g/dL": "g/dL",
    "mg/dL": "mg/dL",
    "mg/L": "mg/L",
    "mm/h": "mm/h",
    "IU/mL": "[IU]/mL",
    "%": "%",
    "cm": "cm",
    "kg": "kg",
    "m²": "m2",
    "mg": "mg",
    "g": "g",
    "µg": "ug",
    "IU": "[IU]",
    "mL": "mL",
    "°C": "Cel",
    "/min": "/min",
    "mmHg": "mm[Hg]",
    "mm/5 min": "mm/(5.min)",
    "foci/4 mm²": "{foci}/(4.mm2)",
    "mL/15 min": "mL/(15.min)",
    "mL/10 min": "mL/(10.min)",
    "g/2 min": "g/(2.min)",
}

# Values entered in a unit chosen row by row: {model: {field: the column holding its unit}}.
ENTERED_UNITS: dict[str, dict[str, str]] = {
    "dosing.LabResult": {"value_entered": "unit_entered"},
    "eligibility.ScreeningLab": {"value_entered": "unit_entered"},
    "dosing.BCellResult": {"cd19_absolute_entered": "cd19_absolute_unit"},
    "crf.ConcomitantMedication": {"dose": "dose_unit"},
}


@cache
def _unit_names() -> dict[str, str]:
    """The symbol of every unit key a row can hold ("10^9/L" -> "×10⁹/L")."""
    from crf.models import DoseUnit
    from dosing.engine.facts import AbsoluteCountUnit
    from trialsite import units

    names = {unit.key: str(unit.label) for a in units.ANALYTES.values() for unit in a.units}
    for choices in (DoseUnit, AbsoluteCountUnit):
        names |= {key: str(label) for key, label in choices.choices}
    return {key: name for key, name in names.items() if name in UCUM}


def entered_unit_column(item: Item) -> str | None:
    return ENTERED_UNITS.get(item.field.model._meta.label, {}).get(item.name)


def item_units(item: Item) -> list[str]:
    """The MeasurementUnits (by symbol) an item's values can have."""
    if row_unit_column(item):
        return lab_units()
    if entered_unit_column(item):
        with translation.override("en"):
            return sorted(set(_unit_names().values()))
    unit = unit_of(item)
    return [unit] if unit in UCUM else []


def value_unit(item: Item, row: dict[str, str]) -> str | None:
    """The unit (symbol) of this item's value in ``row``, or None."""
    if column := row_unit_column(item):
        return row.get(column) or None
    if column := entered_unit_column(item):
        with translation.override("en"):
            return _unit_names().get(row.get(column, ""))
    unit = unit_of(item)
    return unit if unit in UCUM else None


# --- Range checks -------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """One test's reference limits in its canonical unit (None: no limit that side)."""

    analyte: str
    unit: str
    lower: Decimal | None
    upper: Decimal | None


def lab_limits() -> list[Limits]:
    """The reference ranges as the ODM's soft range checks state them.

    The one adapter from ``trialsite.reference_ranges``: where a test has several ranges
    (age or sex bands), give here the widest (lowest lower, highest upper)."""
    from trialsite.reference_ranges import reference_table

    return [
        Limits(code, canonical_lab_unit(code), reference.lower, reference.upper)
        for code, reference in sorted(reference_table().items())
    ]


# Fields of their own holding a lab test's value in its canonical unit.
LAB_FIELDS: dict[str, dict[str, str]] = {
    "dosing.BCellResult": {
        "cd19_percent": "cd19_percent",
        "cd19_absolute": "cd19_absolute",
        "lymphocytes_10e9_l": "lymphocytes",
    },
}


def range_checks(item: Item) -> Iterator[tuple[str, Limits, str | None]]:
    """(comparator, limits, analyte condition) of each soft range check of ``item``: on a
    lab value field, one per test and side (the condition names the row's test)."""
    own = LAB_FIELDS.get(item.field.model._meta.label, {}).get(item.name)
    per_row = row_unit_column(item) is not None
    if own is None and not per_row:
        return
    for limits in lab_limits():
        if not per_row and limits.analyte != own:
            continue
        condition = limits.analyte if per_row else None
        if limits.lower is not None:
            yield "GE", limits, condition
        if limits.upper is not None:
            yield "LE", limits, condition


# --- Schedule of assessments and required items -----------------------------------------

# The form of each CRF kind a visit expects (crf.expected.CrfKind).
CRF_KIND_FORMS = {
    "vitals": "crf_vitals",
    "essdai": "crf_essdaiassessment",
    "esspri": "crf_esspriassessment",
    "physician_global": "crf_physicianglobal",
    "glands": "crf_glandfunction",
    "labs": "dosing_labresult",
    "b_cells": "dosing_bcellresult",
    "safety_review": "crf_safetyreview",
}
_INFUSION_FORMS = ("dosing_infusion",)


def event_forms(event_code: str, forms: tuple[ExportForm, ...]) -> list[tuple[ExportForm, bool]]:
    """(form, mandatory) of each form study event ``event_code`` can have: the protocol's
    schedule of assessments (crf.expected) plus the visit record, its deviations and
    events not done; the screening, enrolment and log events by app."""
    from crf.expected import expected_crfs, offered_crfs

    by_code = {form.code: form for form in forms}
    kind_forms = set(CRF_KIND_FORMS.values())
    if event_code == "SCREENING":
        return [(f, f.code == "eligibility_screening") for f in forms if _app(f) == "eligibility"]
    if event_code == "ENROLMENT":
        return [(f, f.code == "enrollment_participant") for f in forms if _app(f) == "enrollment"]
    if event_code == "LOGS":
        return [(f, False) for f in forms if _in_logs(f)]
    # The unscheduled event stands for every unscheduled visit (UNS1, UNS2…).
    unscheduled = event_code == protocol.UNSCHEDULED_VISIT_PREFIX
    visit_code = f"{event_code}1" if unscheduled else event_code
    expected = {CRF_KIND_FORMS[kind] for kind in expected_crfs(visit_code)}
    offered = [CRF_KIND_FORMS[kind] for kind in offered_crfs(visit_code)]
    # Forms of any visit: tied to it (events not done) or naming it (deviations).
    common = [f.code for f in forms if _of_a_visit(f) and f.code not in kind_forms]
    if not event_code.startswith(
        (protocol.RITUXIMAB_VISIT_PREFIX, protocol.BELIMUMAB_VISIT_PREFIX)
    ):
        common = [code for code in common if code not in _INFUSION_FORMS]
    codes = ["dosing_visit", *common, *offered]
    seen: dict[str, bool] = {}
    for code in codes:
        seen.setdefault(code, code == "dosing_visit" or code in expected)
    return [(by_code[code], mandatory) for code, mandatory in seen.items() if code in by_code]


def _of_a_visit(form: ExportForm) -> bool:
    own_code = not form.is_visit_model and any(i.name == "visit_code" for i in form.items)
    return bool(form.visit_path) or own_code


def _app(form: ExportForm) -> str:
    return form.model._meta.app_label


def _in_logs(form: ExportForm) -> bool:
    """Forms whose rows need not belong to a visit: the logs, and visit forms whose visit
    link may be empty (labs and B cells sent by the laboratory)."""
    if _app(form) not in ("dosing", "crf") or form.is_visit_model:
        return False
    if not form.visit_path:
        return True
    return form.model._meta.get_field(form.visit_path.split("__")[0]).null


def is_mandatory(item: Item) -> bool:
    """Whether the form requires the item: the form field Django builds from the model
    field is required (not blank; booleans never are), and people enter it."""
    if not item.field.editable:
        return False
    field = item.field.formfield()
    return bool(field is not None and field.required)


# --- Question texts ---------------------------------------------------------------


def question(form: ExportForm, item: Item) -> str:
    """The question as the form asks it, in the active language: "Laboratory result: test
    (…help…)": the form's name, the field's label and, where the form has one, its help."""
    label = str(item.field.verbose_name)
    text = f"{form.model._meta.verbose_name}: {label}"
    text = text[:1].upper() + text[1:]
    if item.field.help_text:
        text += f" ({item.field.help_text})"
    return text


def translations(make: object) -> list[tuple[str, str]]:
    """(xml:lang, text) in English and Simplified Chinese of ``make()``."""
    texts = []
    for django_language, xml_language in (("en", "en"), ("zh-hans", "zh-Hans")):
        with translation.override(django_language):
            texts.append((xml_language, str(make())))  # type: ignore[operator]
    return texts
