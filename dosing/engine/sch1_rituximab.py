"""SCH1/SCH2: the rituximab phase walked infusion by infusion.

SCH1: target = previous rituximab + 7 days (±2); at least 2, at most 4 infusions.  SCH2:
after infusions 2 and 3 a B-cell result dated after the infusion and on/before the next
target decides (depleted: the phase ends; not depleted: the next infusion); after
infusion 4 the phase ends either way, "not depleted" flagged for investigator review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _

from dosing.engine.facts import BCellResult, Decision, DecisionCode, Drug, Flag, FlagCode
from dosing.engine.sch2_depletion import deciding_result
from dosing.engine.windows import days as _days
from dosing.engine.windows import window as _window
from dosing.engine.windows import window_text as _window_text
from trialsite.protocol import (
    BELIMUMAB_FIRST_OFFSET_DAYS,
    RITUXIMAB_INTERVAL_DAYS,
    RITUXIMAB_MAX_INFUSIONS,
    RITUXIMAB_MIN_INFUSIONS,
    RITUXIMAB_WINDOW_DAYS,
)


@dataclass
class RituximabPhase:
    counted: list[date] = field(default_factory=list)  # infusions the phase is made of
    complete: bool = False  # SCH2 depletion or SCH1 maximum
    ended_by_depletion: bool = False
    pending: tuple[int, date] | None = None  # (number, target) of the next rituximab
    not_needed: tuple[int, date] | None = None  # next rituximab made unnecessary by SCH2
    decisions: list[Decision] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    after_depletion: list[date] = field(default_factory=list)
    beyond_maximum: list[date] = field(default_factory=list)
    after_belimumab: list[date] = field(default_factory=list)
    last_before_belimumab: date | None = None  # SCH3 anchor: the last rituximab given


@dataclass(frozen=True)
class _Step:
    """Rituximab infusion ``n`` given on ``last``: what comes after it."""

    n: int
    last: date
    given_next: date | None  # the next rituximab, when it was given
    target: date  # SCH1: the next one's target
    due: dict[str, object]  # the texts' values


def _step(in_phase: list[date], n: int) -> _Step:
    last = in_phase[n - 1]
    target = last + _days(RITUXIMAB_INTERVAL_DAYS)
    start, end = _window(target, RITUXIMAB_WINDOW_DAYS)
    return _Step(
        n=n,
        last=last,
        given_next=in_phase[n] if n < len(in_phase) else None,
        target=target,
        due={
            "n": n,
            "next": n + 1,
            "target": target.isoformat(),
            "window": _window_text(start, end),
        },
    )


def walk_rituximab(
    rituximab: list[date], first_belimumab: date | None, results: tuple[BCellResult, ...]
) -> RituximabPhase:
    phase = RituximabPhase()
    # Once belimumab has started the rituximab phase is over, whatever it lacked.
    in_phase = [d for d in rituximab if first_belimumab is None or d < first_belimumab]
    phase.after_belimumab = [d for d in rituximab if d not in in_phase]
    if not in_phase:
        return phase
    phase.last_before_belimumab = in_phase[-1]

    n = 1
    while True:
        step = _step(in_phase, n)
        if n >= RITUXIMAB_MAX_INFUSIONS:
            _decide_after_maximum(phase, step.last, first_belimumab, results, n)
            break
        if n < RITUXIMAB_MIN_INFUSIONS:
            goes_on = _before_minimum(phase, step)
        else:
            goes_on = _after_b_cells(phase, step, results)
        if not goes_on:
            break
        n += 1

    phase.counted = in_phase[:n]
    extra = in_phase[n:]  # empty unless the phase had already ended
    if phase.ended_by_depletion:
        phase.after_depletion = extra
    else:
        phase.beyond_maximum = extra
    return phase


def _next_or_pending(phase: RituximabPhase, step: _Step) -> bool:
    """The walk goes on to the next infusion when it was given; else it is the one due."""
    if step.given_next is not None:
        return True
    phase.pending = (step.n + 1, step.target)
    return False


def _before_minimum(phase: RituximabPhase, step: _Step) -> bool:
    # SCH1: at least 2 infusions whatever the B cells show.
    text = _(
        "At least %(minimum)s rituximab infusions (SCH1): infusion %(next)s due "
        "%(target)s (%(window)s)."
    ) % (step.due | {"minimum": RITUXIMAB_MIN_INFUSIONS})
    phase.decisions.append(Decision(DecisionCode.MINIMUM_NOT_REACHED, text, Drug.RITUXIMAB, step.n))
    return _next_or_pending(phase, step)


def _after_b_cells(phase: RituximabPhase, step: _Step, results: tuple[BCellResult, ...]) -> bool:
    """SCH2 after infusions 2 and 3: the deciding B-cell result ends the phase or not."""
    n = step.n
    until = step.target if step.given_next is None else min(step.target, step.given_next)
    decisive, undecided = deciding_result(results, step.last, until)
    if decisive is not None:
        values = step.due | {
            "date": decisive.result.taken_on.isoformat(),
            "why": decisive.depletion.comparison,
        }
        if decisive.depletion.depleted:
            text = (
                _(
                    "B cells after rituximab infusion %(n)s (%(date)s): %(why)s, depleted; "
                    "rituximab complete after %(n)s infusions (SCH2)."
                )
                % values
            )
            phase.decisions.append(
                Decision(DecisionCode.DEPLETED, text, Drug.RITUXIMAB, n, decisive.result)
            )
            phase.complete = True
            phase.ended_by_depletion = True
            phase.not_needed = (n + 1, step.target)
            return False
        text = (
            _(
                "B cells after rituximab infusion %(n)s (%(date)s): %(why)s, not depleted; "
                "infusion %(next)s due %(target)s (%(window)s) (SCH2)."
            )
            % values
        )
        phase.decisions.append(
            Decision(DecisionCode.NOT_DEPLETED, text, Drug.RITUXIMAB, n, decisive.result)
        )
        return _next_or_pending(phase, step)
    note = (
        _(" (result of %(date)s: %(reason)s)")
        % {"date": undecided.result.taken_on.isoformat(), "reason": undecided.depletion.reason}
        if undecided is not None
        else ""
    )
    if step.given_next is not None:
        # SCH2 needs a result to stop; an infusion given without one means the
        # investigator went on, so it counts as "not depleted", with a warning.
        text = _(
            "No B-cell result after rituximab infusion %(n)s decided before infusion "
            "%(next)s was given on %(given)s%(note)s: treated as not depleted (SCH2)."
        ) % (step.due | {"given": step.given_next.isoformat(), "note": note})
        phase.decisions.append(
            Decision(DecisionCode.GIVEN_WITHOUT_B_CELL_RESULT, text, Drug.RITUXIMAB, n)
        )
        phase.flags.append(Flag(FlagCode.RITUXIMAB_WITHOUT_B_CELL_RESULT, text))
        return True
    text = _(
        "B-cell result after rituximab infusion %(n)s awaited%(note)s: it must be dated "
        "after %(given)s and on/before %(target)s; meanwhile infusion %(next)s stays due "
        "%(target)s (%(window)s) (SCH2)."
    ) % (step.due | {"given": step.last.isoformat(), "note": note})
    phase.decisions.append(Decision(DecisionCode.B_CELL_RESULT_AWAITED, text, Drug.RITUXIMAB, n))
    return _next_or_pending(phase, step)


def _decide_after_maximum(
    phase: RituximabPhase,
    last: date,
    first_belimumab: date | None,
    results: tuple[BCellResult, ...],
    n: int,
) -> None:
    # SCH2: after infusion 4 the phase ends either way; the result (dated after it and
    # on/before the first belimumab target) only decides whether to flag for review.
    phase.complete = True
    until = last + _days(BELIMUMAB_FIRST_OFFSET_DAYS)
    if first_belimumab is not None:
        until = min(until, first_belimumab)
    decisive, _undecided = deciding_result(results, last, until)
    values = {"n": n}
    if decisive is None:
        text = (
            _(
                "Rituximab complete after %(n)s infusions (SCH1 maximum); B-cell result after "
                "infusion %(n)s awaited (not depleted will be flagged for investigator review)."
            )
            % values
        )
        phase.decisions.append(Decision(DecisionCode.MAXIMUM_REACHED, text, Drug.RITUXIMAB, n))
        return
    values |= {"date": decisive.result.taken_on.isoformat(), "why": decisive.depletion.comparison}
    if decisive.depletion.depleted:
        text = (
            _(
                "Rituximab complete after %(n)s infusions (SCH1 maximum); B cells (%(date)s): "
                "%(why)s, depleted."
            )
            % values
        )
    else:
        text = (
            _(
                "Rituximab complete after %(n)s infusions (SCH1 maximum); B cells (%(date)s): "
                "%(why)s, not depleted after %(n)s infusions: investigator review (SCH2)."
            )
            % values
        )
        phase.flags.append(Flag(FlagCode.NOT_DEPLETED_AFTER_MAXIMUM, text))
    phase.decisions.append(
        Decision(DecisionCode.MAXIMUM_REACHED, text, Drug.RITUXIMAB, n, decisive.result)
    )
