"""The data dictionary: every column of every exported form, described."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.postgres.fields import ArrayField
from django.db import models

from crf import essdai
from exports import history
from exports.registry import ExportForm, Item, export_forms
from exports.rows import Column, ExportOptions, export_columns

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

# The unit of every measured field, declared here (never guessed from its label), by model.
# A lab value's unit depends on its test: see ROW_UNITS.
FIELD_UNITS: dict[str, dict[str, str]] = {
    "eligibility.Screening": {
        "schirmer_mm_5min": "mm/5 min",
        "focus_score_per_4mm2": "foci/4 mm²",
        "unstimulated_saliva_ml_15min": "mL/15 min",
        "gum_test_ml_10min": "mL/10 min",
        "saxon_test_g_2min": "g/2 min",
    },
    "dosing.Prescription": {
        "weight_kg": "kg",
        "height_cm": "cm",
        "bsa_m2": "m²",
        "proposed_dose_mg": "mg",
        "prescribed_dose_mg": "mg",
    },
    "dosing.Infusion": {
        "weight_kg": "kg",
        "height_cm": "cm",
        "bsa_m2": "m²",
        "proposed_dose_mg": "mg",
        "prescribed_dose_mg": "mg",
        "administered_dose_mg": "mg",
    },
    "dosing.BCellResult": {
        "cd19_percent": "%",
        "cd19_absolute": "×10⁶/L",
        "lymphocytes_10e9_l": "×10⁹/L",
    },
    "crf.GlandFunction": {
        "schirmer_mm_5min": "mm/5 min",
        "unstimulated_saliva_ml_15min": "mL/15 min",
    },
    "crf.Vitals": {
        "weight_kg": "kg",
        "height_cm": "cm",
        "temperature_c": "°C",
        "heart_rate_bpm": "/min",
        "respiratory_rate": "/min",
        "systolic_mmhg": "mmHg",
        "diastolic_mmhg": "mmHg",
    },
}
# Fields whose unit is given row by row: {model: {field: (column with the unit, test column)}}.
# The canonical unit of the row's test is exported in that column (computed, registry.py).
ROW_UNITS: dict[str, dict[str, str]] = {
    "dosing.LabResult": {"value": "value_unit"},
    "eligibility.ScreeningLab": {"value": "value_unit"},
}
# Numbers that have no unit (scores, counts, codes) or whose unit is another column of the
# row (as entered): declared so that a new measured field cannot go out without its unit.
UNITLESS: dict[str, set[str]] = {
    "eligibility.Screening": {"sequence", "van_bijsterveld_score", "sialography_stage"},
    "eligibility.ScreeningLab": {"value_entered"},  # unit_entered
    "enrollment.Consent": {"form_version"},
    "enrollment.Participant": {"sequence"},
    "dosing.Infusion": {"prescription", "number", "reaction_grade"},
    "dosing.BCellResult": {"cd19_absolute_entered"},  # cd19_absolute_unit
    "dosing.LabResult": {"value_entered"},  # unit_entered
    "crf.EssdaiAssessment": set(essdai.DOMAIN_CODES),  # activity levels 0-3
    "crf.EsspriAssessment": {"dryness", "fatigue", "pain"},  # 0-10 scales
    "crf.PhysicianGlobal": {"score"},  # 0-10 scale
    "crf.AdverseEvent": {"grade", "current_grade", "worst_grade"},  # CTCAE grades
    "crf.AdverseEventUpdate": {"adverse_event", "grade"},
    "crf.ConcomitantMedication": {"dose"},  # dose_unit
}


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
    """The declared unit of a field ("" when it has none, or one per row: ``row_unit_of``)."""
    return FIELD_UNITS.get(item.field.model._meta.label, {}).get(item.name, "")


def row_unit_column(item: Item) -> str | None:
    """The column that holds this field's unit row by row (lab values), if any."""
    return ROW_UNITS.get(item.field.model._meta.label, {}).get(item.name)


def canonical_lab_unit(analyte: str) -> str:
    """The symbol of the canonical unit a lab test is stored in, e.g. "×10⁹/L"."""
    from trialsite import units

    try:
        unit = units.get_analyte(analyte).canonical_unit
    except units.UnitError:
        return ""
    # Symbols are plain strings; a label with words in it (translatable) gives its key.
    return unit.label if isinstance(unit.label, str) else unit.key


def lab_units() -> list[str]:
    """Every canonical lab unit (the MeasurementUnits a lab value can have)."""
    from trialsite import units

    return sorted({canonical_lab_unit(code) for code in units.ANALYTES})


def unit_text(item: Item) -> str:
    """The unit as the dictionary states it (a per-row unit names its column)."""
    column = row_unit_column(item)
    return f"see {column}" if column else unit_of(item)


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


DICTIONARY_HEADER = [
    "form",
    "field",
    "label",
    "type",
    "unit",
    "allowed_values",
    "derivation",
    "full_name",
]


def _column_row(form: ExportForm, column: Column) -> list[str]:
    """What the dictionary says of one column (before its form code and name)."""
    if column.item is not None:
        item = column.item
        return [
            item.label,
            data_type(item.field),
            unit_text(item),
            allowed_values(item),
            derivation(form, item),
            item.name,
        ]
    if column.option_of is not None:
        item = column.option_of
        label = dict(item.options)[column.option]
        return [
            f"Selected: {label}",
            "integer",
            "",
            "1=Selected; 0=Not selected; empty = question not answered",
            f"option {column.option} of the multi-choice question {item.name} ({item.label})",
            column.key,
        ]
    if column.label_of is not None:
        item = column.label_of
        return [f"{item.label} (label)", "text", "", "", f"label of {item.column}", column.key]
    if column.computed is not None:
        computed = column.computed
        return [
            str(computed.label),
            computed.data_type,
            "",
            "",
            computed.derivation,
            computed.name,
        ]
    label, kind = (KEY_DESCRIPTIONS | TRAILER_DESCRIPTIONS)[column.key]
    return [label, kind, "", "", "", column.key]


def dictionary_rows(options: ExportOptions) -> Iterator[list[str]]:
    """The data dictionary: one row per column of every CSV file, in the files' order;
    ``full_name`` is the field's name in the application and the ODM file where the CSV
    column name is shorter."""
    yield DICTIONARY_HEADER
    for form in export_forms():
        for column in export_columns(form, options):
            yield [form.code, column.name, *_column_row(form, column)]
    yield from history.dictionary_rows()
