"""The stored course (``CourseEvent``): written from the engine's course, checked against it.

The rows hold nothing that depends on today; ``dosing.selectors.status_today`` computes the
rest in SQL.  ``course_store`` runs in the transaction of every write of the facts (the
workflow's COURSE step); ``course_differences`` is ``manage.py check_course``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import transaction

from dosing import engine
from dosing.models import CourseEvent, EventOutcome
from dosing.selectors import course_facts_for
from enrollment.models import Participant

# The stored columns, in the order a difference is reported.
FIELDS = (
    "kind",
    "drug",
    "number",
    "target",
    "window_start",
    "window_end",
    "target_day",
    "actual",
    "actual_day",
    "outcome",
    "projected",
    "moves_with_plan",
    "anchor",
    "anchor_date",
    "clause",
)


# Engine statuses that no longer depend on today: stored as they are (CourseEvent.outcome).
_SETTLED = frozenset(
    {
        engine.EventStatus.DONE_IN_WINDOW,
        engine.EventStatus.DONE_OUT_OF_WINDOW,
        engine.EventStatus.DONE_NOT_PLANNED,
        engine.EventStatus.NOT_NEEDED,
        engine.EventStatus.MISSED,
    }
)


def course_rows(participant_id: int, course: engine.Course) -> list[CourseEvent]:
    """The stored form of a course: one row per event, nothing that depends on today."""
    return [
        CourseEvent(
            participant_id=participant_id,
            kind=event.kind.value,
            visit_code=event.visit_code,
            drug=event.drug.value if event.drug else "",
            number=event.number,
            target=event.target,
            window_start=event.window_start,
            window_end=event.window_end,
            target_day=event.target_day,
            actual=event.actual,
            actual_day=event.actual_day,
            outcome=event.status.value if event.status in _SETTLED else EventOutcome.AWAITED,
            projected=event.projected,
            moves_with_plan=event.moves_with_plan,
            anchor=event.anchor,
            anchor_date=event.anchor_date,
            clause=event.clause,
        )
        for event in course.events
    ]


def course_store(participant_id: int, course: engine.Course) -> None:
    """Replace the participant's stored course with ``course`` (in the write's transaction)."""
    CourseEvent.objects.filter(participant_id=participant_id).delete()
    CourseEvent.objects.bulk_create(course_rows(participant_id, course))


def courses_rebuild(participants: Iterable[Participant], today: date, *, batch: int = 500) -> int:
    """Build and store the courses of ``participants`` (load data, a protocol amendment,
    ``check_course --rebuild``, a database migrated from before the stored course)."""
    participants = list(participants)
    done = 0
    for start in range(0, len(participants), batch):
        chunk = participants[start : start + batch]
        facts = course_facts_for(chunk, today)
        rows = []
        for participant in chunk:
            rows += course_rows(participant.pk, engine.build_course(facts[participant.pk]))
        with transaction.atomic():
            CourseEvent.objects.filter(participant__in=chunk).delete()
            CourseEvent.objects.bulk_create(rows, batch_size=5000)
        done += len(chunk)
    return done


def course_differences(participants: Iterable[Participant], today: date) -> list[str]:
    """Every difference between the stored course and a fresh build, one line each."""
    participants = list(participants)
    lines: list[str] = []
    for start in range(0, len(participants), 500):
        chunk = participants[start : start + 500]
        facts = course_facts_for(chunk, today)
        stored: dict[int, dict[str, CourseEvent]] = {p.pk: {} for p in chunk}
        for row in CourseEvent.objects.filter(participant__in=chunk):
            stored[row.participant_id][row.visit_code] = row
        for participant in chunk:
            built = {
                row.visit_code: row
                for row in course_rows(participant.pk, engine.build_course(facts[participant.pk]))
            }
            lines += _compare(participant.subject_id, built, stored[participant.pk])
    return lines


def _compare(
    subject_id: str, built: dict[str, CourseEvent], stored: dict[str, CourseEvent]
) -> list[str]:
    lines = []
    for code in sorted(built.keys() | stored.keys()):
        if code not in stored:
            lines.append(f"{subject_id} {code}: missing from the stored course")
        elif code not in built:
            lines.append(f"{subject_id} {code}: stored, but not in the course")
        else:
            for name in FIELDS:
                want, have = getattr(built[code], name), getattr(stored[code], name)
                if want != have:
                    lines.append(f"{subject_id} {code} {name}: stored {have}, course {want}")
    return lines
