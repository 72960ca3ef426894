"""Numbers as people read them, and the plausibility tick of a hand-rendered input.

``{{ value|measure:"×10⁹/L" }}``: one number format everywhere (issue 19): no trailing
zeros, the decimal separator of the language, the unit after the value
(``trialsite.units.format_measure``).
"""

from __future__ import annotations

from typing import Any

from django import forms, template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from trialsite.forms import CHECKED_SUFFIX
from trialsite.units import format_measure

register = template.Library()


@register.filter
def measure(value: Any, unit: Any = "") -> str:
    """A value (Decimal, int or text) without trailing zeros, localized, unit after it."""
    return format_measure(value, unit)


@register.filter
def checked_tick(bound: forms.BoundField) -> SafeString | str:
    """The "I have checked this value" tick of a value input, when it is needed."""
    name = bound.name + CHECKED_SUFFIX
    if name not in bound.form.fields:
        return ""
    tick = bound.form[name]
    if not isinstance(tick.field.widget, forms.CheckboxInput):
        return ""
    tick.field.widget.attrs["class"] = "form-check-input"
    return format_html(
        '<div class="form-check mt-1">{}<label class="form-check-label" for="{}">{}</label></div>',
        tick.as_widget(),
        tick.id_for_label,
        tick.label,
    )
