"""What an investigator's sign-off covers: every stored value of a visit, or of a casebook.

The payload is hashed by ``trialsite.signatures``; it holds the data fields of every record
(voided ones too, marked), never bookkeeping, so re-saving unchanged data does not void a
signature while any change of a value does, even one made by raw SQL.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from monitoring.targets import data_fields, value_text
from trialsite.records import record_forms


def _records(queryset: models.QuerySet) -> dict[str, dict[str, Any]]:
    fields = data_fields(queryset.model)
    return {
        str(record.pk): {
            **{field.name: value_text(record, field) for field in fields},
            "_voided": record.voided_at is not None,
        }
        for record in queryset.order_by("pk")
    }


def visit_payload(visit) -> dict[str, Any]:
    """The visit and every record attached to it (its CRFs, labs, infusion, B cells)."""
    payload: dict[str, Any] = {
        "visit": _records(type(visit)._base_manager.filter(pk=visit.pk)),
    }
    for form in record_forms():
        if form.visit_path == "visit":
            payload[form.model._meta.label] = _records(form.model._base_manager.filter(visit=visit))
    return payload


def casebook_payload(participant) -> dict[str, Any]:
    """Every record of the participant, from screening to the last visit."""
    payload: dict[str, Any] = {}
    for form in record_forms():
        path = form.participant_path or "pk"
        payload[form.model._meta.label] = _records(
            form.model._base_manager.filter(**{path: participant.pk})
        )
    return payload
