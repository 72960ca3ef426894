"""Date arithmetic with the protocol's one window convention (PROTOCOL.md "Time").

Pure functions on ``datetime.date``; nothing here reads the clock.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from enum import StrEnum


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


class DateKind(StrEnum):
    """What a clinical date records, for its plausible bounds (trialsite/protocol.py)."""

    TRIAL = "trial"  # DATE1: an event of the trial (screening, Day 0, visit, infusion, AE...)
    BIRTH = "birth"  # DATE2: a participant's date of birth
    HISTORY = "history"  # DATE3: medical history (prior therapy, medication, infections...)


def date_bounds(
    kind: DateKind, today: date, *, screened_on: date | None = None
) -> tuple[date, date]:
    """The earliest and latest plausible value of a clinical date of ``kind``.

    The latest moves with ``today`` if the trial runs past its registered completion
    (an extension, the demo on a later clock), so today's data is always accepted. A
    date of birth is checked against the screening date when it is known (aged 5-18 at
    screening, give or take the margin), else against the trial's period.
    """
    from trialsite import protocol

    margin = protocol.BIRTH_DATE_MARGIN_YEARS
    latest = max(
        protocol.LATEST_CLINICAL_DATE, today + timedelta(days=protocol.TRIAL_END_MARGIN_DAYS)
    )
    if kind is DateKind.TRIAL:
        return max(protocol.EARLIEST_TRIAL_DATE, protocol.CLINICAL_DATE_FLOOR), latest
    start = screened_on or protocol.EARLIEST_TRIAL_DATE
    end = screened_on or max(date.fromisoformat(protocol.STUDY_COMPLETION), today)
    # Born the day after this, one is at most MAX_AGE_YEARS + margin on ``start``.
    oldest = add_months(start, -12 * (protocol.MAX_AGE_YEARS + 1 + margin)) + timedelta(days=1)
    oldest = max(oldest, protocol.CLINICAL_DATE_FLOOR)
    if kind is DateKind.BIRTH:
        return oldest, add_months(end, -12 * (protocol.MIN_AGE_YEARS - margin))
    return oldest, latest
