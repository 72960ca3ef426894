"""The treatment schedule of NCT06410833: SCH1-SCH3, the EXC10/EXC11 gate and the visits.

Pure Python, no database, no clock.  The input is only what happened (planned Day 0, the
infusions given, the B-cell results, the assessment visits done) plus ``today``; every
target date, window, status, decision and deviation is derived from it on each call, so
nothing that can be derived is ever stored.

Clauses (shared/protocol/PROTOCOL.md):

* Day 0 is the date of the first rituximab; all arithmetic is whole days from Day 0.
* SCH1: rituximab target = previous rituximab + 7 days, window +-2; 2 to 4 infusions.
* SCH2: depleted = CD19+ < 0.5 % of lymphocytes OR absolute CD19+ < 20 x10^6/L (strict).
* SCH3: first belimumab = last rituximab + 28 (+-3); later = first belimumab ACTUAL date
  + 28k (+-3) while the target day <= 196.
* EXC10/EXC11: a gate before the first belimumab on labs within the 10 days before it.
* Visits: baseline on Day 0, week 12 and week 28 (+-7 days).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from trialsite.dates import study_day, within_days_before
from trialsite.protocol import (
    ASSESSMENT_VISITS,
    ASSESSMENT_WINDOW_DAYS,
    B_CELL_DEPLETION_ABSOLUTE_10E6_L,
    B_CELL_DEPLETION_PERCENT,
    BASELINE_WINDOW_DAYS,
    BELIMUMAB_FIRST_OFFSET_DAYS,
    BELIMUMAB_INTERVAL_DAYS,
    BELIMUMAB_LAST_TARGET_DAY,
    BELIMUMAB_WINDOW_DAYS,
    DAYS_PER_WEEK,
    IGA_MIN_G_L,
    IGG_MIN_G_L,
    NEUTROPHILS_MIN_10E9_L,
    PRE_BELIMUMAB_LAB_WINDOW_DAYS,
    RITUXIMAB_INTERVAL_DAYS,
    RITUXIMAB_MAX_INFUSIONS,
    RITUXIMAB_MIN_INFUSIONS,
    RITUXIMAB_WINDOW_DAYS,
    WBC_MIN_10E9_L,
)

BASELINE_VISIT_CODE = "BASELINE"
RITUXIMAB_VISIT_PREFIX = "RTX"
BELIMUMAB_VISIT_PREFIX = "BEL"

# Unit arithmetic, not protocol: CD19+ % of lymphocytes x lymphocytes (x10^9/L) gives
# x10^9/L after /100, and x10^6/L after x1000, i.e. a factor of 10 overall.
_PERCENT_TIMES_10E9_L_TO_10E6_L = Decimal(10)


# --- Enumerations -------------------------------------------------------------------


class Drug(StrEnum):
    RITUXIMAB = "rituximab"
    BELIMUMAB = "belimumab"


class Phase(StrEnum):
    NOT_STARTED = "not_started"
    RITUXIMAB = "rituximab"
    AWAITING_FIRST_BELIMUMAB = "awaiting_first_belimumab"
    BELIMUMAB = "belimumab"
    TREATMENT_COMPLETE = "treatment_complete"


class EventKind(StrEnum):
    INFUSION = "infusion"
    ASSESSMENT = "assessment"


class EventStatus(StrEnum):
    DONE_IN_WINDOW = "done_in_window"
    DONE_OUT_OF_WINDOW = "done_out_of_window"
    # Given although the plan had no place for it (rituximab after depletion, a fifth
    # rituximab, a belimumab beyond the last planned one); always with a deviation.
    DONE_NOT_PLANNED = "done_not_planned"
    DUE = "due"  # today is in the window, on or before the target
    OVERDUE = "overdue"  # today is after the target but still in the window
    MISSED = "missed"  # the window has ended without the event
    PLANNED = "planned"  # the window has not opened yet (or the date is projected)
    NOT_NEEDED = "not_needed"  # rituximab made unnecessary by depletion (SCH2)


class AbsoluteUnit(StrEnum):
    PER_10E6_L = "10e6/L"
    CELLS_PER_UL = "cells/uL"
    PER_10E9_L = "10e9/L"


# 1 cell/uL = 1 x10^6/L; 1 x10^9/L = 1000 x10^6/L (REFERENCE.md "Formulas and units").
_TO_10E6_L = {
    AbsoluteUnit.PER_10E6_L: Decimal(1),
    AbsoluteUnit.CELLS_PER_UL: Decimal(1),
    AbsoluteUnit.PER_10E9_L: Decimal(1000),
}


class DecisionCode(StrEnum):
    MINIMUM_NOT_REACHED = "minimum_not_reached"
    DEPLETED = "depleted"
    NOT_DEPLETED = "not_depleted"
    B_CELL_RESULT_AWAITED = "b_cell_result_awaited"
    GIVEN_WITHOUT_B_CELL_RESULT = "given_without_b_cell_result"
    MAXIMUM_REACHED = "maximum_reached"
    BELIMUMAB_PLAN = "belimumab_plan"
    TREATMENT_COMPLETE = "treatment_complete"


class FlagCode(StrEnum):
    NOT_DEPLETED_AFTER_MAXIMUM = "not_depleted_after_maximum"
    RITUXIMAB_WITHOUT_B_CELL_RESULT = "rituximab_without_b_cell_result"
    RITUXIMAB_PHASE_STALLED = "rituximab_phase_stalled"


class DeviationCode(StrEnum):
    INFUSION_OUT_OF_WINDOW = "infusion_out_of_window"
    INFUSION_MISSED = "infusion_missed"
    VISIT_OUT_OF_WINDOW = "visit_out_of_window"
    VISIT_MISSED = "visit_missed"
    RITUXIMAB_AFTER_DEPLETION = "rituximab_after_depletion"
    RITUXIMAB_BEYOND_MAXIMUM = "rituximab_beyond_maximum"
    RITUXIMAB_AFTER_BELIMUMAB = "rituximab_after_belimumab"
    BELIMUMAB_BEFORE_RITUXIMAB_COMPLETE = "belimumab_before_rituximab_complete"
    BELIMUMAB_BEYOND_PLAN = "belimumab_beyond_plan"


class RefusalCode(StrEnum):
    FUTURE_DATE = "future_date"
    BEFORE_DAY_0 = "before_day_0"
    BEFORE_PREVIOUS_INFUSION = "before_previous_infusion"
    SAME_DAY_AS_PREVIOUS_INFUSION = "same_day_as_previous_infusion"
    FIFTH_RITUXIMAB = "fifth_rituximab"
    RITUXIMAB_AFTER_DEPLETION = "rituximab_after_depletion"
    RITUXIMAB_AFTER_BELIMUMAB = "rituximab_after_belimumab"
    BELIMUMAB_BEFORE_RITUXIMAB_COMPLETE = "belimumab_before_rituximab_complete"
    BELIMUMAB_BEYOND_PLAN = "belimumab_beyond_plan"
    BEFORE_WINDOW = "before_window"
    PRE_BELIMUMAB_LABS_FAIL = "pre_belimumab_labs_fail"
    PRE_BELIMUMAB_LABS_MISSING = "pre_belimumab_labs_missing"


class Analyte(StrEnum):
    IGG = "igg"
    IGA = "iga"
    WBC = "wbc"
    NEUTROPHILS = "neutrophils"


class GateOutcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    MISSING = "missing"


# --- Inputs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Infusion:
    """An infusion actually given; its number is implied by date order."""

    drug: Drug
    given_on: date


@dataclass(frozen=True)
class BCellResult:
    """A CD19+ result in canonical units (see ``cd19_absolute_in_canonical``)."""

    taken_on: date
    cd19_percent: Decimal | None = None  # % of lymphocytes
    cd19_absolute_10e6_l: Decimal | None = None  # x10^6/L (= cells/uL)
    lymphocytes_10e9_l: Decimal | None = None  # x10^9/L, to derive the absolute count

    def __post_init__(self) -> None:
        for value in (self.cd19_percent, self.cd19_absolute_10e6_l, self.lymphocytes_10e9_l):
            if value is not None and value < 0:
                raise ValueError("B-cell values cannot be negative")


@dataclass(frozen=True)
class VisitDone:
    """An assessment visit actually done (visit codes BASELINE, W12, W28)."""

    visit_code: str
    done_on: date


@dataclass(frozen=True)
class LabResult:
    """A pre-belimumab lab in canonical units: g/L for IgG/IgA, x10^9/L for WBC/neutrophils."""

    analyte: Analyte
    taken_on: date
    value: Decimal


@dataclass(frozen=True, kw_only=True)
class ScheduleInputs:
    planned_day_0: date  # only used until the first rituximab is given
    today: date
    infusions: tuple[Infusion, ...] = ()
    b_cell_results: tuple[BCellResult, ...] = ()
    visits_done: tuple[VisitDone, ...] = ()
    # EXC10/EXC11 labs; only check_infusion_allowed reads them (first belimumab gate).
    labs: tuple[LabResult, ...] = ()


# --- Outputs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Depletion:
    depleted: bool | None  # None: the result cannot decide
    reason: str  # comparison and verdict, e.g. "CD19+ 0.3 % < 0.5 %: depleted (SCH2)"
    comparison: str  # the comparison alone, for composing decision texts
    percent: Decimal | None
    absolute_10e6_l: Decimal | None
    absolute_derived: bool  # computed from % x lymphocytes


@dataclass(frozen=True)
class Event:
    kind: EventKind
    visit_code: str  # BASELINE, RTX1..RTX4, BEL1..BELn, W12, W28
    label: str
    drug: Drug | None
    number: int | None  # infusion number within its drug
    target: date
    window_start: date
    window_end: date
    target_day: int  # study day of the target
    actual: date | None
    actual_day: int | None
    status: EventStatus
    # The date hangs on an event not yet done (planned Day 0, a first belimumab not yet
    # given); a projected event is never due or missed, it moves with its anchor.
    projected: bool = False


@dataclass(frozen=True)
class Decision:
    code: DecisionCode
    text: str
    drug: Drug
    after_infusion: int | None  # the infusion number the decision follows
    b_cell_result: BCellResult | None = None


@dataclass(frozen=True)
class Flag:
    code: FlagCode
    message: str


@dataclass(frozen=True)
class Deviation:
    code: DeviationCode
    visit_code: str
    on: date  # the date of the event, or the window end of a missed one
    description: str


@dataclass(frozen=True)
class Schedule:
    phase: Phase
    day_0: date  # actual Day 0 once the first rituximab is given, else the planned one
    day_0_is_actual: bool
    events: tuple[Event, ...]  # date order
    next_infusion: Event | None
    decisions: tuple[Decision, ...]
    flags: tuple[Flag, ...]
    deviations: tuple[Deviation, ...]
    rituximab_complete_after: int | None  # number of rituximab infusions in the phase
    belimumab_infusions_planned: int | None  # None until the rituximab phase has ended

    def event(self, visit_code: str) -> Event | None:
        return next((e for e in self.events if e.visit_code == visit_code), None)


@dataclass(frozen=True)
class GateFailure:
    clause: str  # EXC10 or EXC11
    analyte: Analyte
    value: Decimal
    minimum: Decimal
    taken_on: date


@dataclass(frozen=True)
class GateResult:
    outcome: GateOutcome
    used: tuple[LabResult, ...]  # the qualifying result per analyte that decided
    failures: tuple[GateFailure, ...]
    missing: tuple[Analyte, ...]
    reason: str


@dataclass(frozen=True)
class Refusal:
    code: RefusalCode
    message: str
    gate: GateResult | None = None


# --- Small helpers ------------------------------------------------------------------


def _num(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 20 -> "20", 0.50 -> "0.5"."""
    return format(value.normalize(), "f")


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _window(target: date, days: int) -> tuple[date, date]:
    return target - _days(days), target + _days(days)


def _status(target: date, start: date, end: date, actual: date | None, today: date) -> EventStatus:
    if actual is not None:
        if start <= actual <= end:
            return EventStatus.DONE_IN_WINDOW
        return EventStatus.DONE_OUT_OF_WINDOW
    if today < start:
        return EventStatus.PLANNED
    if today <= target:
        return EventStatus.DUE
    if today <= end:
        return EventStatus.OVERDUE
    return EventStatus.MISSED


def _anchor_status(planned_day_0: date, today: date) -> EventStatus:
    # Before the first rituximab, Day 0 is only planned: a late start moves Day 0 and
    # everything with it, so it is overdue but never missed (no deviation).
    if today < planned_day_0:
        return EventStatus.PLANNED
    if today == planned_day_0:
        return EventStatus.DUE
    return EventStatus.OVERDUE


def drug_label(drug: Drug) -> str:
    return _("Rituximab") if drug is Drug.RITUXIMAB else _("Belimumab")


def infusion_visit_code(drug: Drug, number: int) -> str:
    prefix = RITUXIMAB_VISIT_PREFIX if drug is Drug.RITUXIMAB else BELIMUMAB_VISIT_PREFIX
    return f"{prefix}{number}"


def _infusion_label(drug: Drug, number: int) -> str:
    if drug is Drug.RITUXIMAB:
        return _("Rituximab infusion %(n)s") % {"n": number}
    return _("Belimumab infusion %(n)s") % {"n": number}


def _visit_label(code: str, day: int) -> str:
    if code == BASELINE_VISIT_CODE:
        return _("Baseline visit (Day 0)")
    return _("Week %(week)s assessment visit") % {"week": day // DAYS_PER_WEEK}


# --- SCH2: B-cell depletion ---------------------------------------------------------


def cd19_absolute_in_canonical(value: Decimal, unit: AbsoluteUnit) -> Decimal:
    """An absolute CD19+ count converted to the canonical x10^6/L (SCH2 accepts both units)."""
    return value * _TO_10E6_L[unit]


def b_cell_absolute(result: BCellResult) -> tuple[Decimal | None, bool]:
    """The absolute CD19+ count (x10^6/L) SCH2 judges, and whether it is derived.

    The measured count; without it, % x lymphocytes when both are known (a measured count
    beats a derived one).  The number alone, without the texts of ``b_cell_depleted``
    (the B-cell chart plots thousands of them).
    """
    if result.cd19_absolute_10e6_l is not None:
        return result.cd19_absolute_10e6_l, False
    if result.cd19_percent is not None and result.lymphocytes_10e9_l is not None:
        derived = result.cd19_percent * result.lymphocytes_10e9_l * _PERCENT_TIMES_10E9_L_TO_10E6_L
        return derived, True
    return None, False


def b_cell_depleted(result: BCellResult) -> Depletion:
    """SCH2: depleted when CD19+ < 0.5 % OR absolute < 20 x10^6/L (strict on both).

    The absolute count is the measured one; without it, % x lymphocytes when both are
    known (``b_cell_absolute``).  SCH2 is an OR of two measures, so one
    measure below its threshold decides "depleted" alone, but "not depleted" needs both
    measures known and at or above their thresholds: a missing measure could be the low one.
    """
    percent = result.cd19_percent
    absolute, derived = b_cell_absolute(result)

    below: list[str] = []
    at_or_above: list[str] = []
    if percent is not None:
        values = {"value": _num(percent), "limit": _num(B_CELL_DEPLETION_PERCENT)}
        if percent < B_CELL_DEPLETION_PERCENT:
            below.append(_("CD19⁺ %(value)s %% < %(limit)s %%") % values)
        else:
            at_or_above.append(_("CD19⁺ %(value)s %% ≥ %(limit)s %%") % values)
    if absolute is not None:
        values = {"value": _num(absolute), "limit": _num(B_CELL_DEPLETION_ABSOLUTE_10E6_L)}
        if derived:
            text_below = _(
                "%(value)s ×10⁶/L (from %(percent)s %% × %(lymphocytes)s ×10⁹/L lymphocytes)"
                " < %(limit)s ×10⁶/L"
            )
            text_above = _(
                "%(value)s ×10⁶/L (from %(percent)s %% × %(lymphocytes)s ×10⁹/L lymphocytes)"
                " ≥ %(limit)s ×10⁶/L"
            )
            assert percent is not None and result.lymphocytes_10e9_l is not None
            values |= {"percent": _num(percent), "lymphocytes": _num(result.lymphocytes_10e9_l)}
        else:
            text_below = _("CD19⁺ %(value)s ×10⁶/L < %(limit)s ×10⁶/L")
            text_above = _("CD19⁺ %(value)s ×10⁶/L ≥ %(limit)s ×10⁶/L")
        if absolute < B_CELL_DEPLETION_ABSOLUTE_10E6_L:
            below.append(text_below % values)
        else:
            at_or_above.append(text_above % values)

    if below:
        depleted: bool | None = True
        comparison = _(" and ").join(below)
        reason = _("%(comparison)s: depleted (SCH2)") % {"comparison": comparison}
    elif percent is not None and absolute is not None:
        depleted = False
        comparison = _(" and ").join(at_or_above)
        reason = _("%(comparison)s: not depleted (SCH2)") % {"comparison": comparison}
    elif at_or_above:
        depleted = None
        missing = (
            _("absolute count (or lymphocyte count) not available")
            if absolute is None
            else _("CD19⁺ % not available")
        )
        comparison = _("%(known)s, %(missing)s") % {"known": at_or_above[0], "missing": missing}
        reason = _("%(comparison)s: depletion cannot be decided (SCH2)") % {
            "comparison": comparison
        }
    else:
        depleted = None
        comparison = _("no CD19⁺ value")
        reason = _("No CD19⁺ value: depletion cannot be decided (SCH2)")
    return Depletion(
        depleted=depleted,
        reason=reason,
        comparison=comparison,
        percent=percent,
        absolute_10e6_l=absolute,
        absolute_derived=derived,
    )


@dataclass(frozen=True)
class _Verdict:
    result: BCellResult
    depletion: Depletion


def _deciding_result(
    results: tuple[BCellResult, ...], after: date, until: date
) -> tuple[_Verdict | None, _Verdict | None]:
    """(latest decisive result, latest undecidable result) for one SCH2 decision.

    A result qualifies when dated strictly AFTER the infusion and on/before ``until`` (the
    next target day, or the next infusion if it came earlier).  Strictly after, because
    results carry a date and no time, and a sample on the infusion day is the pre-dose
    sample: it shows the B cells before that dose, so it cannot show what the dose did.
    The latest qualifying result decides (ties: the one entered last).
    """
    qualifying = sorted(
        (r for r in results if after < r.taken_on <= until), key=lambda r: r.taken_on
    )
    decisive: _Verdict | None = None
    undecided: _Verdict | None = None
    for result in qualifying:
        verdict = _Verdict(result, b_cell_depleted(result))
        if verdict.depletion.depleted is None:
            undecided = verdict
        else:
            decisive = verdict
    return decisive, undecided


# --- The plan (shared by build_schedule and check_infusion_allowed) -----------------


@dataclass
class _RituximabPhase:
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


@dataclass
class _Plan:
    day_0: date
    day_0_is_actual: bool
    rituximab: _RituximabPhase
    rituximab_given: list[date]
    belimumab_given: list[date]
    belimumab_early: bool = False  # first belimumab before the rituximab phase ended
    belimumab_targets: list[date] = field(default_factory=list)
    belimumab_assigned: dict[int, date] = field(default_factory=dict)  # slot index -> date
    belimumab_extra: list[date] = field(default_factory=list)


def _window_text(start: date, end: date) -> str:
    return _("window %(start)s to %(end)s") % {
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


def _walk_rituximab(
    rituximab: list[date], first_belimumab: date | None, results: tuple[BCellResult, ...]
) -> _RituximabPhase:
    phase = _RituximabPhase()
    # Once belimumab has started the rituximab phase is over, whatever it lacked.
    in_phase = [d for d in rituximab if first_belimumab is None or d < first_belimumab]
    phase.after_belimumab = [d for d in rituximab if d not in in_phase]
    if not in_phase:
        return phase
    phase.last_before_belimumab = in_phase[-1]

    n = 1
    while True:
        last = in_phase[n - 1]
        given_next = in_phase[n] if n < len(in_phase) else None
        target = last + _days(RITUXIMAB_INTERVAL_DAYS)
        start, end = _window(target, RITUXIMAB_WINDOW_DAYS)
        due = {
            "n": n,
            "next": n + 1,
            "target": target.isoformat(),
            "window": _window_text(start, end),
        }

        if n >= RITUXIMAB_MAX_INFUSIONS:
            _decide_after_maximum(phase, last, first_belimumab, results, n)
            break

        if n < RITUXIMAB_MIN_INFUSIONS:
            # SCH1: at least 2 infusions whatever the B cells show.
            text = _(
                "At least %(minimum)s rituximab infusions (SCH1): infusion %(next)s due "
                "%(target)s (%(window)s)."
            ) % (due | {"minimum": RITUXIMAB_MIN_INFUSIONS})
            phase.decisions.append(
                Decision(DecisionCode.MINIMUM_NOT_REACHED, text, Drug.RITUXIMAB, n)
            )
            if given_next is not None:
                n += 1
                continue
            phase.pending = (n + 1, target)
            break

        until = target if given_next is None else min(target, given_next)
        decisive, undecided = _deciding_result(results, last, until)
        if decisive is not None:
            values = due | {
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
                phase.not_needed = (n + 1, target)
                break
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
            if given_next is not None:
                n += 1
                continue
            phase.pending = (n + 1, target)
            break

        undecided_note = (
            _(" (result of %(date)s: %(reason)s)")
            % {
                "date": undecided.result.taken_on.isoformat(),
                "reason": undecided.depletion.reason,
            }
            if undecided is not None
            else ""
        )
        if given_next is not None:
            # SCH2 needs a result to stop; an infusion given without one means the
            # investigator went on, so it counts as "not depleted", with a warning.
            text = _(
                "No B-cell result after rituximab infusion %(n)s decided before infusion "
                "%(next)s was given on %(given)s%(note)s: treated as not depleted (SCH2)."
            ) % (due | {"given": given_next.isoformat(), "note": undecided_note})
            phase.decisions.append(
                Decision(DecisionCode.GIVEN_WITHOUT_B_CELL_RESULT, text, Drug.RITUXIMAB, n)
            )
            phase.flags.append(Flag(FlagCode.RITUXIMAB_WITHOUT_B_CELL_RESULT, text))
            n += 1
            continue
        text = _(
            "B-cell result after rituximab infusion %(n)s awaited%(note)s: it must be dated "
            "after %(given)s and on/before %(target)s; meanwhile infusion %(next)s stays due "
            "%(target)s (%(window)s) (SCH2)."
        ) % (due | {"given": last.isoformat(), "note": undecided_note})
        phase.decisions.append(
            Decision(DecisionCode.B_CELL_RESULT_AWAITED, text, Drug.RITUXIMAB, n)
        )
        phase.pending = (n + 1, target)
        break

    phase.counted = in_phase[:n]
    extra = in_phase[n:]  # empty unless the phase had already ended
    if phase.ended_by_depletion:
        phase.after_depletion = extra
    else:
        phase.beyond_maximum = extra
    return phase


def _decide_after_maximum(
    phase: _RituximabPhase,
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
    decisive, _undecided = _deciding_result(results, last, until)
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


def _assign_belimumab(given: list[date], targets: list[date]) -> tuple[dict[int, date], list[date]]:
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


def _plan(inputs: ScheduleInputs) -> _Plan:
    rituximab = sorted(i.given_on for i in inputs.infusions if i.drug is Drug.RITUXIMAB)
    belimumab = sorted(i.given_on for i in inputs.infusions if i.drug is Drug.BELIMUMAB)
    first_belimumab = belimumab[0] if belimumab else None
    phase = _walk_rituximab(rituximab, first_belimumab, inputs.b_cell_results)
    day_0 = phase.counted[0] if phase.counted else inputs.planned_day_0
    plan = _Plan(
        day_0=day_0,
        day_0_is_actual=bool(phase.counted),
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
    plan.belimumab_assigned, plan.belimumab_extra = _assign_belimumab(
        belimumab, plan.belimumab_targets
    )
    return plan


# --- The schedule -------------------------------------------------------------------


def _first_visit(inputs: ScheduleInputs, code: str) -> date | None:
    dates = [v.done_on for v in inputs.visits_done if v.visit_code == code]
    return min(dates) if dates else None


def _infusion_event(
    drug: Drug,
    number: int,
    target: date,
    window_days: int,
    actual: date | None,
    inputs: ScheduleInputs,
    day_0: date,
    *,
    projected: bool = False,
    status: EventStatus | None = None,
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
    )


def _rituximab_events(plan: _Plan, inputs: ScheduleInputs) -> list[Event]:
    phase, day_0 = plan.rituximab, plan.day_0
    events: list[Event] = []
    if not phase.counted and not plan.rituximab_given:
        # Not started: infusion 1 on the planned Day 0, infusion 2 projected from it
        # (SCH1's minimum of 2 makes it certain).
        events.append(
            _infusion_event(
                Drug.RITUXIMAB,
                1,
                day_0,
                0,
                None,
                inputs,
                day_0,
                status=_anchor_status(day_0, inputs.today),
            )
        )
        events.append(
            _infusion_event(
                Drug.RITUXIMAB,
                2,
                day_0 + _days(RITUXIMAB_INTERVAL_DAYS),
                RITUXIMAB_WINDOW_DAYS,
                None,
                inputs,
                day_0,
                projected=True,
            )
        )
        return events
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


def _belimumab_events(plan: _Plan, inputs: ScheduleInputs) -> list[Event]:
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


def _visit_events(plan: _Plan, inputs: ScheduleInputs) -> list[Event]:
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
        if actual is not None or plan.day_0_is_actual:
            status = _status(target, start, end, actual, inputs.today)
        elif code == BASELINE_VISIT_CODE:
            status = _anchor_status(day_0, inputs.today)
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
            )
        )
    return events


def _event_deviations(events: list[Event]) -> list[Deviation]:
    deviations: list[Deviation] = []
    for event in events:
        if event.status not in (EventStatus.DONE_OUT_OF_WINDOW, EventStatus.MISSED):
            continue  # no deviation: no text to build (most events)
        values = {
            "label": event.label,
            "target": event.target.isoformat(),
            "window": _window_text(event.window_start, event.window_end),
        }
        infusion = event.kind is EventKind.INFUSION
        if event.status is EventStatus.DONE_OUT_OF_WINDOW:
            assert event.actual is not None
            text = _(
                "%(label)s done on %(actual)s (day %(day)s), outside its %(window)s "
                "(target %(target)s)."
            ) % (values | {"actual": event.actual.isoformat(), "day": event.actual_day})
            code = (
                DeviationCode.INFUSION_OUT_OF_WINDOW
                if infusion
                else DeviationCode.VISIT_OUT_OF_WINDOW
            )
            deviations.append(Deviation(code, event.visit_code, event.actual, text))
        elif event.status is EventStatus.MISSED:
            text = (
                _("%(label)s missed: not done by the end of its %(window)s (target %(target)s).")
                % values
            )
            code = DeviationCode.INFUSION_MISSED if infusion else DeviationCode.VISIT_MISSED
            deviations.append(Deviation(code, event.visit_code, event.window_end, text))
    return deviations


def _unplanned_deviations(plan: _Plan, events: list[Event]) -> list[Deviation]:
    deviations: list[Deviation] = []
    phase = plan.rituximab
    reasons = (
        (
            phase.after_depletion,
            DeviationCode.RITUXIMAB_AFTER_DEPLETION,
            gettext_noop(
                "%(label)s given on %(date)s after B-cell depletion had ended the rituximab "
                "phase (SCH2)."
            ),
        ),
        (
            phase.beyond_maximum,
            DeviationCode.RITUXIMAB_BEYOND_MAXIMUM,
            gettext_noop(
                "%(label)s given on %(date)s beyond the maximum of %(maximum)s rituximab "
                "infusions (SCH1)."
            ),
        ),
        (
            phase.after_belimumab,
            DeviationCode.RITUXIMAB_AFTER_BELIMUMAB,
            gettext_noop("%(label)s given on %(date)s after belimumab had started (SCH1/SCH3)."),
        ),
        (
            plan.belimumab_extra,
            DeviationCode.BELIMUMAB_BEYOND_PLAN,
            gettext_noop(
                "%(label)s given on %(date)s beyond the last planned belimumab infusion (SCH3)."
            ),
        ),
    )  # translated only when a deviation is found (rare), not for every schedule
    unplanned = {(e.drug, e.actual): e for e in events if e.status is EventStatus.DONE_NOT_PLANNED}
    for dates, code, template in reasons:
        if code is DeviationCode.BELIMUMAB_BEYOND_PLAN and phase.last_before_belimumab is None:
            continue  # no rituximab at all: reported once as "before rituximab complete"
        drug = Drug.BELIMUMAB if code is DeviationCode.BELIMUMAB_BEYOND_PLAN else Drug.RITUXIMAB
        for given_on in dates:
            event = unplanned[(drug, given_on)]
            text = _(template) % {
                "label": event.label,
                "date": given_on.isoformat(),
                "maximum": RITUXIMAB_MAX_INFUSIONS,
            }
            deviations.append(Deviation(code, event.visit_code, given_on, text))
    if plan.belimumab_early:
        first = plan.belimumab_given[0]
        text = _(
            "Belimumab infusion 1 given on %(date)s before the rituximab phase was complete "
            "(SCH2/SCH3)."
        ) % {"date": first.isoformat()}
        deviations.append(
            Deviation(
                DeviationCode.BELIMUMAB_BEFORE_RITUXIMAB_COMPLETE,
                infusion_visit_code(Drug.BELIMUMAB, 1),
                first,
                text,
            )
        )
    return deviations


def _belimumab_decisions(plan: _Plan, phase: Phase) -> list[Decision]:
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


def _phase(plan: _Plan, today: date) -> Phase:
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


def build_schedule(inputs: ScheduleInputs) -> Schedule:
    """Every event past and future, decisions, flags and deviations, as of ``inputs.today``."""
    plan = _plan(inputs)
    phase = _phase(plan, inputs.today)
    events = sorted(
        _visit_events(plan, inputs)
        + _rituximab_events(plan, inputs)
        + _belimumab_events(plan, inputs),
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
    return Schedule(
        phase=phase,
        day_0=plan.day_0,
        day_0_is_actual=plan.day_0_is_actual,
        events=tuple(events),
        next_infusion=_next_infusion(events, phase),
        decisions=tuple(plan.rituximab.decisions + _belimumab_decisions(plan, phase)),
        flags=tuple(flags),
        deviations=tuple(_event_deviations(events) + _unplanned_deviations(plan, events)),
        rituximab_complete_after=(len(plan.rituximab.counted) if plan.rituximab.complete else None),
        belimumab_infusions_planned=len(plan.belimumab_targets) or None,
    )


# --- Refusals -----------------------------------------------------------------------


def check_infusion_allowed(inputs: ScheduleInputs, drug: Drug, on_date: date) -> Refusal | None:
    """Why an infusion of ``drug`` on ``on_date`` cannot be recorded, or None if it can.

    A late infusion is allowed (it is recorded and becomes an out-of-window deviation);
    refused are infusions the protocol has no place for, and infusions dated before the
    window of the event they would become opens (safety decision: SCH1/SCH3 windows are
    minimum intervals between doses, so an early dose is refused rather than recorded as
    a deviation; a late one can only be recorded).  The first belimumab also needs the
    EXC10/EXC11 gate to pass on ``inputs.labs``.
    """
    values = {"date": on_date.isoformat(), "drug": drug_label(drug)}
    if on_date > inputs.today:
        return Refusal(
            RefusalCode.FUTURE_DATE,
            _("%(drug)s on %(date)s is after today (%(today)s): record infusions once given.")
            % (values | {"today": inputs.today.isoformat()}),
        )
    given = sorted(i.given_on for i in inputs.infusions)
    plan = _plan(inputs)
    if not plan.day_0_is_actual and on_date < inputs.planned_day_0:
        # EXC5's windows were checked against the planned Day 0; an earlier start needs
        # the planned Day 0 moved (and EXC5 re-checked) first.
        return Refusal(
            RefusalCode.BEFORE_DAY_0,
            _(
                "%(drug)s on %(date)s is before the planned Day 0 (%(day_0)s): change the "
                "planned Day 0 first, so that EXC5 is checked against it."
            )
            % (values | {"day_0": inputs.planned_day_0.isoformat()}),
        )
    if plan.day_0_is_actual and on_date < plan.day_0:
        return Refusal(
            RefusalCode.BEFORE_DAY_0,
            _("%(drug)s on %(date)s is before Day 0 (first rituximab on %(day_0)s).")
            % (values | {"day_0": plan.day_0.isoformat()}),
        )
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

    # Judge the infusion as part of the record it would join, so the B-cell results are
    # cut off at its date exactly as build_schedule will cut them off.
    trial = _plan(replace(inputs, infusions=inputs.infusions + (Infusion(drug, on_date),)))
    if drug is Drug.RITUXIMAB:
        if on_date in trial.rituximab.after_belimumab:
            return Refusal(
                RefusalCode.RITUXIMAB_AFTER_BELIMUMAB,
                _("Rituximab on %(date)s: belimumab has started, the rituximab phase is over.")
                % values,
            )
        if on_date in trial.rituximab.beyond_maximum:
            return Refusal(
                RefusalCode.FIFTH_RITUXIMAB,
                _(
                    "Rituximab on %(date)s would be infusion %(n)s: at most %(maximum)s "
                    "rituximab infusions (SCH1)."
                )
                % (values | {"n": len(trial.rituximab_given), "maximum": RITUXIMAB_MAX_INFUSIONS}),
            )
        if on_date in trial.rituximab.after_depletion:
            depleted = next(d for d in trial.rituximab.decisions if d.code is DecisionCode.DEPLETED)
            return Refusal(
                RefusalCode.RITUXIMAB_AFTER_DEPLETION,
                _("Rituximab on %(date)s is not needed: %(decision)s")
                % (values | {"decision": depleted.text}),
            )
        return _before_window(trial, drug, on_date)

    first_belimumab = not plan.belimumab_given
    if first_belimumab and trial.belimumab_early:
        return Refusal(
            RefusalCode.BELIMUMAB_BEFORE_RITUXIMAB_COMPLETE,
            _(
                "Belimumab on %(date)s: the rituximab phase is not complete (B-cell "
                "depletion or %(maximum)s rituximab infusions first, SCH2/SCH3)."
            )
            % (values | {"maximum": RITUXIMAB_MAX_INFUSIONS}),
        )
    if on_date in trial.belimumab_extra:
        return Refusal(
            RefusalCode.BELIMUMAB_BEYOND_PLAN,
            _(
                "Belimumab on %(date)s: the last planned belimumab infusion (%(count)s) is "
                "already recorded (SCH3)."
            )
            % (values | {"count": len(plan.belimumab_targets)}),
        )
    early = _before_window(trial, drug, on_date)
    if early is not None:
        return early
    if first_belimumab:
        gate = belimumab_lab_gate(on_date, inputs.labs)
        if gate.outcome is GateOutcome.FAIL:
            return Refusal(RefusalCode.PRE_BELIMUMAB_LABS_FAIL, gate.reason, gate)
        if gate.outcome is GateOutcome.MISSING:
            return Refusal(RefusalCode.PRE_BELIMUMAB_LABS_MISSING, gate.reason, gate)
    return None


def _before_window(trial: _Plan, drug: Drug, on_date: date) -> Refusal | None:
    """A refusal when ``on_date`` is before the window of the event it would become.

    ``trial`` is the plan with the infusion already added, so the event is the one
    build_schedule will number it as (rituximab n: previous + 7 +-2, SCH1; belimumab 1:
    last rituximab + 28 +-3, later ones the nearest open target +-3, SCH3).  Rituximab 1
    defines Day 0 and has no window of its own (the planned Day 0 check covers it).
    """
    if drug is Drug.RITUXIMAB:
        counted = trial.rituximab.counted
        if on_date not in counted or counted.index(on_date) == 0:
            return None
        number = counted.index(on_date) + 1
        target = counted[number - 2] + _days(RITUXIMAB_INTERVAL_DAYS)
        start, end = _window(target, RITUXIMAB_WINDOW_DAYS)
        clause = "SCH1"
    else:
        slot = next((i for i, d in trial.belimumab_assigned.items() if d == on_date), None)
        if slot is None:
            return None
        number = slot + 1
        target = trial.belimumab_targets[slot]
        start, end = _window(target, BELIMUMAB_WINDOW_DAYS)
        clause = "SCH3"
    if on_date >= start:
        return None
    return Refusal(
        RefusalCode.BEFORE_WINDOW,
        _(
            "%(label)s on %(date)s is too early: target %(target)s, %(window)s "
            "(%(clause)s). An infusion cannot be given before its window opens (not "
            "before %(start)s)."
        )
        % {
            "label": _infusion_label(drug, number),
            "date": on_date.isoformat(),
            "target": target.isoformat(),
            "window": _window_text(start, end),
            "clause": clause,
            "start": start.isoformat(),
        },
    )


# --- EXC10/EXC11: the gate before the first belimumab --------------------------------

_GATE_RULES: tuple[tuple[Analyte, Decimal, str], ...] = (
    (Analyte.IGG, IGG_MIN_G_L, "EXC10"),
    (Analyte.IGA, IGA_MIN_G_L, "EXC10"),
    (Analyte.WBC, WBC_MIN_10E9_L, "EXC11"),
    (Analyte.NEUTROPHILS, NEUTROPHILS_MIN_10E9_L, "EXC11"),
)


def analyte_label(analyte: Analyte) -> str:
    return {
        Analyte.IGG: _("IgG"),
        Analyte.IGA: _("IgA"),
        Analyte.WBC: _("WBC"),
        Analyte.NEUTROPHILS: _("neutrophils"),
    }[analyte]


def analyte_unit(analyte: Analyte) -> str:
    return "g/L" if analyte in (Analyte.IGG, Analyte.IGA) else "×10⁹/L"


def belimumab_lab_gate(first_belimumab_date: date, labs: Iterable[LabResult]) -> GateResult:
    """EXC10/EXC11 on the most recent result per analyte within the 10 days before.

    D-10 <= date <= D (a result exactly 10 days old counts, PROTOCOL.md "Time").  Any
    failing analyte gives FAIL (failing labs end treatment, even if others are missing);
    otherwise any analyte without a qualifying result gives MISSING; otherwise PASS.
    """
    labs = tuple(labs)
    oldest = first_belimumab_date - _days(PRE_BELIMUMAB_LAB_WINDOW_DAYS)
    used: list[LabResult] = []
    failures: list[GateFailure] = []
    missing: list[Analyte] = []
    lines: list[str] = []
    failing: list[str] = []
    for analyte, minimum, clause in _GATE_RULES:
        qualifying = sorted(
            (
                lab
                for lab in labs
                if lab.analyte is analyte
                and within_days_before(
                    lab.taken_on, first_belimumab_date, PRE_BELIMUMAB_LAB_WINDOW_DAYS
                )
            ),
            key=lambda lab: lab.taken_on,
        )
        if not qualifying:
            missing.append(analyte)
            continue
        latest = qualifying[-1]  # stable sort: same-day ties go to the one entered last
        used.append(latest)
        values = {
            "analyte": analyte_label(analyte),
            "value": _num(latest.value),
            "minimum": _num(minimum),
            "unit": analyte_unit(analyte),
            "date": latest.taken_on.isoformat(),
            "clause": clause,
        }
        if latest.value < minimum:
            failures.append(GateFailure(clause, analyte, latest.value, minimum, latest.taken_on))
            failing.append(
                _("%(clause)s: %(analyte)s %(value)s %(unit)s < %(minimum)s %(unit)s (%(date)s)")
                % values
            )
        else:
            lines.append(
                _("%(analyte)s %(value)s %(unit)s ≥ %(minimum)s %(unit)s (%(date)s)") % values
            )

    period = {"first": first_belimumab_date.isoformat(), "oldest": oldest.isoformat()}
    missing_text = ", ".join(analyte_label(a) for a in missing)
    if failures:
        reason = _(
            "Labs before the first belimumab on %(first)s fail %(failing)s: the first "
            "belimumab cannot be given and treatment ends (discontinued)."
        ) % (period | {"failing": "; ".join(failing)})
        if missing:
            reason += " " + _("Also without a result from %(oldest)s on: %(missing)s.") % (
                period | {"missing": missing_text}
            )
        outcome = GateOutcome.FAIL
    elif missing:
        reason = _(
            "No result dated %(oldest)s to %(first)s (within %(days)s days before the first "
            "belimumab) for: %(missing)s (EXC10/EXC11)."
        ) % (period | {"missing": missing_text, "days": PRE_BELIMUMAB_LAB_WINDOW_DAYS})
        outcome = GateOutcome.MISSING
    else:
        reason = _(
            "Labs before the first belimumab on %(first)s pass EXC10/EXC11: %(results)s."
        ) % (period | {"results": "; ".join(lines)})
        outcome = GateOutcome.PASS
    return GateResult(
        outcome=outcome,
        used=tuple(used),
        failures=tuple(failures),
        missing=tuple(missing),
        reason=reason,
    )
