"""Where a clinical record sits, what its data fields are, and where it is shown and edited.

Queries, verifications, locks and sign-offs are about records of any ``ClinicalRecord``
model; this module is the one place that knows how to get from a record to its
participant, visit, site and "form", from the core's discovery of the clinical models
(``trialsite.records``), so a CRF added later needs no change here.

* ``position(record)``: the few ids the save path needs (lock check, clearing), in at most
  one query;
* ``describe(record)``: a label and the display and edit pages, for the monitoring pages;
* ``data_fields(model)`` and ``value_text(record, field)``: the values a verification or a
  signature is bound to, written the same way whether the record was just saved or read back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext as _

from trialsite.models import ClinicalRecord
from trialsite.units import format_decimal

# Bookkeeping is not data: a verification or a signature never covers it.
_NOT_DATA = {
    "id",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "version",
    "voided_at",
    "voided_by",
    "void_reason",
    # "I have checked this value" (trialsite/plausibility.py): the entering person's
    # statement about a typing error, kept in the audit trail, not source data; outside
    # the payload, signatures given before it existed still verify.
    "value_checked",
    "values_checked",
}
# Links that place the record rather than describe it.
_PLACING = {"participant", "visit", "screening", "adverse_event", "site"}


@cache
def data_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The stored data fields of a clinical model, in definition order."""
    return tuple(
        field
        for field in model._meta.concrete_fields
        if field.name not in _NOT_DATA and field.name not in _PLACING
    )


def data_field(model: type[models.Model], name: str) -> models.Field | None:
    return next((f for f in data_fields(model) if f.name == name), None)


def value_text(record: models.Model, field: models.Field) -> str:
    """The stored value as canonical text (what hashes are computed over).

    Decimals are rounded to the column's places as PostgreSQL stores them, so a value
    just assigned in memory reads the same as the one read back from the database.
    """
    value = getattr(record, field.attname)
    return canonical(value, field)


def canonical(value: Any, field: models.Field | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        places = getattr(field, "decimal_places", None)
        if places is not None and value.is_finite():
            value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return format_decimal(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "|".join(canonical(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def display_value(record: models.Model, field: models.Field) -> str:
    """The value as people read it (choices by their label)."""
    value = getattr(record, field.attname)
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    base = getattr(field, "base_field", None)
    if isinstance(value, list) and base is not None and base.choices:
        labels = dict(base.flatchoices)
        return ", ".join(str(labels.get(v, v)) for v in value)
    if isinstance(field, models.ForeignKey):
        related = getattr(record, field.name, None)
        return str(related) if related is not None else str(value)
    return canonical(value, field)


# --- Position: what the save path needs -----------------------------------------------------


@dataclass(frozen=True)
class Position:
    """Where a record sits: its participant (None before enrolment), visit and form."""

    participant_id: int | None
    visit_id: int | None
    # The form the record belongs to: a kind at a visit ("labs", "vitals", ...) ...
    form_kind: str
    # ... or a record of its own (an adverse event holds its follow-ups).
    form_content_type_id: int
    form_object_id: int | None
    screening_id: int | None = None


def _label(record: models.Model) -> str:
    return record._meta.label


def visit_form_kind(record: models.Model) -> str:
    """The kind of visit form a record is part of, or "" when it is not a visit form."""
    kind = getattr(type(record), "kind", None)
    if getattr(record, "visit_id", None) is None:
        return ""
    if kind is not None and hasattr(kind, "value"):
        return kind.value  # crf.VisitCrf subclasses
    return {"dosing.LabResult": "labs", "dosing.Infusion": "infusion"}.get(_label(record), "")


def _cached_related(record: models.Model, name: str) -> models.Model | None:
    return record._state.fields_cache.get(name)


def _participant_of_visit(visit_id: int) -> int | None:
    from dosing.models import Visit

    return Visit.objects.filter(pk=visit_id).values_list("participant_id", flat=True).first()


def position(record: ClinicalRecord) -> Position:
    """The record's participant, visit and form, in at most one query."""
    from crf.models import AdverseEvent
    from enrollment.models import Participant

    label = _label(record)
    ct_id = ContentType.objects.get_for_model(record).pk
    form_ct_id, form_pk = ct_id, record.pk
    participant_id = visit_id = screening_id = None
    if label == "enrollment.Participant":
        participant_id, screening_id = record.pk, record.screening_id
    elif label == "dosing.Visit":
        participant_id, visit_id = record.participant_id, record.pk
    elif label == "crf.AdverseEventUpdate":
        form_ct_id = ContentType.objects.get_for_model(AdverseEvent).pk
        form_pk = record.adverse_event_id
        cached = _cached_related(record, "adverse_event")
        participant_id = (
            cached.participant_id
            if cached is not None
            else AdverseEvent.objects.filter(pk=record.adverse_event_id)
            .values_list("participant_id", flat=True)
            .first()
        )
    elif hasattr(record, "participant_id"):
        participant_id = record.participant_id
        visit_id = getattr(record, "visit_id", None)
    elif hasattr(record, "visit_id"):
        visit_id = record.visit_id
        cached = _cached_related(record, "visit")
        participant_id = (
            cached.participant_id if cached is not None else _participant_of_visit(visit_id)
        )
    if label == "eligibility.Screening":
        screening_id = record.pk
    elif hasattr(record, "screening_id") and label != "enrollment.Participant":
        screening_id = record.screening_id
    if screening_id is not None and participant_id is None:
        participant_id = (
            Participant.objects.filter(screening_id=screening_id)
            .values_list("pk", flat=True)
            .first()
        )
    return Position(
        participant_id=participant_id,
        visit_id=visit_id,
        form_kind=visit_form_kind(record),
        form_content_type_id=form_ct_id,
        form_object_id=form_pk,
        screening_id=screening_id,
    )


# --- Description: what the pages show ---------------------------------------------------------


@dataclass(frozen=True)
class Target:
    record: ClinicalRecord
    participant: Any  # enrollment.Participant | None
    screening: Any  # eligibility.Screening | None
    visit: Any  # dosing.Visit | None
    site_id: int
    label: str
    display_url: str
    edit_url: str | None  # the normal edit form (None: corrected elsewhere, or not at all)

    @property
    def model_label(self) -> str:
        return str(self.record._meta.verbose_name).capitalize()

    @property
    def history_url(self) -> str:
        meta = self.record._meta
        return reverse("record_history", args=[meta.app_label, meta.model_name, self.record.pk])

    def fields(self) -> list[tuple[models.Field, str]]:
        return [(f, display_value(self.record, f)) for f in data_fields(type(self.record))]


def _screening_section(field_name: str) -> str | None:
    from eligibility import forms as eligibility_forms

    for key, (form_class, _title) in eligibility_forms.SECTIONS.items():
        if field_name in form_class.Meta.fields or field_name in form_class.base_fields:
            return key
    return None


def urls_of(record: ClinicalRecord, participant, screening, visit, field_name: str = ""):
    """(display page, edit page) of a record; the edit page is the normal correction form."""
    label = _label(record)
    subject = participant.subject_id if participant is not None else None
    visit_page = reverse("crf:visit", args=[visit.pk]) if visit is not None else None
    if label in {
        "crf.Vitals",
        "crf.EssdaiAssessment",
        "crf.EsspriAssessment",
        "crf.PhysicianGlobal",
        "crf.GlandFunction",
        "crf.SafetyReview",
    }:
        return visit_page, reverse("crf:visit_form", args=[visit.pk, record.kind.value])
    if label == "dosing.LabResult":
        if visit is None:
            return reverse("participant_detail", args=[subject]), None
        return visit_page, reverse("crf:visit_labs", args=[visit.pk])
    if label == "crf.AdverseEvent":
        return record.get_absolute_url(), reverse("crf:ae_edit", args=[subject, record.pk])
    if label == "crf.AdverseEventUpdate":
        return (
            reverse("crf:ae_detail", args=[record.adverse_event_id]),
            reverse("crf:ae_update_edit", args=[record.adverse_event_id, record.pk]),
        )
    if label == "crf.ConcomitantMedication":
        return (
            reverse("crf:con_meds", args=[subject]),
            reverse("crf:con_med_edit", args=[subject, record.pk]),
        )
    if label == "dosing.Visit":
        return (
            reverse("crf:visit", args=[record.pk]),
            reverse("dosing:visit_edit", args=[subject, record.pk]),
        )
    if label == "dosing.Infusion":
        return visit_page, reverse("dosing:infusion_correct", args=[subject, record.pk])
    if label == "dosing.Deviation":
        return (
            reverse("dosing:participant_deviations", args=[subject]),
            reverse("dosing:deviation_explain", args=[record.pk]),
        )
    if screening is not None:
        detail = reverse("eligibility:detail", args=[screening.number])
        if label == "eligibility.Screening":
            section = _screening_section(field_name)
            edit = (
                reverse("eligibility:section", args=[screening.number, section])
                if section
                else None
            )
            return detail, edit
        if label == "eligibility.ScreeningLab":
            return detail, reverse("eligibility:labs", args=[screening.number])
        if label == "eligibility.PriorTherapy":
            return detail, reverse("eligibility:therapy_edit", args=[screening.number, record.pk])
        if subject is None:
            return detail, None
    if subject is not None:
        return visit_page or reverse("participant_detail", args=[subject]), None
    return "", None


# What names a record in a list, and its date: read from its own columns (no query).
_NAME_FIELDS = ("term", "drug", "drug_name", "visit_code", "category", "kind", "number")
_DATE_FIELDS = (
    "onset_date",
    "reported_on",
    "start_date",
    "given_on",
    "taken_on",
    "occurred_on",
    "signed_on",
    "changed_on",
    "confirmed_on",
    "planned_on",
    "withdrawn_on",
    "enrolled_on",
    "screening_date",
    "start",
)


def _shown(record: ClinicalRecord, name: str) -> str:
    display = getattr(record, f"get_{name}_display", None)
    return str(display() if callable(display) else getattr(record, name))


def record_label(record: ClinicalRecord, visit=None) -> str:
    """ "IgG · W12", "Vitals, weight and height · BASELINE", "Adverse event: Pneumonia"."""
    label = _label(record)
    if hasattr(record, "get_analyte_display"):  # a lab value: named by its test
        name = str(record.get_analyte_display())
        if visit is None and getattr(record, "taken_on", None):
            name += f" ({record.taken_on.isoformat()})"
    elif hasattr(type(record), "kind") and hasattr(record.kind, "label"):
        name = str(record.kind.label)
    else:
        name = str(record._meta.verbose_name).capitalize()
        what = next((_shown(record, n) for n in _NAME_FIELDS if getattr(record, n, "")), "")
        when = next((getattr(record, n) for n in _DATE_FIELDS if getattr(record, n, None)), None)
        if what:
            name += f": {what}"
        if when is not None and label != "dosing.Visit":
            name += f" ({when.isoformat()})"
        elif label == "dosing.Visit":
            name += f" {record.visit_date.isoformat()}"
    if visit is not None and label != "dosing.Visit":
        return f"{name} · {visit.visit_code}"
    return name


def describe(record: ClinicalRecord, field_name: str = "") -> Target:
    """Everything the monitoring pages show about a record (a few queries)."""
    from dosing.models import Visit
    from eligibility.models import Screening
    from enrollment.models import Participant

    pos = position(record)
    participant = (
        Participant.objects.select_related("site", "screening").get(pk=pos.participant_id)
        if pos.participant_id
        else None
    )
    visit = Visit.objects.get(pk=pos.visit_id) if pos.visit_id else None
    screening = None
    if pos.screening_id:
        screening = Screening.objects.get(pk=pos.screening_id)
    elif participant is not None:
        screening = participant.screening
    site_id = participant.site_id if participant is not None else screening.site_id
    display, edit = urls_of(record, participant, screening, visit, field_name)
    return Target(
        record=record,
        participant=participant,
        screening=screening,
        visit=visit,
        site_id=site_id,
        label=record_label(record, visit),
        display_url=display or "",
        edit_url=edit,
    )


def clinical_model(app_label: str, model_name: str) -> type[ClinicalRecord] | None:
    """The concrete clinical model named in a URL, or None."""
    from django.apps import apps

    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return None
    if not issubclass(model, ClinicalRecord) or model._meta.abstract:
        return None
    return model
