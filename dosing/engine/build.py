"""The course of one participant, built from the facts: the treatment engine's one entry.

Pure Python, no database, no clock: the input is only what happened (planned Day 0, the
infusions given, the B-cell results, the assessment visits done) plus ``today``; every
target date, window, status, decision and deviation is derived from it on each call, so
nothing that can be derived is ever stored by hand (the stored course, ``CourseEvent``, is
this function's output, rebuilt with every write and checked by ``check_course``).
"""

from __future__ import annotations

from datetime import date

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
    Phase,
)
from dosing.engine.plan import Plan, make_plan
from dosing.engine.windows import window as _window
from dosing.engine.windows import window_text as _window_text
from trialsite.dates import study_day
from trialsite.protocol import (
    BELIMUMAB_FIRST_OFFSET_DAYS,
    BELIMUMAB_INTERVAL_DAYS,
    BELIMUMAB_LAST_TARGET_DAY,
    BELIMUMAB_WINDOW_DAYS,
)


def _belimumab_decisions(plan: Plan, phase: Phase) -> list[Decision]:
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
    decisions = [Decision(DecisionCode.BELIMUMAB_PLAN, text, Drug.BELIMUMAB, None)]
    if phase is Phase.TREATMENT_COMPLETE:
        last_index = len(targets) - 1
        given = plan.belimumab_assigned.get(last_index)
        number = last_index + 1
        if given is not None:
            text = _(
                "Treatment complete: belimumab infusion %(n)s, the last planned, given on "
                "%(date)s (SCH3)."
            ) % {"n": number, "date": given.isoformat()}
        else:
            text = _(
                "Treatment complete: the window of belimumab infusion %(n)s, the last "
                "planned, ended on %(date)s (SCH3)."
            ) % {"n": number, "date": _window(targets[-1], BELIMUMAB_WINDOW_DAYS)[1].isoformat()}
        decisions.append(Decision(DecisionCode.TREATMENT_COMPLETE, text, Drug.BELIMUMAB, number))
    return decisions


def _phase(plan: Plan, today: date) -> Phase:
    if not plan.rituximab.counted:
        return Phase.NOT_STARTED
    if not plan.belimumab_given:
        return Phase.AWAITING_FIRST_BELIMUMAB if plan.rituximab.complete else Phase.RITUXIMAB
    if not plan.belimumab_targets:
        return Phase.BELIMUMAB
    last_index = len(plan.belimumab_targets) - 1
    last_end = _window(plan.belimumab_targets[last_index], BELIMUMAB_WINDOW_DAYS)[1]
    if last_index in plan.belimumab_assigned or today > last_end:
        return Phase.TREATMENT_COMPLETE
    return Phase.BELIMUMAB


def _next_infusion(events: list[Event], phase: Phase) -> Event | None:
    if phase is Phase.TREATMENT_COMPLETE:
        return None
    for event in events:
        if event.kind is not EventKind.INFUSION or event.actual is not None:
            continue
        if event.status is EventStatus.NOT_NEEDED:
            continue
        # A missed later belimumab is skipped (the next one is still on its own target);
        # a missed rituximab or first belimumab blocks everything after it.
        blocking = event.drug is Drug.RITUXIMAB or event.number == 1
        if event.status is EventStatus.MISSED and not blocking:
            continue
        return event
    return None


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
    phase = _phase(plan, inputs.today)
    events = sorted(
        visit_events(plan, inputs)
        + rituximab_events(plan, inputs)
        + belimumab_events(plan, inputs),
        key=_sort_key,
    )
    flags = list(plan.rituximab.flags)
    pending = plan.rituximab.pending
    if pending is not None and not plan.belimumab_given:
        event = next(
            e
            for e in events
            if e.drug is Drug.RITUXIMAB and e.number == pending[0] and e.actual is None
        )
        if event.status is EventStatus.MISSED:
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
        decisions=tuple(plan.rituximab.decisions + _belimumab_decisions(plan, phase)),
        flags=tuple(flags),
        deviations=tuple(event_deviations(events) + unplanned_deviations(plan, events)),
        rituximab_complete_after=(len(plan.rituximab.counted) if plan.rituximab.complete else None),
        belimumab_infusions_planned=len(plan.belimumab_targets) or None,
    )
