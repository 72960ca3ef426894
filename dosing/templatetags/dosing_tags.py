"""Template filters for the dosing pages: words for the schedule engine's codes."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from dosing import engine, feed

register = template.Library()


@register.filter
def event_status(event: engine.Event) -> str:
    """The event's status in words (due, overdue, missed, done, projected, ...)."""
    if event.status is engine.EventStatus.NOT_NEEDED:
        return _("not needed")
    return feed.status_label(event)


@register.filter
def phase_label(phase: engine.Phase) -> str:
    return {
        engine.Phase.NOT_STARTED: _("Not started"),
        engine.Phase.RITUXIMAB: _("Rituximab phase"),
        engine.Phase.AWAITING_FIRST_BELIMUMAB: _("Rituximab complete: first belimumab awaited"),
        engine.Phase.BELIMUMAB: _("Belimumab phase"),
        engine.Phase.TREATMENT_COMPLETE: _("Treatment complete"),
    }[phase]


@register.filter
def gate_label(outcome: engine.GateOutcome) -> str:
    return {
        engine.GateOutcome.PASS: _("pass"),
        engine.GateOutcome.FAIL: _("FAIL"),
        engine.GateOutcome.MISSING: _("labs missing"),
    }[outcome]
