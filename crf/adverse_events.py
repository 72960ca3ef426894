"""An adverse event's state over its follow-ups: the one rule (issue 15).

The event is reported with a grade and an outcome; each follow-up may report a new grade
and outcome.  The event's *current* grade and outcome are the latest reported; its *worst*
grade is the highest ever reported: the secondary outcome "AEs by CTCAE grade" counts the
worst grade.  Seriousness, once met, stays (``crf.services.adverse_event_update_add``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class FollowUp:
    reported_on: date
    order: int  # entry order among follow-ups of the same day (the primary key)
    grade: int | None
    outcome: str  # "" when the follow-up reports no new outcome


@dataclass(frozen=True)
class AeState:
    current_grade: int
    current_outcome: str
    worst_grade: int


def ae_state(grade: int, outcome: str, follow_ups: Iterable[FollowUp]) -> AeState:
    """The event's current grade and outcome, and its worst grade, over its follow-ups."""
    current_grade, current_outcome, worst = grade, outcome, grade
    for follow_up in sorted(follow_ups, key=lambda f: (f.reported_on, f.order)):
        if follow_up.grade is not None:
            current_grade = follow_up.grade
            worst = max(worst, follow_up.grade)
        if follow_up.outcome:
            current_outcome = follow_up.outcome
    return AeState(current_grade, current_outcome, worst)
