"""What an edit form of saved data shows about monitoring (called from the shared
reason-for-change field, ``trialsite.forms.ReasonForChangeMixin.add_reason_field``):

* each field with an unresolved query carries a badge with the query's number and question;
* a locked form is shown read-only (the save path refuses it anyway: this is only honest);
* inside a correction made in answer to a query (``monitoring.context``), the reason for
  change is prefilled "Query #n: …" and the form is remembered so the answer quotes it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from monitoring import context
from monitoring.models import UNRESOLVED, DataQuery
from monitoring.targets import data_field, position

REASON_MAX = 500


def _records_by_field(form: forms.BaseForm) -> dict[str, tuple[Any, str]]:
    """Form field name → (record, model field name) for the saved records a form edits."""
    mapped: dict[str, tuple[Any, str]] = {}
    instance = getattr(form, "instance", None)
    if instance is not None and getattr(instance, "pk", None) is not None:
        for name in form.fields:
            if data_field(type(instance), name) is not None:
                mapped[name] = (instance, name)
    # Panel forms (a visit's labs, a screening's labs): one record per "<key>_value" field.
    existing = getattr(form, "existing", None)
    if isinstance(existing, dict):
        for key, record in existing.items():
            name = f"{key}_value"
            if name in form.fields and getattr(record, "pk", None) is not None:
                model_field = (
                    "value_entered" if data_field(type(record), "value_entered") else "value"
                )
                mapped[name] = (record, model_field)
    return mapped


def _unresolved(records: list[Any]) -> list[DataQuery]:
    if not records:
        return []
    by_type: dict[int, set[int]] = {}
    for record in records:
        ct = ContentType.objects.get_for_model(record).pk
        by_type.setdefault(ct, set()).add(record.pk)
    condition = Q()
    for ct, ids in by_type.items():
        condition |= Q(content_type_id=ct, object_id__in=ids)
    return list(DataQuery.objects.filter(condition, status__in=UNRESOLVED).order_by("pk"))


def badge(query: DataQuery) -> str:
    return format_html(
        ' <span class="badge text-bg-warning" data-query="{}" title="{}">{}</span>'
        ' <span class="small text-warning-emphasis">{}</span>',
        query.pk,
        query.question,
        _("Query #%(n)s") % {"n": query.pk},
        Truncator(query.question).chars(90),
    )


def annotate_edit_form(form: forms.BaseForm) -> None:
    mapped = _records_by_field(form)
    records = list({id(r): r for r, _name in mapped.values()}.values())
    queries = _unresolved(records)
    reason_field = form.fields.get(getattr(form, "reason_field", "reason_for_change"))
    form_level: list[DataQuery] = []
    for query in queries:
        names = [
            name
            for name, (record, model_field) in mapped.items()
            if record.pk == query.object_id
            and ContentType.objects.get_for_model(record).pk == query.content_type_id
            and (model_field == query.field_name)
        ]
        if not names:
            form_level.append(query)
        for name in names:
            field = form.fields[name]
            field.label = format_html("{}{}", field.label or name, badge(query))
            field.widget.attrs["data-queried"] = str(query.pk)
    if reason_field is not None and form_level:
        notes = "".join(badge(q) for q in form_level)
        reason_field.help_text = format_html("{}<br>{}", reason_field.help_text, notes)
    if records:
        from monitoring.hooks import active_lock

        lock = active_lock(position(records[0]))
        if lock is not None:
            for field in form.fields.values():
                field.disabled = True
            if reason_field is not None:
                reason_field.help_text = _("Locked: this form cannot be changed.")
    correction = context.current()
    if correction is not None and reason_field is not None:
        correction.forms.append(form)
        query = correction.query
        prefill = Truncator(
            _("Query #%(n)s: %(question)s") % {"n": query.pk, "question": query.question}
        ).chars(REASON_MAX)
        reason_field.initial = prefill
        form.initial[getattr(form, "reason_field", "reason_for_change")] = prefill
