"""Date arithmetic with the protocol's one window convention (PROTOCOL.md "Time").

Pure functions on ``datetime.date``; nothing here reads the clock.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(day: date, months: int) -> date:
    """``day`` shifted by whole calendar months, clamped to the month's last day.

    >>> add_months(date(2026, 8, 31), -6)
    datetime.date(2026, 2, 28)
    """
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last_day))


def age_in_completed_years(born: date, on: date) -> int:
    """Completed years of age on ``on`` (a birthday counts on the day itself)."""
    years = on.year - born.year
    if (on.month, on.day) < (born.month, born.day):
        years -= 1
    return years


def within_days_before(day: date, reference: date, days: int) -> bool:
    """``reference - days <= day <= reference`` (a value exactly ``days`` old counts)."""
    return reference - timedelta(days=days) <= day <= reference


def within_months_before(day: date, reference: date, months: int) -> bool:
    """``add_months(reference, -months) <= day <= reference``."""
    return add_months(reference, -months) <= day <= reference


def study_day(day: date, day_0: date) -> int:
    """Whole days from Day 0 (Day 0 itself is day 0)."""
    return (day - day_0).days


def study_week(day: date, day_0: date) -> int:
    """Study week n starts on day 7n."""
    from trialsite.protocol import DAYS_PER_WEEK

    return study_day(day, day_0) // DAYS_PER_WEEK
