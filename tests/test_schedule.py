"""SCH1-SCH3, the visit windows, check_infusion_allowed and the EXC10/EXC11 gate.

Dates are written as study days from DAY_0 (a Monday) so each test reads like the protocol.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from dosing.engine import (
    GATE_TESTS,
    AbsoluteCountUnit,
    BCellResult,
    Course,
    CourseFacts,
    Decision,
    DecisionCode,
    DeviationCategory,
    Drug,
    Event,
    EventStatus,
    FlagCode,
    GateOutcome,
    Infusion,
    LabValue,
    NotDone,
    Phase,
    Refusal,
    RefusalCode,
    VisitDone,
    b_cell_absolute,
    b_cell_depleted,
    belimumab_lab_gate,
    build_course,
    cd19_absolute_in_canonical,
    check_infusion_allowed,
)
from trialsite.protocol import ASSESSMENT_VISITS, BELIMUMAB_LAST_TARGET_DAY, CRF_ENTRY_DAYS
from trialsite.units import LabTest

DAY_0 = date(2026, 3, 2)


def day(n: int) -> date:
    return DAY_0 + timedelta(days=n)


def dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class Participant:
    """What happened to one child, in study days; each test adds only the facts it tests.

    By default the assessment visits are done on their target days (relative to the first
    rituximab, once ``today`` has reached them), so that a test about infusions sees no
    visit deviations; visit tests pass ``visits_on_schedule=False`` or record the visit.
    """

    def __init__(self, planned_day_0: int = 0, visits_on_schedule: bool = True) -> None:
        self.planned_day_0 = day(planned_day_0)
        self.visits_on_schedule = visits_on_schedule
        self.infusions: list[Infusion] = []
        self.b_cells: list[BCellResult] = []
        self.visits: list[VisitDone] = []
        self.labs: list[LabValue] = []
        self.not_done: list[NotDone] = []

    def rituximab(self, *days: int) -> Participant:
        self.infusions += [Infusion(Drug.RITUXIMAB, day(n)) for n in days]
        return self

    def belimumab(self, *days: int) -> Participant:
        self.infusions += [Infusion(Drug.BELIMUMAB, day(n)) for n in days]
        return self

    def b_cell_result(
        self,
        on_day: int,
        percent: str | None = None,
        absolute: str | None = None,
        lymphocytes: str | None = None,
    ) -> Participant:
        self.b_cells.append(BCellResult(day(on_day), dec(percent), dec(absolute), dec(lymphocytes)))
        return self

    def not_depleted(self, on_day: int) -> Participant:
        return self.b_cell_result(on_day, percent="2.1", absolute="35")

    def depleted(self, on_day: int) -> Participant:
        return self.b_cell_result(on_day, percent="0.3", absolute="5")

    def visit(self, code: str, on_day: int) -> Participant:
        self.visits.append(VisitDone(code, day(on_day)))
        return self

    def not_given(self, code: str, on_day: int, reason: str = "family travelling") -> Participant:
        """An investigator confirms the event ``code`` was not given / not done."""
        self.not_done.append(NotDone(code, day(on_day), reason))
        return self

    def lab(self, analyte: LabTest, on_day: int, value: str) -> Participant:
        self.labs.append(LabValue(analyte, day(on_day), Decimal(value)))
        return self

    def passing_labs(self, on_day: int) -> Participant:
        return (
            self.lab(LabTest.IGG, on_day, "6.2")
            .lab(LabTest.IGA, on_day, "0.8")
            .lab(LabTest.WBC, on_day, "5.1")
            .lab(LabTest.NEUTROPHILS, on_day, "2.4")
        )

    def _visits(self, today: int) -> list[VisitDone]:
        visits = list(self.visits)
        rituximab = [i.given_on for i in self.infusions if i.drug is Drug.RITUXIMAB]
        if not (self.visits_on_schedule and rituximab):
            return visits
        recorded = {v.visit_code for v in visits}
        for code, offset in (("BASELINE", 0), *ASSESSMENT_VISITS):
            when = min(rituximab) + timedelta(days=offset)
            if code not in recorded and when <= day(today):
                visits.append(VisitDone(code, when))
        return visits

    def inputs(self, today: int) -> CourseFacts:
        return CourseFacts(
            planned_day_0=self.planned_day_0,
            today=day(today),
            infusions=tuple(self.infusions),
            b_cell_results=tuple(self.b_cells),
            visits_done=tuple(self._visits(today)),
            labs=tuple(self.labs),
            not_done=tuple(self.not_done),
        )

    def schedule(self, today: int) -> Course:
        return build_course(self.inputs(today))

    def check(self, drug: Drug, on_day: int, today: int | None = None) -> Refusal | None:
        return check_infusion_allowed(
            self.inputs(on_day if today is None else today), drug, day(on_day)
        )


def depleted_after_two(visits_on_schedule: bool = True) -> Participant:
    """Rituximab on days 0 and 7, B cells depleted on day 12: belimumab 1 due day 35."""
    return Participant(visits_on_schedule=visits_on_schedule).rituximab(0, 7).depleted(12)


def never_depleted() -> Participant:
    """Four rituximab infusions on time, B cells never depleted: belimumab 1 due day 49."""
    return Participant().rituximab(0, 7, 14, 21).not_depleted(12).not_depleted(19).not_depleted(26)


def event(schedule: Course, code: str) -> Event:
    found = schedule.event(code)
    assert found is not None, f"no event {code}"
    return found


def decision(schedule: Course, code: DecisionCode) -> Decision:
    found = [d for d in schedule.decisions if d.code is code]
    assert len(found) == 1, f"{len(found)} decisions {code}"
    return found[0]


def deviation_codes(schedule: Course) -> list[tuple[DeviationCategory, str]]:
    return [(d.code, d.visit_code) for d in schedule.deviations]


def infusion_days(schedule: Course, drug: Drug) -> list[int]:
    return [e.target_day for e in schedule.events if e.drug is drug]


def bcells(
    percent: str | None = None, absolute: str | None = None, lymphocytes: str | None = None
) -> BCellResult:
    return BCellResult(day(10), dec(percent), dec(absolute), dec(lymphocytes))


# --- SCH2: what counts as depleted --------------------------------------------------


def test_percentage_alone_below_half_a_percent_is_depleted():
    depletion = b_cell_depleted(bcells(percent="0.3"))
    assert depletion.depleted is True
    assert "0.3 % < 0.5 %" in depletion.reason


def test_absolute_count_alone_below_20_is_depleted():
    depletion = b_cell_depleted(bcells(absolute="15"))
    assert depletion.depleted is True
    assert "15 ×10⁶/L < 20 ×10⁶/L" in depletion.reason


def test_absolute_count_below_20_depletes_when_the_percentage_does_not():
    assert b_cell_depleted(bcells(percent="0.8", absolute="19.9")).depleted is True


def test_percentage_below_half_a_percent_depletes_when_the_absolute_count_does_not():
    assert b_cell_depleted(bcells(percent="0.49", absolute="40")).depleted is True


def test_exactly_half_a_percent_is_not_depleted():
    depletion = b_cell_depleted(bcells(percent="0.5", absolute="50"))
    assert depletion.depleted is False
    assert "not depleted" in depletion.reason


def test_exactly_20_per_litre_is_not_depleted():
    assert b_cell_depleted(bcells(percent="2", absolute="20")).depleted is False


def test_absolute_count_is_derived_from_percentage_and_lymphocytes():
    depletion = b_cell_depleted(bcells(percent="1.0", lymphocytes="1.5"))
    assert depletion.absolute_10e6_l == Decimal("15")
    assert depletion.absolute_derived is True
    assert depletion.depleted is True
    assert "1.5 ×10⁹/L lymphocytes" in depletion.reason


def test_derived_absolute_count_of_exactly_20_is_not_depleted():
    depletion = b_cell_depleted(bcells(percent="2.5", lymphocytes="0.8"))
    assert depletion.absolute_10e6_l == Decimal("20")
    assert depletion.depleted is False


def test_measured_absolute_count_wins_over_the_derived_one():
    depletion = b_cell_depleted(bcells(percent="1.0", absolute="25", lymphocytes="1.5"))
    assert depletion.absolute_10e6_l == Decimal("25")
    assert depletion.absolute_derived is False
    assert depletion.depleted is False


def test_one_measure_at_or_above_its_threshold_alone_cannot_decide():
    # The missing measure could be the low one: "not depleted" needs both.
    depletion = b_cell_depleted(bcells(percent="2.1"))
    assert depletion.depleted is None
    assert "absolute count" in depletion.reason


def test_a_result_without_values_cannot_decide():
    assert b_cell_depleted(bcells()).depleted is None


@pytest.mark.parametrize(
    "result",
    [
        bcells(absolute="25"),
        bcells(percent="1.0", lymphocytes="1.5"),
        bcells(percent="1.0", absolute="25", lymphocytes="1.5"),
        bcells(percent="2.1"),
        bcells(),
    ],
)
def test_the_absolute_count_alone_is_the_one_depletion_judges(result):
    # The B-cell chart plots b_cell_absolute (no texts); it must be the count SCH2 uses.
    depletion = b_cell_depleted(result)
    assert b_cell_absolute(result) == (depletion.absolute_10e6_l, depletion.absolute_derived)


def test_absolute_counts_in_other_units_convert_to_the_canonical_unit():
    assert cd19_absolute_in_canonical(Decimal("0.015"), AbsoluteCountUnit.PER_10E9_L) == 15
    assert cd19_absolute_in_canonical(Decimal("15"), AbsoluteCountUnit.CELLS_PER_UL) == 15


# --- SCH1/SCH2: the rituximab phase ------------------------------------------------


def test_rituximab_stops_after_two_doses_when_depleted():
    schedule = depleted_after_two().schedule(today=13)
    assert schedule.phase is Phase.AWAITING_FIRST_BELIMUMAB
    assert schedule.rituximab_complete_after == 2
    assert event(schedule, "RTX3").status is EventStatus.NOT_NEEDED
    assert schedule.event("RTX4") is None
    text = decision(schedule, DecisionCode.DEPLETED).text
    assert "0.3 % < 0.5 %" in text
    assert "rituximab complete after 2 infusions" in text


def test_rituximab_stops_after_three_doses_when_depleted():
    schedule = Participant().rituximab(0, 7, 14).not_depleted(12).depleted(19).schedule(today=20)
    assert schedule.rituximab_complete_after == 3
    assert event(schedule, "RTX4").status is EventStatus.NOT_NEEDED
    assert schedule.next_infusion == event(schedule, "BEL1")
    assert event(schedule, "BEL1").target == day(14 + 28)


def test_rituximab_never_depleted_gives_four_doses_and_flags_investigator_review():
    schedule = never_depleted().schedule(today=27)
    assert schedule.phase is Phase.AWAITING_FIRST_BELIMUMAB
    assert schedule.rituximab_complete_after == 4
    assert [f.code for f in schedule.flags] == [FlagCode.NOT_DEPLETED_AFTER_MAXIMUM]
    assert "investigator review" in schedule.flags[0].message
    assert event(schedule, "BEL1").target == day(21 + 28)
    assert schedule.event("RTX5") is None


def test_four_doses_without_a_result_after_the_fourth_are_complete_but_not_flagged_yet():
    schedule = (Participant().rituximab(0, 7, 14, 21).not_depleted(12).not_depleted(19)).schedule(
        today=22
    )
    assert schedule.rituximab_complete_after == 4
    assert schedule.flags == ()
    assert "awaited" in decision(schedule, DecisionCode.MAXIMUM_REACHED).text


def test_a_b_cell_result_after_the_first_belimumab_does_not_count_for_the_fourth_dose():
    schedule = (
        Participant()
        .rituximab(0, 7, 14, 21)
        .not_depleted(12)
        .not_depleted(19)
        .belimumab(47)
        .not_depleted(48)
    ).schedule(today=48)
    assert schedule.flags == ()


def test_depletion_after_the_fourth_dose_is_not_flagged():
    schedule = (
        Participant().rituximab(0, 7, 14, 21).not_depleted(12).not_depleted(19).depleted(25)
    ).schedule(today=26)
    assert schedule.rituximab_complete_after == 4
    assert schedule.flags == ()


def test_not_depleted_decision_names_the_values_and_the_next_infusion():
    schedule = Participant().rituximab(0, 7, 14).not_depleted(12).not_depleted(19)
    last = schedule.schedule(today=20).decisions[-1]
    assert last.code is DecisionCode.NOT_DEPLETED
    assert last.after_infusion == 3
    assert "2.1 % ≥ 0.5 %" in last.text
    assert "35 ×10⁶/L ≥ 20 ×10⁶/L" in last.text
    assert "infusion 4 due 2026-03-23" in last.text


def test_a_b_cell_result_on_the_infusion_day_does_not_decide():
    schedule = Participant().rituximab(0, 7).depleted(7).schedule(today=8)
    assert schedule.phase is Phase.RITUXIMAB
    assert schedule.decisions[-1].code is DecisionCode.B_CELL_RESULT_AWAITED


def test_a_b_cell_result_on_the_next_target_day_decides():
    schedule = Participant().rituximab(0, 7).depleted(14).schedule(today=14)
    assert schedule.rituximab_complete_after == 2


def test_a_b_cell_result_after_the_next_target_day_does_not_decide():
    schedule = Participant().rituximab(0, 7).depleted(15).schedule(today=15)
    assert schedule.phase is Phase.RITUXIMAB
    assert schedule.rituximab_complete_after is None


def test_a_result_dated_after_the_next_infusion_was_given_early_does_not_decide_it():
    # Infusion 3 given on day 12 (in window); a depleted result on day 13 came after it.
    schedule = Participant().rituximab(0, 7, 12).depleted(13).schedule(today=13)
    assert schedule.decisions[1].code is DecisionCode.GIVEN_WITHOUT_B_CELL_RESULT
    # ...but it does decide after infusion 3.
    assert schedule.rituximab_complete_after == 3


def test_next_rituximab_stays_due_while_the_b_cell_result_is_awaited():
    schedule = Participant().rituximab(0, 7).schedule(today=13)
    assert schedule.phase is Phase.RITUXIMAB
    assert schedule.next_infusion is not None
    assert schedule.next_infusion.visit_code == "RTX3"
    assert schedule.next_infusion.status is EventStatus.DUE
    assert schedule.next_infusion.target == day(14)
    assert (schedule.next_infusion.window_start, schedule.next_infusion.window_end) == (
        day(12),
        day(16),
    )
    assert "B-cell result after rituximab infusion 2 awaited" in schedule.decisions[-1].text


def test_an_undecidable_result_leaves_the_next_infusion_awaiting_a_result():
    schedule = Participant().rituximab(0, 7).b_cell_result(12, percent="2.1").schedule(13)
    assert schedule.decisions[-1].code is DecisionCode.B_CELL_RESULT_AWAITED
    assert "absolute count" in schedule.decisions[-1].text


def test_rituximab_given_without_a_b_cell_result_counts_as_not_depleted_with_a_warning():
    schedule = Participant().rituximab(0, 7, 14).schedule(today=15)
    assert schedule.decisions[1].code is DecisionCode.GIVEN_WITHOUT_B_CELL_RESULT
    assert [f.code for f in schedule.flags] == [FlagCode.RITUXIMAB_WITHOUT_B_CELL_RESULT]
    assert schedule.phase is Phase.RITUXIMAB
    assert schedule.next_infusion is not None
    assert schedule.next_infusion.visit_code == "RTX4"


def test_the_second_rituximab_is_due_whatever_the_b_cells_show():
    schedule = Participant().rituximab(0).depleted(3).schedule(today=4)
    assert schedule.decisions[0].code is DecisionCode.MINIMUM_NOT_REACHED
    assert schedule.next_infusion is not None
    assert schedule.next_infusion.visit_code == "RTX2"


def test_rituximab_two_days_off_target_is_in_window():
    schedule = Participant().rituximab(0, 9).schedule(today=9)
    assert event(schedule, "RTX2").status is EventStatus.DONE_IN_WINDOW
    assert schedule.deviations == ()


def test_rituximab_three_days_off_target_is_an_out_of_window_deviation():
    schedule = Participant().rituximab(0, 10).schedule(today=10)
    assert event(schedule, "RTX2").status is EventStatus.DONE_OUT_OF_WINDOW
    assert deviation_codes(schedule) == [(DeviationCategory.INFUSION_OUT_OF_WINDOW, "RTX2")]
    assert "day 10" in schedule.deviations[0].description


def test_an_unrecorded_rituximab_is_not_recorded_after_its_window_and_missed_after_entry():
    participant = Participant().rituximab(0)
    overdue = participant.schedule(today=9)
    assert event(overdue, "RTX2").status is EventStatus.OVERDUE
    assert overdue.deviations == ()
    late = participant.schedule(today=10)
    assert event(late, "RTX2").status is EventStatus.NOT_RECORDED
    assert [f.code for f in late.flags] == [FlagCode.RITUXIMAB_PHASE_STALLED]
    assert late.next_infusion == event(late, "RTX2")
    # Issue 15: no "missed" deviation while the site may still enter it (CRF_ENTRY_DAYS).
    assert late.deviations == ()
    assert participant.schedule(today=9 + CRF_ENTRY_DAYS).deviations == ()
    missed = participant.schedule(today=9 + CRF_ENTRY_DAYS + 1)
    assert deviation_codes(missed) == [(DeviationCategory.INFUSION_MISSED, "RTX2")]


def test_a_late_rituximab_replaces_the_missed_deviation_with_an_out_of_window_one():
    schedule = Participant().rituximab(0, 11).schedule(today=11)
    assert deviation_codes(schedule) == [(DeviationCategory.INFUSION_OUT_OF_WINDOW, "RTX2")]


def test_rituximab_given_after_depletion_is_a_deviation_and_moves_belimumab():
    schedule = Participant().rituximab(0, 7, 14).depleted(12).schedule(today=15)
    assert event(schedule, "RTX3").status is EventStatus.DONE_NOT_PLANNED
    assert deviation_codes(schedule) == [(DeviationCategory.RITUXIMAB_AFTER_DEPLETION, "RTX3")]
    # SCH3: 28 days after the last rituximab the child actually received.
    assert event(schedule, "BEL1").target == day(42)


def test_day_0_is_the_actual_first_rituximab_not_the_planned_one():
    schedule = Participant(planned_day_0=0).rituximab(3).schedule(today=3)
    assert schedule.day_0 == day(3)
    assert schedule.day_0_is_actual is True
    assert event(schedule, "W12").target == day(3 + 84)
    assert event(schedule, "RTX2").target == day(10)


def test_before_the_first_rituximab_the_plan_hangs_on_the_planned_day_0():
    schedule = Participant(planned_day_0=5).schedule(today=0)
    assert schedule.phase is Phase.NOT_STARTED
    assert schedule.day_0 == day(5)
    assert schedule.day_0_is_actual is False
    assert schedule.next_infusion == event(schedule, "RTX1")
    assert event(schedule, "RTX1").status is EventStatus.PLANNED
    assert event(schedule, "RTX2").projected is True
    assert event(schedule, "W12").projected is True
    assert [e.visit_code for e in schedule.events] == ["BASELINE", "RTX1", "RTX2", "W12", "W28"]


def test_a_planned_day_0_that_passes_is_overdue_not_a_deviation():
    schedule = Participant(planned_day_0=0).schedule(today=30)
    assert event(schedule, "RTX1").status is EventStatus.OVERDUE
    assert event(schedule, "BASELINE").status is EventStatus.OVERDUE
    assert event(schedule, "W12").status is EventStatus.PLANNED
    assert schedule.deviations == ()


# --- SCH3: belimumab ----------------------------------------------------------------


def test_first_belimumab_is_due_28_days_after_the_last_rituximab_with_a_3_day_window():
    schedule = depleted_after_two().schedule(today=20)
    first = event(schedule, "BEL1")
    assert (first.target, first.window_start, first.window_end) == (day(35), day(32), day(38))
    assert schedule.next_infusion == first
    assert "EXC10/EXC11" in schedule.decisions[-1].text


def test_belimumab_targets_are_projected_from_the_first_target_before_it_is_given():
    schedule = depleted_after_two().schedule(today=20)
    assert infusion_days(schedule, Drug.BELIMUMAB) == [35, 63, 91, 119, 147, 175]
    assert [e.projected for e in schedule.events if e.drug is Drug.BELIMUMAB] == [
        False,
        True,
        True,
        True,
        True,
        True,
    ]
    assert schedule.belimumab_infusions_planned == 6


def test_a_missed_first_belimumab_does_not_make_the_projected_ones_missed():
    schedule = depleted_after_two().schedule(today=80)
    assert event(schedule, "BEL1").status is EventStatus.NOT_RECORDED
    assert event(schedule, "BEL2").status is EventStatus.PLANNED
    assert deviation_codes(schedule) == [(DeviationCategory.INFUSION_MISSED, "BEL1")]
    assert schedule.next_infusion == event(schedule, "BEL1")


def test_first_belimumab_on_time_gives_six_infusions_ending_by_day_196():
    schedule = depleted_after_two().belimumab(35).schedule(today=35)
    days = infusion_days(schedule, Drug.BELIMUMAB)
    assert days == [35, 63, 91, 119, 147, 175]
    assert days[-1] <= BELIMUMAB_LAST_TARGET_DAY
    assert schedule.belimumab_infusions_planned == 6
    assert schedule.phase is Phase.BELIMUMAB
    assert event(schedule, "BEL1").status is EventStatus.DONE_IN_WINDOW
    assert schedule.next_infusion == event(schedule, "BEL2")


def test_first_belimumab_early_inside_the_window_anchors_later_infusions():
    schedule = depleted_after_two().belimumab(32).schedule(today=32)
    assert event(schedule, "BEL1").status is EventStatus.DONE_IN_WINDOW
    assert infusion_days(schedule, Drug.BELIMUMAB) == [35, 60, 88, 116, 144, 172]
    assert schedule.deviations == ()


def test_first_belimumab_late_inside_the_window_anchors_later_infusions():
    schedule = depleted_after_two().belimumab(38).schedule(today=38)
    assert event(schedule, "BEL1").status is EventStatus.DONE_IN_WINDOW
    assert infusion_days(schedule, Drug.BELIMUMAB) == [35, 66, 94, 122, 150, 178]
    assert schedule.deviations == ()


def test_first_belimumab_late_outside_the_window_is_a_deviation_and_anchors_the_rest():
    schedule = depleted_after_two().belimumab(39).schedule(today=39)
    assert event(schedule, "BEL1").status is EventStatus.DONE_OUT_OF_WINDOW
    assert deviation_codes(schedule) == [(DeviationCategory.INFUSION_OUT_OF_WINDOW, "BEL1")]
    assert event(schedule, "BEL2").target == day(39 + 28)
    assert schedule.belimumab_infusions_planned == 6


def test_a_late_enough_first_belimumab_leaves_room_for_fewer_infusions():
    schedule = never_depleted().belimumab(57).schedule(today=57)
    days = infusion_days(schedule, Drug.BELIMUMAB)
    assert days == [49, 85, 113, 141, 169]
    assert schedule.belimumab_infusions_planned == 5
    assert days[-1] + 28 > BELIMUMAB_LAST_TARGET_DAY


def test_belimumab_can_drop_to_five_infusions_without_any_deviation():
    # Every rituximab 2 days late and the first belimumab 3 days late, all in window:
    # 58 + 5 x 28 = day 198 > 196, so the computed plan has 5 infusions, not 6.
    schedule = (
        Participant()
        .rituximab(0, 9, 18, 27)
        .not_depleted(14)
        .not_depleted(23)
        .belimumab(58)
        .schedule(today=58)
    )
    assert schedule.deviations == ()
    assert schedule.belimumab_infusions_planned == 5


def test_a_belimumab_target_on_day_196_is_still_planned():
    participant = Participant().rituximab(0, 9, 18, 27).not_depleted(14).not_depleted(23)
    on_196 = participant.belimumab(56).schedule(today=56)
    assert infusion_days(on_196, Drug.BELIMUMAB)[-1] == BELIMUMAB_LAST_TARGET_DAY
    assert on_196.belimumab_infusions_planned == 6


def test_belimumab_event_statuses_follow_today_through_the_window():
    participant = depleted_after_two()
    statuses = [
        event(participant.schedule(today=n), "BEL1").status for n in (31, 32, 35, 36, 38, 39)
    ]
    assert statuses == [
        EventStatus.PLANNED,
        EventStatus.DUE,
        EventStatus.DUE,
        EventStatus.OVERDUE,
        EventStatus.OVERDUE,
        EventStatus.NOT_RECORDED,
    ]


def test_an_unrecorded_belimumab_stays_next_until_confirmed_not_given():
    participant = depleted_after_two().belimumab(35, 63)
    before = participant.schedule(today=94)
    assert event(before, "BEL3").status is EventStatus.OVERDUE
    assert before.deviations == ()
    after = participant.schedule(today=95)
    assert event(after, "BEL3").status is EventStatus.NOT_RECORDED
    assert after.deviations == ()
    assert after.next_infusion == event(after, "BEL3")
    confirmed = participant.not_given("BEL3", 95).schedule(today=95)
    assert event(confirmed, "BEL3").status is EventStatus.MISSED
    assert deviation_codes(confirmed) == [(DeviationCategory.INFUSION_MISSED, "BEL3")]
    assert "family travelling" in confirmed.deviations[0].description
    assert confirmed.next_infusion == event(confirmed, "BEL4")
    assert event(confirmed, "BEL4").target == day(119)


def test_a_belimumab_given_at_the_next_target_after_a_missed_one_is_that_next_infusion():
    schedule = depleted_after_two().belimumab(35, 63, 119).schedule(today=119)
    assert event(schedule, "BEL3").status is EventStatus.NOT_RECORDED
    assert event(schedule, "BEL4").status is EventStatus.DONE_IN_WINDOW
    assert deviation_codes(schedule) == [(DeviationCategory.INFUSION_MISSED, "BEL3")]


def test_treatment_is_complete_once_the_last_belimumab_and_week_28_are_recorded():
    participant = depleted_after_two().belimumab(35, 63, 91, 119, 147, 175)
    before_week_28 = participant.schedule(today=176)
    assert before_week_28.phase is Phase.BELIMUMAB
    assert before_week_28.next_infusion is None
    schedule = participant.schedule(today=196)  # the week 28 visit done on its day
    assert schedule.phase is Phase.TREATMENT_COMPLETE
    assert schedule.next_infusion is None
    assert "belimumab infusion 6" in decision(schedule, DecisionCode.TREATMENT_COMPLETE).text


def test_time_passing_never_completes_treatment_a_confirmation_does():
    participant = depleted_after_two(visits_on_schedule=False).belimumab(35, 63, 91, 119, 147)
    a_year_on = participant.schedule(today=365)
    assert a_year_on.phase is Phase.BELIMUMAB
    assert a_year_on.next_infusion == event(a_year_on, "BEL6")
    participant.not_given("BEL6", 365)
    assert participant.schedule(today=365).phase is Phase.BELIMUMAB  # week 28 still awaited
    participant.visit("W28", 196)
    schedule = participant.schedule(today=365)
    assert schedule.phase is Phase.TREATMENT_COMPLETE
    assert (DeviationCategory.INFUSION_MISSED, "BEL6") in deviation_codes(schedule)
    assert schedule.next_infusion is None
    confirmed_visit = (
        depleted_after_two(visits_on_schedule=False)
        .belimumab(35, 63, 91, 119, 147, 175)
        .not_given("W28", 300)
        .schedule(today=365)
    )
    assert confirmed_visit.phase is Phase.TREATMENT_COMPLETE


def test_a_course_judged_a_year_after_day_0_with_only_belimumab_1_is_in_the_belimumab_phase():
    participant = depleted_after_two().passing_labs(33).belimumab(35)
    schedule = participant.schedule(today=365)
    assert schedule.phase is Phase.BELIMUMAB
    assert schedule.next_infusion == event(schedule, "BEL2")
    assert event(schedule, "BEL2").status is EventStatus.NOT_RECORDED
    confirmed = participant.not_given("BEL2", 365).schedule(today=365)
    assert event(confirmed, "BEL2").status is EventStatus.MISSED
    assert (DeviationCategory.INFUSION_MISSED, "BEL2") in deviation_codes(confirmed)
    assert confirmed.next_infusion == event(confirmed, "BEL3")


def test_no_missed_deviation_while_the_window_closed_less_than_the_entry_period_ago():
    participant = depleted_after_two().belimumab(35)
    window_end = event(participant.schedule(today=40), "BEL2").window_end  # day 66
    within = participant.schedule(today=66 + CRF_ENTRY_DAYS)
    assert window_end == day(66)
    assert event(within, "BEL2").status is EventStatus.NOT_RECORDED
    assert within.deviations == ()
    after = participant.schedule(today=66 + CRF_ENTRY_DAYS + 1)
    assert deviation_codes(after) == [(DeviationCategory.INFUSION_MISSED, "BEL2")]
    recorded_late = participant.belimumab(70).schedule(today=80)
    assert deviation_codes(recorded_late) == [(DeviationCategory.INFUSION_OUT_OF_WINDOW, "BEL2")]


def test_events_are_listed_in_date_order():
    schedule = depleted_after_two().visit("BASELINE", 0).belimumab(35).schedule(today=40)
    dates = [e.actual or e.target for e in schedule.events]
    assert dates == sorted(dates)
    assert [e.visit_code for e in schedule.events][:3] == ["BASELINE", "RTX1", "RTX2"]


# --- Assessment visits --------------------------------------------------------------


@pytest.mark.parametrize(
    ("done_on", "status"),
    [
        (76, EventStatus.DONE_OUT_OF_WINDOW),
        (77, EventStatus.DONE_IN_WINDOW),
        (91, EventStatus.DONE_IN_WINDOW),
        (92, EventStatus.DONE_OUT_OF_WINDOW),
    ],
)
def test_week_12_visit_window_is_day_84_plus_or_minus_7(done_on, status):
    schedule = depleted_after_two().visit("W12", done_on).schedule(today=100)
    assert event(schedule, "W12").status is status
    out_of_window = (DeviationCategory.VISIT_OUT_OF_WINDOW, "W12") in deviation_codes(schedule)
    assert out_of_window is (status is EventStatus.DONE_OUT_OF_WINDOW)


def test_week_28_visit_is_not_recorded_after_day_203_and_missed_after_the_entry_period():
    participant = depleted_after_two(visits_on_schedule=False)
    w28 = event(participant.schedule(today=203), "W28")
    assert (w28.target_day, w28.status) == (196, EventStatus.OVERDUE)
    schedule = participant.schedule(today=204)
    assert event(schedule, "W28").status is EventStatus.NOT_RECORDED
    assert (DeviationCategory.VISIT_MISSED, "W28") not in deviation_codes(schedule)
    later = participant.schedule(today=203 + CRF_ENTRY_DAYS + 1)
    assert (DeviationCategory.VISIT_MISSED, "W28") in deviation_codes(later)


def test_baseline_visit_is_on_day_0():
    def participant() -> Participant:
        return Participant(visits_on_schedule=False).rituximab(0)

    on_day_0 = participant().visit("BASELINE", 0).schedule(today=1)
    assert event(on_day_0, "BASELINE").status is EventStatus.DONE_IN_WINDOW
    assert on_day_0.deviations == ()
    day_before = participant().visit("BASELINE", -1).schedule(today=1)
    assert deviation_codes(day_before) == [(DeviationCategory.VISIT_OUT_OF_WINDOW, "BASELINE")]
    not_recorded = participant().schedule(today=1)
    assert event(not_recorded, "BASELINE").status is EventStatus.NOT_RECORDED
    assert not_recorded.deviations == ()
    not_done = participant().schedule(today=1 + CRF_ENTRY_DAYS)
    assert deviation_codes(not_done) == [(DeviationCategory.VISIT_MISSED, "BASELINE")]


# --- check_infusion_allowed ---------------------------------------------------------


def test_a_planned_rituximab_infusion_is_allowed():
    assert Participant().rituximab(0).check(Drug.RITUXIMAB, 7) is None


def test_a_late_infusion_is_allowed_and_becomes_a_deviation():
    assert Participant().rituximab(0).check(Drug.RITUXIMAB, 12) is None


def test_an_infusion_in_the_future_is_refused():
    refusal = Participant().rituximab(0).check(Drug.RITUXIMAB, 7, today=6)
    assert refusal is not None
    assert refusal.code is RefusalCode.FUTURE_DATE


def test_a_first_rituximab_before_the_planned_day_0_is_refused():
    refusal = Participant(planned_day_0=0).check(Drug.RITUXIMAB, -1, today=0)
    assert refusal is not None
    assert refusal.code is RefusalCode.BEFORE_DAY_0
    assert "2026-03-02" in refusal.message


def test_an_infusion_before_the_actual_day_0_is_refused():
    refusal = Participant(planned_day_0=0).rituximab(2).check(Drug.RITUXIMAB, 1, today=3)
    assert refusal is not None
    assert refusal.code is RefusalCode.BEFORE_DAY_0


def test_an_infusion_dated_before_the_previous_one_is_refused():
    refusal = Participant().rituximab(0, 7).check(Drug.RITUXIMAB, 5, today=8)
    assert refusal is not None
    assert refusal.code is RefusalCode.BEFORE_PREVIOUS_INFUSION


def test_two_infusions_on_the_same_day_are_refused():
    refusal = Participant().rituximab(0, 7).check(Drug.RITUXIMAB, 7, today=8)
    assert refusal is not None
    assert refusal.code is RefusalCode.SAME_DAY_AS_PREVIOUS_INFUSION


def test_a_fifth_rituximab_is_refused():
    refusal = never_depleted().check(Drug.RITUXIMAB, 28)
    assert refusal is not None
    assert refusal.code is RefusalCode.FIFTH_RITUXIMAB


def test_a_rituximab_after_depletion_ended_the_phase_is_refused():
    refusal = depleted_after_two().check(Drug.RITUXIMAB, 14)
    assert refusal is not None
    assert refusal.code is RefusalCode.RITUXIMAB_AFTER_DEPLETION
    assert "0.3 % < 0.5 %" in refusal.message


def test_a_depleted_result_dated_after_the_proposed_rituximab_does_not_refuse_it():
    assert Participant().rituximab(0, 7).depleted(13).check(Drug.RITUXIMAB, 12, today=13) is None


def test_a_rituximab_after_belimumab_started_is_refused():
    participant = depleted_after_two().belimumab(35)
    refusal = participant.check(Drug.RITUXIMAB, 40)
    assert refusal is not None
    assert refusal.code is RefusalCode.RITUXIMAB_AFTER_BELIMUMAB


def test_rituximab_given_without_a_b_cell_result_is_allowed():
    assert Participant().rituximab(0, 7).check(Drug.RITUXIMAB, 14) is None


def test_a_belimumab_before_the_rituximab_phase_is_complete_is_refused():
    refusal = Participant().rituximab(0, 7).passing_labs(20).check(Drug.BELIMUMAB, 21)
    assert refusal is not None
    assert refusal.code is RefusalCode.BELIMUMAB_BEFORE_RITUXIMAB_COMPLETE


def test_a_belimumab_before_any_rituximab_is_refused():
    refusal = Participant().passing_labs(0).check(Drug.BELIMUMAB, 1)
    assert refusal is not None
    assert refusal.code is RefusalCode.BELIMUMAB_BEFORE_RITUXIMAB_COMPLETE


def test_a_belimumab_beyond_the_last_planned_one_is_refused():
    participant = depleted_after_two().belimumab(35, 63, 91, 119, 147, 175)
    refusal = participant.check(Drug.BELIMUMAB, 203)
    assert refusal is not None
    assert refusal.code is RefusalCode.BELIMUMAB_BEYOND_PLAN


def test_a_late_last_belimumab_is_allowed():
    participant = depleted_after_two().belimumab(35, 63, 91, 119, 147)
    assert participant.check(Drug.BELIMUMAB, 180) is None


def test_the_first_belimumab_with_passing_labs_is_allowed():
    assert depleted_after_two().passing_labs(30).check(Drug.BELIMUMAB, 35) is None


def test_the_first_belimumab_without_labs_is_refused():
    refusal = depleted_after_two().check(Drug.BELIMUMAB, 35)
    assert refusal is not None
    assert refusal.code is RefusalCode.PRE_BELIMUMAB_LABS_MISSING
    assert refusal.gate is not None
    assert len(refusal.gate.missing) == 4


def test_the_first_belimumab_with_failing_labs_is_refused():
    participant = depleted_after_two().passing_labs(30).lab(LabTest.IGG, 33, "3.9")
    result = participant.check(Drug.BELIMUMAB, 35)
    assert result is not None
    assert result.code is RefusalCode.PRE_BELIMUMAB_LABS_FAIL
    assert "EXC10" in result.message


def test_later_belimumab_infusions_do_not_need_the_lab_gate():
    assert depleted_after_two().belimumab(35).check(Drug.BELIMUMAB, 63) is None


# --- check_infusion_allowed: early infusions (before the window opens) ---------------


def test_a_second_rituximab_one_day_after_the_first_is_refused_as_too_early():
    refusal = Participant().rituximab(0).check(Drug.RITUXIMAB, 1)
    assert refusal is not None
    assert refusal.code is RefusalCode.BEFORE_WINDOW
    assert "Rituximab infusion 2" in refusal.message
    assert "target 2026-03-09" in refusal.message  # day 7
    assert "window 2026-03-07 to 2026-03-11" in refusal.message
    assert "SCH1" in refusal.message


def test_a_rituximab_one_day_before_its_window_is_refused_and_on_its_first_day_allowed():
    # Rituximab 2: target day 7, window days 5 to 9.
    refusal = Participant().rituximab(0).check(Drug.RITUXIMAB, 4)
    assert refusal is not None
    assert refusal.code is RefusalCode.BEFORE_WINDOW
    assert Participant().rituximab(0).check(Drug.RITUXIMAB, 5) is None


def test_a_third_rituximab_is_judged_against_the_second_actually_given():
    # Rituximab 2 late on day 9: rituximab 3 targets day 16, window days 14 to 18.
    participant = Participant().rituximab(0, 9).not_depleted(13)
    refusal = participant.check(Drug.RITUXIMAB, 13, today=14)
    assert refusal is not None
    assert refusal.code is RefusalCode.BEFORE_WINDOW
    assert "Rituximab infusion 3" in refusal.message
    assert participant.check(Drug.RITUXIMAB, 14) is None


def test_a_first_belimumab_four_days_after_the_last_rituximab_is_refused_as_too_early():
    refusal = depleted_after_two().passing_labs(11).check(Drug.BELIMUMAB, 11)
    assert refusal is not None
    assert refusal.code is RefusalCode.BEFORE_WINDOW
    assert "Belimumab infusion 1" in refusal.message
    assert "target 2026-04-06" in refusal.message  # day 35
    assert "window 2026-04-03 to 2026-04-09" in refusal.message
    assert "SCH3" in refusal.message


def test_a_first_belimumab_one_day_before_its_window_is_refused_and_on_its_first_day_allowed():
    # Belimumab 1: last rituximab (day 7) + 28 = day 35, window days 32 to 38.
    refusal = depleted_after_two().passing_labs(30).check(Drug.BELIMUMAB, 31)
    assert refusal is not None
    assert refusal.code is RefusalCode.BEFORE_WINDOW
    assert depleted_after_two().passing_labs(30).check(Drug.BELIMUMAB, 32) is None


def test_an_early_first_belimumab_is_refused_for_its_date_before_its_labs_are_judged():
    refusal = depleted_after_two().check(Drug.BELIMUMAB, 31)
    assert refusal is not None
    assert refusal.code is RefusalCode.BEFORE_WINDOW


def test_a_second_belimumab_five_days_after_the_first_is_refused_as_too_early():
    refusal = depleted_after_two().belimumab(35).check(Drug.BELIMUMAB, 40)
    assert refusal is not None
    assert refusal.code is RefusalCode.BEFORE_WINDOW
    assert "Belimumab infusion 2" in refusal.message
    assert "target 2026-05-04" in refusal.message  # day 63


def test_a_later_belimumab_one_day_before_its_window_is_refused_and_on_its_first_day_allowed():
    # Belimumab 2: first belimumab (day 35) + 28 = day 63, window days 60 to 66.
    refusal = depleted_after_two().belimumab(35).check(Drug.BELIMUMAB, 59)
    assert refusal is not None
    assert refusal.code is RefusalCode.BEFORE_WINDOW
    assert depleted_after_two().belimumab(35).check(Drug.BELIMUMAB, 60) is None


def test_a_late_belimumab_after_a_missed_one_is_allowed_as_the_missed_one():
    # Belimumab 2 (target day 63) not given; day 77 is nearer 63 than 91: a late BEL2.
    assert depleted_after_two().belimumab(35).check(Drug.BELIMUMAB, 77) is None


# --- EXC10/EXC11 gate ---------------------------------------------------------------


def gate_labs(**overrides: tuple[int, str]) -> list[LabValue]:
    """All four labs 2 days before BEL1 on day 35, passing; override (day, value) per analyte."""
    values = {
        LabTest.IGG: (33, "6.2"),
        LabTest.IGA: (33, "0.8"),
        LabTest.WBC: (33, "5.1"),
        LabTest.NEUTROPHILS: (33, "2.4"),
    }
    for name, override in overrides.items():
        values[LabTest(name)] = override
    return [LabValue(a, day(d), Decimal(v)) for a, (d, v) in values.items()]


def test_gate_passes_with_all_four_labs_passing():
    gate = belimumab_lab_gate(day(35), gate_labs())
    assert gate.outcome is GateOutcome.PASS
    assert len(gate.used) == 4
    assert "IgG 6.2 g/L ≥ 4 g/L" in gate.reason


def test_gate_accepts_labs_exactly_10_days_old():
    labs = gate_labs(igg=(25, "6"), iga=(25, "1"), wbc=(25, "4"), neutrophils=(25, "2"))
    assert belimumab_lab_gate(day(35), labs).outcome is GateOutcome.PASS


@pytest.mark.parametrize("analyte", list(GATE_TESTS))
def test_gate_accepts_each_lab_exactly_10_days_old(analyte):
    gate = belimumab_lab_gate(day(35), gate_labs(**{analyte.value: (25, "6")}))
    assert gate.outcome is GateOutcome.PASS
    used = [lab for lab in gate.used if lab.analyte is analyte]
    assert [(lab.taken_on, lab.value) for lab in used] == [(day(25), Decimal("6"))]


@pytest.mark.parametrize("analyte", list(GATE_TESTS))
def test_gate_does_not_accept_a_lab_11_days_old(analyte):
    gate = belimumab_lab_gate(day(35), gate_labs(**{analyte.value: (24, "6")}))
    assert gate.outcome is GateOutcome.MISSING
    assert gate.missing == (analyte,)


@pytest.mark.parametrize("analyte", list(GATE_TESTS))
def test_the_first_belimumab_is_refused_with_a_lab_11_days_old_and_allowed_with_10(analyte):
    def participant(lab_day: int) -> Participant:
        p = depleted_after_two().passing_labs(33)
        p.labs = [lab for lab in p.labs if lab.analyte is not analyte]
        return p.lab(analyte, lab_day, "6")

    assert participant(25).check(Drug.BELIMUMAB, 35) is None
    refusal = participant(24).check(Drug.BELIMUMAB, 35)
    assert refusal is not None
    assert refusal.code is RefusalCode.PRE_BELIMUMAB_LABS_MISSING
    assert refusal.gate is not None and refusal.gate.missing == (analyte,)


def test_gate_does_not_accept_a_lab_dated_after_the_infusion():
    gate = belimumab_lab_gate(day(35), gate_labs(igg=(36, "6")))
    assert gate.missing == (LabTest.IGG,)


def test_gate_passes_values_exactly_at_the_thresholds():
    labs = gate_labs(igg=(33, "4"), iga=(33, "0.1"), wbc=(33, "1.5"), neutrophils=(33, "1.0"))
    assert belimumab_lab_gate(day(35), labs).outcome is GateOutcome.PASS


def test_gate_fails_exc10_on_a_low_iga():
    gate = belimumab_lab_gate(day(35), gate_labs(iga=(30, "0.05")))
    assert gate.outcome is GateOutcome.FAIL
    assert [(f.clause, f.analyte, f.value) for f in gate.failures] == [
        ("EXC10", LabTest.IGA, Decimal("0.05"))
    ]
    assert "EXC10: IgA 0.05 g/L < 0.1 g/L" in gate.reason


def test_gate_fails_exc11_on_low_neutrophils_and_lists_every_failure():
    gate = belimumab_lab_gate(day(35), gate_labs(neutrophils=(34, "0.9"), igg=(34, "3")))
    assert [(f.clause, f.analyte) for f in gate.failures] == [
        ("EXC10", LabTest.IGG),
        ("EXC11", LabTest.NEUTROPHILS),
    ]


def test_gate_reports_a_missing_neutrophil_count():
    labs = [lab for lab in gate_labs() if lab.analyte is not LabTest.NEUTROPHILS]
    gate = belimumab_lab_gate(day(35), labs)
    assert gate.outcome is GateOutcome.MISSING
    assert gate.missing == (LabTest.NEUTROPHILS,)
    assert "neutrophils" in gate.reason


def test_gate_fails_even_when_another_lab_is_missing():
    labs = [lab for lab in gate_labs(iga=(30, "0.05")) if lab.analyte is not LabTest.WBC]
    gate = belimumab_lab_gate(day(35), labs)
    assert gate.outcome is GateOutcome.FAIL
    assert gate.missing == (LabTest.WBC,)


def test_gate_uses_the_most_recent_qualifying_result():
    labs = gate_labs(igg=(27, "3.5")) + [LabValue(LabTest.IGG, day(33), Decimal("4.5"))]
    gate = belimumab_lab_gate(day(35), labs)
    assert gate.outcome is GateOutcome.PASS
    labs = gate_labs(igg=(33, "3.5")) + [LabValue(LabTest.IGG, day(27), Decimal("4.5"))]
    assert belimumab_lab_gate(day(35), labs).outcome is GateOutcome.FAIL


# --- The load-data generator never records an early infusion --------------------------


@pytest.mark.parametrize("seed", range(60))
def test_the_load_data_generator_records_only_infusions_the_engine_allows(seed):
    import random

    from demo import loaddata

    today = day(400)  # every course complete
    course = loaddata.plan_course(random.Random(seed), DAY_0, today)
    labs = tuple(
        LabValue(analyte, course.gate_labs_on, Decimal(value))
        for analyte, value in (
            (LabTest.IGG, "7.1"),
            (LabTest.IGA, "0.9"),
            (LabTest.WBC, "5.4"),
            (LabTest.NEUTROPHILS, "2.8"),
        )
    )
    given = sorted(
        [Infusion(Drug.RITUXIMAB, d) for d in course.rituximab]
        + [Infusion(Drug.BELIMUMAB, d) for d in course.belimumab],
        key=lambda i: i.given_on,
    )
    assert len(given) >= 2  # fewer than 10 when the course stopped early
    b_cells = tuple(BCellResult(on, p, a) for on, p, a in course.b_cells)
    for index, infusion in enumerate(given):
        inputs = CourseFacts(
            planned_day_0=DAY_0,
            today=infusion.given_on,
            infusions=tuple(given[:index]),
            b_cell_results=tuple(b for b in b_cells if b.taken_on <= infusion.given_on),
            labs=labs,
        )
        refusal = check_infusion_allowed(inputs, infusion.drug, infusion.given_on)
        assert refusal is None, (infusion, refusal.message)
