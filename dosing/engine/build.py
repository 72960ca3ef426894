"""The course of one participant, built from the facts: the treatment engine's one entry.

Pure Python, no database, no clock: the input is only what happened (planned Day 0, the
infusions given, the B-cell results, the assessment visits done) plus ``today``; every
target date, window, status, decision and deviation is derived from it on each call, so
nothing that can be derived is ever stored by hand (the stored course, ``CourseEvent``, is
this function's output, rebuilt with every write and checked by ``check_course``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from django.utils.translation import gettext as _

from dosing.engine.deviations import event_deviations, unplanned_deviations
from dosing.engine.events import belimumab_events, rituximab_events, visit_events
from dosing.engine.facts import (
    Course,
    CourseFacts,
    Decision,
    DecisionCode,
    Drug,
    Event,
    EventKind,
    EventStatus,
    Flag,
    FlagCode,
    NotDone,
    Phase,
)
from dosing.engine.labels import infusion_visit_code
from dosing.engine.plan import Plan, make_plan
from dosing.engine.windows import window as _window
from dosing.engine.windows import window_text as _window_text
from trialsite.dates import study_day
from trialsite.protocol import (
    BELIMUMAB_FIRST_OFFSET_DAYS,
    BELIMUMAB_INTERVAL_DAYS,
    BELIMUMAB_LAST_TARGET_DAY,
    BELIMUMAB_WINDOW_DAYS,
    RITUXIMAB_INTERVAL_DAYS,
    WEEK_28_VISIT_CODE,
)

# The anchors an event's target can be counted from, besides another event (Event.anchor).
PLANNED_DAY_0_ANCHOR = "PLANNED_DAY_0"
DAY_0_ANCHOR = "DAY_0"
VISITS_CLAUSE = "VISITS"


def _belimumab_decisions(plan: Plan) -> list[Decision]:
    if not plan.belimumab_targets:
        return []
    targets = plan.belimumab_targets
    first_start, first_end = _window(targets[0], BELIMUMAB_WINDOW_DAYS)
    values = {
        "count": len(targets),
        "last": targets[-1].isoformat(),
        "last_day": study_day(targets[-1], plan.day_0),
        "limit": BELIMUMAB_LAST_TARGET_DAY,
        "interval": BELIMUMAB_INTERVAL_DAYS,
    }
    if plan.belimumab_given:
        text = _(
            "First belimumab given on %(first)s: %(count)s belimumab infusions, every "
            "%(interval)s days from it, last target %(last)s (day %(last_day)s ≤ %(limit)s) "
            "(SCH3)."
        ) % (values | {"first": plan.belimumab_given[0].isoformat()})
    else:
        assert plan.rituximab.last_before_belimumab is not None
        text = _(
            "First belimumab due %(target)s (last rituximab %(rtx)s + %(offset)s days, "
            "%(window)s), after the EXC10/EXC11 lab gate; %(count)s belimumab infusions "
            "projected, last target %(last)s (day %(last_day)s ≤ %(limit)s) (SCH3)."
        ) % (
            values
            | {
                "target": targets[0].isoformat(),
                "rtx": plan.rituximab.last_before_belimumab.isoformat(),
                "offset": BELIMUMAB_FIRST_OFFSET_DAYS,
                "window": _window_text(first_start, first_end),
            }
        )
    return [Decision(DecisionCode.BELIMUMAB_PLAN, text, Drug.BELIMUMAB, None)]


def _settled(event: Event | None) -> bool:
    """Recorded, or confirmed not given / not done: nothing is awaited any more."""
    return event is not None and (event.actual is not None or event.status is EventStatus.MISSED)


def _how(event: Event) -> str:
    if event.actual is not None:
        return _("done on %(date)s") % {"date": event.actual.isoformat()}
    assert event.not_done is not None
    return _("confirmed not done on %(date)s") % {"date": event.not_done.confirmed_on.isoformat()}


def _completion(plan: Plan, events: list[Event]) -> Decision | None:
    """Treatment is complete once the last planned belimumab infusion and the week 28 visit
    are each recorded or confirmed not done (SCH3; time passing decides nothing)."""
    if not plan.belimumab_given or not plan.belimumab_targets:
        return None
    by_code = {e.visit_code: e for e in events}
    number = len(plan.belimumab_targets)
    last = by_code.get(infusion_visit_code(Drug.BELIMUMAB, number))
    week_28 = by_code.get(WEEK_28_VISIT_CODE)
    if not (_settled(last) and _settled(week_28)):
        return None
    assert last is not None and week_28 is not None
    text = _(
        "Treatment complete: belimumab infusion %(n)s, the last planned, %(last)s; the week 28 "
        "visit %(week_28)s (SCH3)."
    ) % {"n": number, "last": _how(last), "week_28": _how(week_28)}
    return Decision(DecisionCode.TREATMENT_COMPLETE, text, Drug.BELIMUMAB, number)


def completed_on(course: Course) -> date | None:
    """When treatment was complete, clinically: the week 28 visit's date (or the day it was
    confirmed not done), never the day it was entered.  None while it is not complete."""
    if course.phase is not Phase.TREATMENT_COMPLETE:
        return None
    week_28 = course.event(WEEK_28_VISIT_CODE)
    assert week_28 is not None
    if week_28.actual is not None:
        return week_28.actual
    assert week_28.not_done is not None
    return week_28.not_done.confirmed_on


def _phase(plan: Plan, complete: bool) -> Phase:
    if not plan.rituximab.counted:
        return Phase.NOT_STARTED
    if not plan.belimumab_given:
        return Phase.AWAITING_FIRST_BELIMUMAB if plan.rituximab.complete else Phase.RITUXIMAB
    return Phase.TREATMENT_COMPLETE if complete else Phase.BELIMUMAB


def _next_infusion(events: list[Event], phase: Phase) -> Event | None:
    """The earliest infusion neither given, confirmed not given, nor made unnecessary:
    whatever today is, the next action is offered for it."""
    if phase is Phase.TREATMENT_COMPLETE:
        return None
    for event in events:
        if event.kind is not EventKind.INFUSION or event.actual is not None:
            continue
        if event.status in (EventStatus.NOT_NEEDED, EventStatus.MISSED):
            continue
        return event
    return None


def _confirmed(event: Event, not_done: dict[str, NotDone]) -> Event:
    """An event still awaited that an investigator confirmed was not given / not done."""
    confirmation = not_done.get(event.visit_code)
    if confirmation is None or event.actual is not None or event.status is EventStatus.NOT_NEEDED:
        return event
    return replace(event, status=EventStatus.MISSED, not_done=confirmation)


def _basis(event: Event, plan: Plan) -> Event:
    """What decided the event's target: the event it is counted from, and the clause."""
    code, on, clause = "", None, ""
    if event.kind is EventKind.ASSESSMENT:
        code, clause = DAY_0_ANCHOR, VISITS_CLAUSE
        on = plan.day_0
    elif event.status is EventStatus.DONE_NOT_PLANNED:
        clause = "SCH1" if event.drug is Drug.RITUXIMAB else "SCH3"
    elif event.drug is Drug.RITUXIMAB and event.number == 1:
        code = DAY_0_ANCHOR if event.actual is not None else PLANNED_DAY_0_ANCHOR
        on, clause = event.actual or plan.day_0, "SCH1"
    elif event.drug is Drug.RITUXIMAB and event.number is not None:
        code, clause = infusion_visit_code(Drug.RITUXIMAB, event.number - 1), "SCH1"
        on = event.target - timedelta(days=RITUXIMAB_INTERVAL_DAYS)
    elif event.number == 1:
        on, clause = plan.rituximab.last_before_belimumab, "SCH3"
        if on is not None:
            number = plan.rituximab_given.index(on) + 1
            code = infusion_visit_code(Drug.RITUXIMAB, number)
    else:
        code, clause = infusion_visit_code(Drug.BELIMUMAB, 1), "SCH3"
        on = plan.belimumab_given[0] if plan.belimumab_given else plan.belimumab_targets[0]
    return replace(event, anchor=code, anchor_date=on, clause=clause)


def _sort_key(event: Event) -> tuple[date, int, int]:
    # Same day: assessments first (the baseline comes before the first infusion).
    return (
        event.actual or event.target,
        0 if event.kind is EventKind.ASSESSMENT else 1,
        event.number or 0,
    )


def build_course(inputs: CourseFacts) -> Course:
    """Every event past and future, decisions, flags and deviations, as of ``inputs.today``."""
    plan = make_plan(inputs)
    not_done = {n.visit_code: n for n in inputs.not_done}
    events = sorted(
        (
            _basis(_confirmed(event, not_done), plan)
            for event in visit_events(plan, inputs)
            + rituximab_events(plan, inputs)
            + belimumab_events(plan, inputs)
        ),
        key=_sort_key,
    )
    completion = _completion(plan, events)
    phase = _phase(plan, completion is not None)
    flags = list(plan.rituximab.flags)
    pending = plan.rituximab.pending
    if pending is not None and not plan.belimumab_given:
        event = next(
            e
            for e in events
            if e.drug is Drug.RITUXIMAB and e.number == pending[0] and e.actual is None
        )
        if event.status is EventStatus.NOT_RECORDED:
            flags.append(
                Flag(
                    FlagCode.RITUXIMAB_PHASE_STALLED,
                    _(
                        "Rituximab infusion %(n)s was neither given nor made unnecessary by "
                        "a B-cell result by %(end)s: investigator review (SCH1/SCH2)."
                    )
                    % {"n": pending[0], "end": event.window_end.isoformat()},
                )
            )
    return Course(
        phase=phase,
        day_0=plan.day_0,
        day_0_is_actual=plan.day_0_is_actual,
        events=tuple(events),
        next_infusion=_next_infusion(events, phase),
        decisions=tuple(
            plan.rituximab.decisions
            + _belimumab_decisions(plan)
            + ([completion] if completion is not None else [])
        ),
        flags=tuple(flags),
        deviations=tuple(
            event_deviations(events, inputs.today) + unplanned_deviations(plan, events)
        ),
        rituximab_complete_after=(len(plan.rituximab.counted) if plan.rituximab.complete else None),
        belimumab_infusions_planned=len(plan.belimumab_targets) or None,
    )
