"""The error summary at the top of every refused form (templates/includes/form_errors.html).

Each field error is a link to its field and its message stays on the field (crispy shows it
there); errors that belong to no visible field are written out in the summary.  The form is
marked as summarised, so crispy's own non-field error block (templates/bootstrap5/errors.html)
does not repeat them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms, template

register = template.Library()

SUMMARISED = "_error_summary_shown"


@dataclass(frozen=True)
class FieldLink:
    anchor: str
    label: str


def field_anchor(bound: forms.BoundField) -> str:
    """The id of the field's first input (a radio or checkbox list's first choice)."""
    auto_id = bound.auto_id
    if not auto_id:
        return ""
    widget = bound.field.widget
    try:
        anchor = widget.id_for_label(auto_id, "0")
    except TypeError:  # widgets without choices take no index
        anchor = widget.id_for_label(auto_id)
    return anchor or auto_id


@register.inclusion_tag("includes/form_error_summary.html")
def error_summary(form: Any) -> dict[str, Any]:
    if not isinstance(form, forms.BaseForm) or not form.is_bound or not form.errors:
        return {"shown": False}
    setattr(form, SUMMARISED, True)
    messages = list(form.non_field_errors())
    links = []
    for bound in form:
        if not bound.errors:
            continue
        if bound.is_hidden:
            messages.extend(bound.errors)
        else:
            links.append(FieldLink(field_anchor(bound), str(bound.label or bound.name)))
    return {"shown": True, "messages": messages, "links": links}


@register.filter
def error_summary_shown(form: Any) -> bool:
    return bool(getattr(form, SUMMARISED, False))
