"""The plan a course is built from: the rituximab phase walked, belimumab targets assigned.

Shared by ``build.build_course`` and ``refusals.check_infusion_allowed``; pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from dosing.engine.facts import CourseFacts, Drug
from dosing.engine.sch1_rituximab import RituximabPhase, walk_rituximab
from dosing.engine.sch3_belimumab import assign_belimumab, belimumab_targets
from dosing.engine.windows import days as _days
from trialsite.protocol import BELIMUMAB_FIRST_OFFSET_DAYS


@dataclass
class Plan:
    day_0: date
    day_0_is_actual: bool
    rituximab: RituximabPhase
    rituximab_given: list[date]
    belimumab_given: list[date]
    belimumab_early: bool = False  # first belimumab before the rituximab phase ended
    belimumab_targets: list[date] = field(default_factory=list)
    belimumab_assigned: dict[int, date] = field(default_factory=dict)  # slot index -> date
    belimumab_extra: list[date] = field(default_factory=list)


def day_0_given(facts: CourseFacts) -> date | None:
    """Day 0: the first rituximab given before any belimumab (None before it is given).

    The one rule for Day 0; the plan's ``day_0`` falls back to the planned Day 0."""
    belimumab = [i.given_on for i in facts.infusions if i.drug is Drug.BELIMUMAB]
    first_belimumab = min(belimumab) if belimumab else None
    rituximab = [
        i.given_on
        for i in facts.infusions
        if i.drug is Drug.RITUXIMAB and (first_belimumab is None or i.given_on < first_belimumab)
    ]
    return min(rituximab) if rituximab else None


def make_plan(inputs: CourseFacts) -> Plan:
    rituximab = sorted(i.given_on for i in inputs.infusions if i.drug is Drug.RITUXIMAB)
    belimumab = sorted(i.given_on for i in inputs.infusions if i.drug is Drug.BELIMUMAB)
    first_belimumab = belimumab[0] if belimumab else None
    phase = walk_rituximab(rituximab, first_belimumab, inputs.b_cell_results)
    given_day_0 = day_0_given(inputs)
    day_0 = given_day_0 or inputs.planned_day_0
    plan = Plan(
        day_0=day_0,
        day_0_is_actual=given_day_0 is not None,
        rituximab=phase,
        rituximab_given=rituximab,
        belimumab_given=belimumab,
    )
    if phase.last_before_belimumab is None:
        plan.belimumab_extra = belimumab  # belimumab without any rituximab before it
        plan.belimumab_early = bool(belimumab)
        return plan
    plan.belimumab_early = first_belimumab is not None and not phase.complete
    if not (phase.complete or plan.belimumab_early):
        return plan  # belimumab dates depend on a rituximab decision still open
    # SCH3: last rituximab actually given + 28 (an extra one given after depletion counts,
    # since the 28 days are about the last dose the child received).
    first_target = phase.last_before_belimumab + _days(BELIMUMAB_FIRST_OFFSET_DAYS)
    plan.belimumab_targets = belimumab_targets(first_target, first_belimumab, day_0)
    plan.belimumab_assigned, plan.belimumab_extra = assign_belimumab(
        belimumab, plan.belimumab_targets
    )
    return plan
