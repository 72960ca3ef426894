"""Template filters for the dosing pages: words for the schedule engine's codes."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from dosing import feed, schedule

register = template.Library()


@register.filter
def event_status(event: schedule.Event) -> str:
    """The event's status in words (due, overdue, missed, done, projected, ...)."""
    if event.status is schedule.EventStatus.NOT_NEEDED:
        return _("not needed")
    return feed.status_label(event)


@register.filter
def phase_label(phase: schedule.Phase) -> str:
    return {
        schedule.Phase.NOT_STARTED: _("Not started"),
        schedule.Phase.RITUXIMAB: _("Rituximab phase"),
        schedule.Phase.AWAITING_FIRST_BELIMUMAB: _("Rituximab complete: first belimumab awaited"),
        schedule.Phase.BELIMUMAB: _("Belimumab phase"),
        schedule.Phase.TREATMENT_COMPLETE: _("Treatment complete"),
    }[phase]


@register.filter
def gate_label(outcome: schedule.GateOutcome) -> str:
    return {
        schedule.GateOutcome.PASS: _("pass"),
        schedule.GateOutcome.FAIL: _("FAIL"),
        schedule.GateOutcome.MISSING: _("labs missing"),
    }[outcome]


@register.filter
def lookup(mapping: dict, key: str):
    """``mapping[key]`` or None (e.g. the recorded visit of a schedule event)."""
    return mapping.get(key) if mapping else None
