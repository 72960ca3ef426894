"""``{{ record|generated:"question" }}``: a generated text in the reader's language."""

from __future__ import annotations

from typing import Any

from django import template

from trialsite import drugs, texts

register = template.Library()


@register.filter
def generated(record: Any, fallback_field: str) -> str:
    """The record's generated text (``text_code``/``text_params``) rendered in the active
    language; the stored ``fallback_field`` when the row has no code."""
    stored = str(getattr(record, fallback_field, "") or "")
    code, params = getattr(record, "text_code", ""), getattr(record, "text_params", {})
    return texts.render(code, params, stored)


@register.filter
def drug_name(name: str) -> str:
    """A drug's name in the reader's language (吗替麦考酚酯 for mycophenolate mofetil)."""
    return drugs.display_name(name or "")
