"""Refusals: the infusions the protocol has no place for, and why (SCH1–SCH3, EXC10/EXC11).

An infusion is judged as part of the course it would join: the course is built once with
it (``judge_infusion``), and that same course is what the recording service stores, so a
write builds the course once.  A late infusion is allowed (recorded, an out-of-window
deviation); refused are infusions the protocol has no place for, and infusions dated before
the window of the event they would become opens (safety decision: SCH1/SCH3 windows are
minimum intervals between doses, so an early dose is refused rather than recorded as a
deviation).  The first belimumab also needs the EXC10/EXC11 gate to pass.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from django.utils.translation import gettext as _

from dosing.engine.build import build_course
from dosing.engine.facts import (
    Course,
    CourseFacts,
    DecisionCode,
    DeviationCategory,
    Drug,
    Event,
    EventKind,
    EventStatus,
    GateOutcome,
    Infusion,
    Refusal,
    RefusalCode,
)
from dosing.engine.gate import belimumab_lab_gate
from dosing.engine.labels import drug_label
from dosing.engine.plan import day_0_given
from dosing.engine.windows import window_text
from trialsite.protocol import RITUXIMAB_MAX_INFUSIONS


@dataclass(frozen=True)
class Judgement:
    refusal: Refusal | None
    course: Course | None  # the course with the infusion in it (None: refused on its date)
    event: Event | None  # the event the infusion becomes in that course


def check_infusion_allowed(facts: CourseFacts, drug: Drug, on_date: date) -> Refusal | None:
    """Why an infusion of ``drug`` on ``on_date`` cannot be recorded, or None if it can."""
    return judge_infusion(facts, drug, on_date).refusal


def judge_infusion(facts: CourseFacts, drug: Drug, on_date: date) -> Judgement:
    """The refusal (or None), the course with the infusion and the event it becomes."""
    values = {"date": on_date.isoformat(), "drug": drug_label(drug)}
    refusal = _date_refusal(facts, on_date, values)
    if refusal is not None:
        return Judgement(refusal, None, None)
    course = build_course(replace(facts, infusions=facts.infusions + (Infusion(drug, on_date),)))
    event = next(e for e in course.events if e.drug is drug and e.actual == on_date)
    first_belimumab = drug is Drug.BELIMUMAB and not any(
        i.drug is Drug.BELIMUMAB for i in facts.infusions
    )
    refusal = (
        _unplanned_refusal(facts, course, event, values)
        or _before_window(event, on_date)
        or (_gate_refusal(facts, on_date) if first_belimumab else None)
    )
    return Judgement(refusal, course, event)


def _date_refusal(facts: CourseFacts, on_date: date, values: dict[str, str]) -> Refusal | None:
    if on_date > facts.today:
        return Refusal(
            RefusalCode.FUTURE_DATE,
            _("%(drug)s on %(date)s is after today (%(today)s): record infusions once given.")
            % (values | {"today": facts.today.isoformat()}),
        )
    day_0 = day_0_given(facts)
    if day_0 is None and on_date < facts.planned_day_0:
        # EXC5's windows were checked against the planned Day 0; an earlier start needs
        # the planned Day 0 moved (and EXC5 re-checked) first.
        return Refusal(
            RefusalCode.BEFORE_DAY_0,
            _(
                "%(drug)s on %(date)s is before the planned Day 0 (%(day_0)s): change the "
                "planned Day 0 first, so that EXC5 is checked against it."
            )
            % (values | {"day_0": facts.planned_day_0.isoformat()}),
        )
    if day_0 is not None and on_date < day_0:
        return Refusal(
            RefusalCode.BEFORE_DAY_0,
            _("%(drug)s on %(date)s is before Day 0 (first rituximab on %(day_0)s).")
            % (values | {"day_0": day_0.isoformat()}),
        )
    given = sorted(i.given_on for i in facts.infusions)
    if given and on_date < given[-1]:
        return Refusal(
            RefusalCode.BEFORE_PREVIOUS_INFUSION,
            _("%(drug)s on %(date)s is dated before the previous infusion (%(previous)s).")
            % (values | {"previous": given[-1].isoformat()}),
        )
    if given and on_date == given[-1]:
        return Refusal(
            RefusalCode.SAME_DAY_AS_PREVIOUS_INFUSION,
            _("%(drug)s on %(date)s: another infusion is already recorded on that day.") % values,
        )
    return None


def _unplanned_refusal(
    facts: CourseFacts, course: Course, event: Event, values: dict[str, str]
) -> Refusal | None:
    """The infusion would be one the plan has no place for: the deviation it would cause."""
    found = {d.code for d in course.deviations if d.visit_code == event.visit_code}
    if DeviationCategory.RITUXIMAB_AFTER_BELIMUMAB in found:
        return Refusal(
            RefusalCode.RITUXIMAB_AFTER_BELIMUMAB,
            _("Rituximab on %(date)s: belimumab has started, the rituximab phase is over.")
            % values,
        )
    if DeviationCategory.RITUXIMAB_BEYOND_MAXIMUM in found:
        given = sum(1 for i in facts.infusions if i.drug is Drug.RITUXIMAB) + 1
        return Refusal(
            RefusalCode.FIFTH_RITUXIMAB,
            _(
                "Rituximab on %(date)s would be infusion %(n)s: at most %(maximum)s "
                "rituximab infusions (SCH1)."
            )
            % (values | {"n": given, "maximum": RITUXIMAB_MAX_INFUSIONS}),
        )
    if DeviationCategory.RITUXIMAB_AFTER_DEPLETION in found:
        depleted = next(d for d in course.decisions if d.code is DecisionCode.DEPLETED)
        return Refusal(
            RefusalCode.RITUXIMAB_AFTER_DEPLETION,
            _("Rituximab on %(date)s is not needed: %(decision)s")
            % (values | {"decision": depleted.text}),
        )
    if DeviationCategory.BELIMUMAB_BEFORE_RITUXIMAB_COMPLETE in found:
        return Refusal(
            RefusalCode.BELIMUMAB_BEFORE_RITUXIMAB_COMPLETE,
            _(
                "Belimumab on %(date)s: the rituximab phase is not complete (B-cell "
                "depletion or %(maximum)s rituximab infusions first, SCH2/SCH3)."
            )
            % (values | {"maximum": RITUXIMAB_MAX_INFUSIONS}),
        )
    if DeviationCategory.BELIMUMAB_BEYOND_PLAN in found:
        return Refusal(
            RefusalCode.BELIMUMAB_BEYOND_PLAN,
            _(
                "Belimumab on %(date)s: the last planned belimumab infusion (%(count)s) is "
                "already recorded (SCH3)."
            )
            % (values | {"count": course.belimumab_infusions_planned}),
        )
    return None


def _before_window(event: Event, on_date: date) -> Refusal | None:
    """A refusal when ``on_date`` is before the window of the event it becomes (rituximab n:
    previous + 7 ±2, SCH1; belimumab 1: last rituximab + 28 ±3, later ones the nearest open
    target ±3, SCH3).  Rituximab 1 defines Day 0: its window is its own date."""
    if on_date >= event.window_start:
        return None
    return Refusal(
        RefusalCode.BEFORE_WINDOW,
        _(
            "%(label)s on %(date)s is too early: target %(target)s, %(window)s "
            "(%(clause)s). An infusion cannot be given before its window opens (not "
            "before %(start)s)."
        )
        % {
            "label": event.label,
            "date": on_date.isoformat(),
            "target": event.target.isoformat(),
            "window": window_text(event.window_start, event.window_end),
            "clause": "SCH1" if event.drug is Drug.RITUXIMAB else "SCH3",
            "start": event.window_start.isoformat(),
        },
    )


def _gate_refusal(facts: CourseFacts, on_date: date) -> Refusal | None:
    gate = belimumab_lab_gate(on_date, facts.labs)
    if gate.outcome is GateOutcome.FAIL:
        return Refusal(RefusalCode.PRE_BELIMUMAB_LABS_FAIL, gate.reason, gate)
    if gate.outcome is GateOutcome.MISSING:
        return Refusal(RefusalCode.PRE_BELIMUMAB_LABS_MISSING, gate.reason, gate)
    return None


def not_done_refusal(event: Event | None, today: date, *, code: str = "") -> str | None:
    """Why an investigator cannot confirm ``event`` not given / not done today, or None.

    Only an event still not recorded after its window closed can be confirmed; the rituximab
    phase and the first belimumab cannot be skipped (the course cannot go on without them:
    discontinue instead).  The one rule for the page, the panel's link and the service.
    """
    if event is None or event.status is not EventStatus.NOT_RECORDED:
        label = event.label if event else code
        return _("%(label)s is not awaited: there is nothing to confirm.") % {"label": label}
    skippable = event.kind is EventKind.ASSESSMENT or (
        event.drug is Drug.BELIMUMAB and (event.number or 0) > 1
    )
    if not skippable:
        return _(
            "Only a belimumab infusion after the first, or an assessment visit, can be "
            "confirmed not given: without %(label)s the course cannot go on (discontinue "
            "instead)."
        ) % {"label": event.label}
    if today <= event.window_end:
        return _(
            "%(label)s can be confirmed not done once its window has closed (%(end)s); until "
            "then it can still be given."
        ) % {"label": event.label, "end": event.window_end.isoformat()}
    return None
