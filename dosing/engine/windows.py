"""Whole-day arithmetic on targets and windows, and an event's status on a given day."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from dosing.engine.facts import EventStatus


def num(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 20 -> "20", 0.50 -> "0.5"."""
    return format(value.normalize(), "f")


def days(n: int) -> timedelta:
    return timedelta(days=n)


def window(target: date, half_width: int) -> tuple[date, date]:
    return target - days(half_width), target + days(half_width)


def window_text(start: date, end: date) -> str:
    return _("window %(start)s to %(end)s") % {
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


def status(target: date, start: date, end: date, actual: date | None, today: date) -> EventStatus:
    if actual is not None:
        if start <= actual <= end:
            return EventStatus.DONE_IN_WINDOW
        return EventStatus.DONE_OUT_OF_WINDOW
    if today < start:
        return EventStatus.PLANNED
    if today <= target:
        return EventStatus.DUE
    if today <= end:
        return EventStatus.OVERDUE
    return EventStatus.NOT_RECORDED


def anchor_status(planned_day_0: date, today: date) -> EventStatus:
    # Before the first rituximab, Day 0 is only planned: a late start moves Day 0 and
    # everything with it, so it is overdue but never missed (no deviation).
    if today < planned_day_0:
        return EventStatus.PLANNED
    if today == planned_day_0:
        return EventStatus.DUE
    return EventStatus.OVERDUE
