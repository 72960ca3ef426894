"""SCH3: belimumab every 28 days, anchored to the first dose actually given.

First infusion: last rituximab + 28 days (±3), after the EXC10/EXC11 gate; later ones:
first belimumab ACTUAL date + 28·k (±3) while the target day ≤ 196 (week 28).
"""

from __future__ import annotations

from datetime import date

from dosing.engine.windows import days as _days
from trialsite.dates import study_day
from trialsite.protocol import BELIMUMAB_INTERVAL_DAYS, BELIMUMAB_LAST_TARGET_DAY


def belimumab_targets(first_target: date, first_given: date | None, day_0: date) -> list[date]:
    """SCH3 target dates: the first, then first ACTUAL (else first target) + 28k.

    Later infusions are anchored to the first dose actually given so that a late dose does
    not drift the rest; they continue while the target day (from Day 0) <= 196.  The first
    is always planned: SCH3's limit is on how long infusions continue, not on starting.
    """
    anchor = first_given if first_given is not None else first_target
    targets = [first_target]
    k = 1
    while True:
        target = anchor + _days(BELIMUMAB_INTERVAL_DAYS * k)
        if study_day(target, day_0) > BELIMUMAB_LAST_TARGET_DAY:
            return targets
        targets.append(target)
        k += 1


def most_belimumab_infusions() -> int:
    """An upper bound on the belimumab infusions of any course (SCH3: every 28 days to day
    196, one more for an infusion given beyond the plan): what lists of every possible
    visit (the ODM's study events) hold."""
    return BELIMUMAB_LAST_TARGET_DAY // BELIMUMAB_INTERVAL_DAYS + 1


def assign_belimumab(given: list[date], targets: list[date]) -> tuple[dict[int, date], list[date]]:
    """Which planned infusion each belimumab given is (date order is kept).

    The first given is always infusion 1 (it is the SCH3 anchor).  Each later one goes to
    the nearest target from the next open slot on, so one missed infusion stays "missed"
    instead of turning every later one into "out of window".  Ties go to the earlier slot.
    """
    assigned: dict[int, date] = {}
    extra: list[date] = []
    slot = 0
    for given_on in given:
        if slot >= len(targets):
            extra.append(given_on)
            continue
        if slot > 0:
            while slot + 1 < len(targets) and abs((given_on - targets[slot + 1]).days) < abs(
                (given_on - targets[slot]).days
            ):
                slot += 1
        assigned[slot] = given_on
        slot += 1
    return assigned, extra
