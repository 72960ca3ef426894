"""The clinical records of the installed apps, and how each hangs on its participant.

Every concrete ``ClinicalRecord`` is found from Django's app registry, so a CRF added later
is monitored and exported without touching this module.  Its path to the participant, the
screening and the visit is derived from ``site_field`` and its foreign keys; the three
records every other one hangs on say which they are with ``ClinicalRecord.record_kind``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.db import models

from trialsite.models import ClinicalRecord, RecordKind


@dataclass(frozen=True)
class RecordForm:
    """One kind of clinical record, as monitoring and the exports walk them."""

    code: str  # "<app>_<model>", e.g. "crf_essdaiassessment"
    model: type[ClinicalRecord]
    participant_path: str | None  # None: the model is the participant itself
    screening_path: str | None  # "": the model is the screening itself
    visit_path: str | None  # None: not a visit's record


def _kind(model: type[models.Model] | None) -> str:
    return getattr(model, "record_kind", "")


def participant_path(model: type[ClinicalRecord]) -> str | None:
    """The lookup from ``model`` to its participant (None for the participant itself)."""
    if _kind(model) == RecordKind.PARTICIPANT:
        return None
    site_field = model.site_field
    prefix = site_field[: -len("__site")] if site_field.endswith("__site") else ""
    target: type[models.Model] = model
    for part in prefix.split("__") if prefix else []:
        target = target._meta.get_field(part).related_model
    if _kind(target) == RecordKind.PARTICIPANT:
        return prefix
    # Screening-side records reach the participant through the screening (if enrolled).
    return f"{prefix}__participant" if prefix else "participant"


def screening_path(model: type[ClinicalRecord], to_participant: str | None) -> str | None:
    """The lookup from ``model`` to its screening ("" for the screening itself)."""
    if _kind(model) == RecordKind.SCREENING:
        return ""
    names = {f.name for f in model._meta.get_fields()}
    if "screening" in names or to_participant is None:
        return "screening"
    return f"{to_participant}__screening"


@cache
def record_forms() -> tuple[RecordForm, ...]:
    """Every concrete clinical record model, apps in INSTALLED_APPS order (bottom layer
    first), models in definition order."""
    found = []
    for app_config in apps.get_app_configs():
        for model in app_config.get_models():
            if not issubclass(model, ClinicalRecord):
                continue
            to_participant = participant_path(model)
            names = {f.name for f in model._meta.concrete_fields}
            found.append(
                RecordForm(
                    code=f"{app_config.label}_{model._meta.model_name}",
                    model=model,
                    participant_path=to_participant,
                    screening_path=screening_path(model, to_participant),
                    visit_path="visit" if "visit" in names else None,
                )
            )
    return tuple(found)


def record_form(model: type[ClinicalRecord]) -> RecordForm:
    return next(form for form in record_forms() if form.model is model)
