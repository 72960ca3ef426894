"""What the treatment engine reads and what it answers: the codes, the facts, the course.

The enumerations here are the ones the models store too (``dosing.models`` imports them),
so a drug, a unit or a deviation category has one code everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy

from trialsite.texts import Text
from trialsite.units import LabTest

# --- Codes the models store too --------------------------------------------------------


class Drug(TextChoices):
    RITUXIMAB = "rituximab", gettext_lazy("Rituximab")
    BELIMUMAB = "belimumab", gettext_lazy("Belimumab")


class AbsoluteCountUnit(TextChoices):
    """The units an absolute CD19⁺ count is reported in (SCH2 accepts all of them)."""

    PER_10E6_L = "10e6/L", "×10⁶/L"
    CELLS_PER_UL = "cells/uL", gettext_lazy("cells/µL")
    PER_10E9_L = "10e9/L", "×10⁹/L"


class DeviationCategory(TextChoices):
    # Found by the engine in the participant's facts (automatic deviations).
    INFUSION_OUT_OF_WINDOW = "infusion_out_of_window", gettext_lazy("Infusion out of window")
    INFUSION_MISSED = "infusion_missed", gettext_lazy("Infusion missed")
    VISIT_OUT_OF_WINDOW = "visit_out_of_window", gettext_lazy("Visit out of window")
    VISIT_MISSED = "visit_missed", gettext_lazy("Visit missed")
    RITUXIMAB_AFTER_DEPLETION = (
        "rituximab_after_depletion",
        gettext_lazy("Rituximab after depletion"),
    )
    RITUXIMAB_BEYOND_MAXIMUM = (
        "rituximab_beyond_maximum",
        gettext_lazy("Rituximab beyond the maximum number of infusions"),
    )
    RITUXIMAB_AFTER_BELIMUMAB = (
        "rituximab_after_belimumab",
        gettext_lazy("Rituximab after belimumab"),
    )
    BELIMUMAB_BEFORE_RITUXIMAB_COMPLETE = (
        "belimumab_before_rituximab_complete",
        gettext_lazy("Belimumab before rituximab was complete"),
    )
    BELIMUMAB_BEYOND_PLAN = "belimumab_beyond_plan", gettext_lazy("Belimumab beyond the plan")
    # Recorded by the site by hand.
    CONSENT = "consent", gettext_lazy("Consent")
    ELIGIBILITY = "eligibility", gettext_lazy("Eligibility")
    DOSING = "dosing", gettext_lazy("Dosing or administration")
    PROCEDURE = "procedure", gettext_lazy("Study procedure")
    OTHER = "other", gettext_lazy("Other")


# --- The engine's own codes ------------------------------------------------------------


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
    # The window has ended and nothing is recorded: still to be recorded (on any date) or
    # confirmed not done.  Time passing never decides that an event did not happen.
    NOT_RECORDED = "not_recorded"
    MISSED = "missed"  # an investigator confirmed it was not given / not done
    PLANNED = "planned"  # the window has not opened yet (or the date is projected)
    NOT_NEEDED = "not_needed"  # rituximab made unnecessary by depletion (SCH2)


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


class GateOutcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    MISSING = "missing"


# --- Facts: what happened ----------------------------------------------------------------


@dataclass(frozen=True)
class Infusion:
    """An infusion actually given; its number is implied by date order."""

    drug: Drug
    given_on: date


@dataclass(frozen=True)
class BCellResult:
    """A CD19+ result in canonical units (see ``sch2_depletion.cd19_absolute_in_canonical``)."""

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
class NotDone:
    """An investigator's confirmation that a scheduled event was not given / not done."""

    visit_code: str
    confirmed_on: date
    reason: str = ""


@dataclass(frozen=True)
class LabValue:
    """A lab value in its canonical unit: g/L for IgG/IgA, x10^9/L for WBC/neutrophils."""

    analyte: LabTest
    taken_on: date
    value: Decimal


@dataclass(frozen=True, kw_only=True)
class CourseFacts:
    planned_day_0: date  # only used until the first rituximab is given
    today: date
    infusions: tuple[Infusion, ...] = ()
    b_cell_results: tuple[BCellResult, ...] = ()
    visits_done: tuple[VisitDone, ...] = ()
    # EXC10/EXC11 labs; only the first belimumab's gate reads them.
    labs: tuple[LabValue, ...] = ()
    not_done: tuple[NotDone, ...] = ()  # events confirmed not given / not done
    # The planned date of an open belimumab prescription: while no belimumab is given, the
    # first belimumab's, the date its EXC10/EXC11 gate is judged against.
    belimumab_prescribed_on: date | None = None


# --- The course: what the engine answers ---------------------------------------------------


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
    # On the planned Day 0 itself (rituximab 1, the baseline, before Day 0 is given): a late
    # start moves it, so it is overdue at worst, never "not recorded".
    moves_with_plan: bool = False
    # What decided the target: the event (or "planned Day 0") it is counted from, that
    # date, and the clause (README "The course").
    anchor: str = ""
    anchor_date: date | None = None
    clause: str = ""
    not_done: NotDone | None = None  # the confirmation, when status is MISSED


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
    code: DeviationCategory
    visit_code: str
    on: date  # the date of the event, or the window end of a missed one
    description: str
    # the description as a code with parameters (trialsite.texts); not part of equality
    text: Text | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Course:
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
    analyte: LabTest
    value: Decimal
    minimum: Decimal
    taken_on: date


@dataclass(frozen=True)
class GateResult:
    outcome: GateOutcome
    used: tuple[LabValue, ...]  # the qualifying result per analyte that decided
    failures: tuple[GateFailure, ...]
    missing: tuple[LabTest, ...]
    reason: str
    # a failing gate's reason as a code with parameters; not part of equality
    text: Text | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Refusal:
    code: RefusalCode
    message: str
    gate: GateResult | None = None
