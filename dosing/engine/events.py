"""The events of a course: every infusion and assessment visit, planned and done."""

from __future__ import annotations

from datetime import date

from dosing.engine.facts import CourseFacts, Drug, Event, EventKind, EventStatus
from dosing.engine.labels import infusion_label as _infusion_label
from dosing.engine.labels import infusion_visit_code
from dosing.engine.labels import visit_label as _visit_label
from dosing.engine.plan import Plan
from dosing.engine.windows import anchor_status as _anchor_status
from dosing.engine.windows import days as _days
from dosing.engine.windows import status as _status
from dosing.engine.windows import window as _window
from trialsite.dates import study_day
from trialsite.protocol import (
    ASSESSMENT_VISITS,
    ASSESSMENT_WINDOW_DAYS,
    BASELINE_VISIT_CODE,
    BASELINE_WINDOW_DAYS,
    BELIMUMAB_WINDOW_DAYS,
    RITUXIMAB_INTERVAL_DAYS,
    RITUXIMAB_WINDOW_DAYS,
)


def _first_visit(inputs: CourseFacts, code: str) -> date | None:
    dates = [v.done_on for v in inputs.visits_done if v.visit_code == code]
    return min(dates) if dates else None


def _infusion_event(
    drug: Drug,
    number: int,
    target: date,
    window_days: int,
    actual: date | None,
    inputs: CourseFacts,
    day_0: date,
    *,
    projected: bool = False,
    status: EventStatus | None = None,
    moves_with_plan: bool = False,
) -> Event:
    start, end = _window(target, window_days)
    if status is None:
        status = (
            EventStatus.PLANNED
            if projected and actual is None
            else _status(target, start, end, actual, inputs.today)
        )
    return Event(
        kind=EventKind.INFUSION,
        visit_code=infusion_visit_code(drug, number),
        label=_infusion_label(drug, number),
        drug=drug,
        number=number,
        target=target,
        window_start=start,
        window_end=end,
        target_day=study_day(target, day_0),
        actual=actual,
        actual_day=None if actual is None else study_day(actual, day_0),
        status=status,
        projected=projected,
        moves_with_plan=moves_with_plan,
    )


def _not_started(day_0: date, inputs: CourseFacts) -> list[Event]:
    """Infusion 1 on the planned Day 0, infusion 2 projected from it (SCH1's minimum of 2
    makes it certain)."""
    first = _infusion_event(
        Drug.RITUXIMAB,
        1,
        day_0,
        0,
        None,
        inputs,
        day_0,
        status=_anchor_status(day_0, inputs.today),
        moves_with_plan=True,
    )
    second = _infusion_event(
        Drug.RITUXIMAB,
        2,
        day_0 + _days(RITUXIMAB_INTERVAL_DAYS),
        RITUXIMAB_WINDOW_DAYS,
        None,
        inputs,
        day_0,
        projected=True,
    )
    return [first, second]


def rituximab_events(plan: Plan, inputs: CourseFacts) -> list[Event]:
    phase, day_0 = plan.rituximab, plan.day_0
    events: list[Event] = []
    if not phase.counted and not plan.rituximab_given:
        return _not_started(day_0, inputs)
    previous: date | None = None
    for number, given_on in enumerate(plan.rituximab_given, start=1):
        # The counted infusions are the first ones in date order (_walk_rituximab).
        if number <= len(phase.counted):
            if previous is None:
                # Infusion 1 defines Day 0: it is on target by definition.
                events.append(
                    _infusion_event(Drug.RITUXIMAB, 1, given_on, 0, given_on, inputs, day_0)
                )
            else:
                events.append(
                    _infusion_event(
                        Drug.RITUXIMAB,
                        number,
                        previous + _days(RITUXIMAB_INTERVAL_DAYS),
                        RITUXIMAB_WINDOW_DAYS,
                        given_on,
                        inputs,
                        day_0,
                    )
                )
            previous = given_on
        else:
            events.append(
                _infusion_event(
                    Drug.RITUXIMAB,
                    number,
                    given_on,
                    0,
                    given_on,
                    inputs,
                    day_0,
                    status=EventStatus.DONE_NOT_PLANNED,
                )
            )
    if phase.pending is not None and not plan.belimumab_given:
        number, target = phase.pending
        events.append(
            _infusion_event(
                Drug.RITUXIMAB, number, target, RITUXIMAB_WINDOW_DAYS, None, inputs, day_0
            )
        )
    # Only while nothing else was given in its place (otherwise that infusion carries the
    # number, as an unplanned one).
    if phase.not_needed is not None and len(plan.rituximab_given) == len(phase.counted):
        number, target = phase.not_needed
        events.append(
            _infusion_event(
                Drug.RITUXIMAB,
                number,
                target,
                RITUXIMAB_WINDOW_DAYS,
                None,
                inputs,
                day_0,
                status=EventStatus.NOT_NEEDED,
            )
        )
    return events


def belimumab_events(plan: Plan, inputs: CourseFacts) -> list[Event]:
    events: list[Event] = []
    first_given = bool(plan.belimumab_given)
    for index, target in enumerate(plan.belimumab_targets):
        events.append(
            _infusion_event(
                Drug.BELIMUMAB,
                index + 1,
                target,
                BELIMUMAB_WINDOW_DAYS,
                plan.belimumab_assigned.get(index),
                inputs,
                plan.day_0,
                projected=index > 0 and not first_given,
            )
        )
    for offset, given_on in enumerate(plan.belimumab_extra, start=1):
        events.append(
            _infusion_event(
                Drug.BELIMUMAB,
                len(plan.belimumab_targets) + offset,
                given_on,
                0,
                given_on,
                inputs,
                plan.day_0,
                status=EventStatus.DONE_NOT_PLANNED,
            )
        )
    return events


def visit_events(plan: Plan, inputs: CourseFacts) -> list[Event]:
    day_0 = plan.day_0
    events: list[Event] = []
    visits = ((BASELINE_VISIT_CODE, 0, BASELINE_WINDOW_DAYS),) + tuple(
        (code, day, ASSESSMENT_WINDOW_DAYS) for code, day in ASSESSMENT_VISITS
    )
    for code, day, window_days in visits:
        target = day_0 + _days(day)
        start, end = _window(target, window_days)
        actual = _first_visit(inputs, code)
        projected = not plan.day_0_is_actual and code != BASELINE_VISIT_CODE
        moves_with_plan = False
        if actual is not None or plan.day_0_is_actual:
            status = _status(target, start, end, actual, inputs.today)
        elif code == BASELINE_VISIT_CODE:
            status = _anchor_status(day_0, inputs.today)
            moves_with_plan = True
        else:
            status = EventStatus.PLANNED
        events.append(
            Event(
                kind=EventKind.ASSESSMENT,
                visit_code=code,
                label=_visit_label(code, day),
                drug=None,
                number=None,
                target=target,
                window_start=start,
                window_end=end,
                target_day=day,
                actual=actual,
                actual_day=None if actual is None else study_day(actual, day_0),
                status=status,
                projected=projected,
                moves_with_plan=moves_with_plan,
            )
        )
    return events
