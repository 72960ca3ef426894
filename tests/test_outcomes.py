"""Outcome rules (PROTOCOL.md "Outcomes"); no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crf.essdai import EssdaiCategory
from crf.outcomes import (
    ComponentStatus,
    CompositeComponent,
    CompositeMeasurements,
    InvalidEsspriValue,
    LackingTimePoint,
    ParticipantScores,
    ResponseOutcome,
    composite_response,
    essdai_change,
    esspri_change,
    esspri_score,
    summarise_essdai_change,
    summarise_esspri_change,
)

D = Decimal
ESR_ULN = D("20")

# A baseline with room to improve in every component.
BASELINE = CompositeMeasurements(
    physician_global=D("6"),
    esr=D("50"),
    igg=D("24"),
    rf=D("80"),
    schirmer_mm=D("3"),
    salivary_flow=D("0.8"),
)
# Week 28 with no component improved.
UNCHANGED = BASELINE


def status_of(response, component):
    return next(c.status for c in response.components if c.component == component)


# --- ESSPRI -----------------------------------------------------------------------


def test_esspri_is_the_mean_of_the_three_scales_to_two_places():
    score = esspri_score(dryness=7, fatigue=5, pain=D("2"))

    assert score.score == D("4.67")
    assert score.acceptable is True


def test_esspri_of_5_or_more_is_not_an_acceptable_symptom_state():
    assert esspri_score(dryness=5, fatigue=5, pain=5).acceptable is False


@pytest.mark.parametrize(
    ("scale", "value"), [("dryness", 11), ("fatigue", -1), ("pain", D("10.5"))]
)
def test_esspri_scale_outside_0_to_10_is_refused(scale, value):
    values = {"dryness": 3, "fatigue": 3, "pain": 3, scale: value}

    with pytest.raises(InvalidEsspriValue) as raised:
        esspri_score(**values)

    assert raised.value.scale == scale


def test_esspri_refuses_a_float():
    with pytest.raises(TypeError):
        esspri_score(dryness=3.3, fatigue=3, pain=3)


# --- ESSDAI change and MCII ---------------------------------------------------------


def test_essdai_fall_of_2_is_not_a_minimal_clinically_important_improvement():
    change = essdai_change(10, 8)

    assert change.change == -2
    assert change.mcii is False


def test_essdai_fall_of_3_is_a_minimal_clinically_important_improvement():
    change = essdai_change(16, 13)

    assert change.fall == 3
    assert change.mcii is True
    assert change.baseline_category == EssdaiCategory.HIGH
    assert change.follow_up_category == EssdaiCategory.MODERATE


def test_essdai_rise_is_never_an_improvement():
    assert essdai_change(5, 12).mcii is False


# --- ESSPRI MCII -------------------------------------------------------------------


def test_esspri_fall_of_1_point_is_mcii_even_below_15_percent():
    change = esspri_change(D("8"), D("7"))  # 12.5 %

    assert change.mcii is True


def test_esspri_fall_of_0_9_below_15_percent_is_not_mcii():
    change = esspri_change(D("7"), D("6.1"))  # 12.9 %

    assert change.fall == D("0.9")
    assert change.fall_percent == D("12.9")
    assert change.mcii is False


def test_esspri_fall_of_0_9_that_is_15_percent_or_more_is_mcii():
    change = esspri_change(D("5"), D("4.1"))  # 18 %

    assert change.mcii is True


def test_esspri_fall_of_exactly_15_percent_is_mcii():
    change = esspri_change(D("4"), D("3.4"))

    assert change.fall_percent == D("15.0")
    assert change.mcii is True


def test_esspri_fall_just_under_15_percent_is_not_mcii():
    assert esspri_change(D("4"), D("3.41")).mcii is False


def test_esspri_baseline_0_has_no_percentage_and_no_mcii():
    change = esspri_change(D("0"), D("0"))

    assert change.fall_percent is None
    assert change.mcii is False


def test_esspri_rise_is_never_an_improvement():
    assert esspri_change(D("4"), D("6")).mcii is False


# --- Registry composite response at week 28 -------------------------------------------


def test_three_of_five_components_improved_is_a_responder():
    week28 = CompositeMeasurements(
        physician_global=D("4.2"),  # fall 30 % exactly
        esr=D("36"),  # fall 28 %, still above normal
        igg=D("19"),  # fall 20.8 %
        rf=D("61"),  # fall 23.75 %
        schirmer_mm=D("8"),  # +5 mm
        salivary_flow=D("1.0"),  # +25 %
    )

    response = composite_response(baseline=BASELINE, week28=week28, esr_upper_limit=ESR_ULN)

    assert response.met == 3
    assert response.outcome == ResponseOutcome.RESPONDER
    assert status_of(response, CompositeComponent.ESR) == ComponentStatus.NOT_MET
    assert status_of(response, CompositeComponent.IGG_OR_RF) == ComponentStatus.NOT_MET


def test_two_of_five_improved_and_none_missing_is_a_non_responder():
    week28 = CompositeMeasurements(
        physician_global=D("4.3"),  # fall 28.3 %
        esr=D("35"),  # fall 30 %
        igg=D("18"),  # fall 25 %
        rf=D("80"),
        schirmer_mm=D("7"),  # +4 mm
        salivary_flow=D("0.99"),  # +23.75 %
    )

    response = composite_response(baseline=BASELINE, week28=week28, esr_upper_limit=ESR_ULN)

    assert response.met == 2
    assert response.missing == 0
    assert response.outcome == ResponseOutcome.NON_RESPONDER


def test_esr_normal_at_week_28_meets_the_esr_component_without_a_30_percent_fall():
    baseline = CompositeMeasurements(esr=D("24"))
    week28 = CompositeMeasurements(esr=D("20"))  # fall 16.7 %, at the upper limit

    response = composite_response(baseline=baseline, week28=week28, esr_upper_limit=ESR_ULN)

    assert status_of(response, CompositeComponent.ESR) == ComponentStatus.MET


def test_esr_just_above_normal_without_a_30_percent_fall_is_not_met():
    baseline = CompositeMeasurements(esr=D("24"))
    week28 = CompositeMeasurements(esr=D("21"))

    response = composite_response(baseline=baseline, week28=week28, esr_upper_limit=ESR_ULN)

    assert status_of(response, CompositeComponent.ESR) == ComponentStatus.NOT_MET


def test_esr_normal_at_week_28_counts_even_without_a_baseline_esr():
    week28 = CompositeMeasurements(esr=D("12"))

    response = composite_response(
        baseline=CompositeMeasurements(), week28=week28, esr_upper_limit=ESR_ULN
    )

    assert status_of(response, CompositeComponent.ESR) == ComponentStatus.MET


def test_rf_fall_alone_meets_the_igg_or_rf_component():
    baseline = CompositeMeasurements(igg=D("20"), rf=D("100"))
    week28 = CompositeMeasurements(igg=D("19"), rf=D("75"))

    response = composite_response(baseline=baseline, week28=week28, esr_upper_limit=ESR_ULN)

    assert status_of(response, CompositeComponent.IGG_OR_RF) == ComponentStatus.MET


def test_igg_not_fallen_with_rf_missing_leaves_the_igg_or_rf_component_missing():
    baseline = CompositeMeasurements(igg=D("20"))
    week28 = CompositeMeasurements(igg=D("19"))

    response = composite_response(baseline=baseline, week28=week28, esr_upper_limit=ESR_ULN)

    assert status_of(response, CompositeComponent.IGG_OR_RF) == ComponentStatus.MISSING


def test_two_met_with_missing_components_is_undetermined():
    week28 = CompositeMeasurements(
        physician_global=D("3"),  # met
        esr=D("15"),  # normal: met
        igg=None,
        rf=None,
        schirmer_mm=D("4"),  # +1 mm: not met
        salivary_flow=None,
    )

    response = composite_response(baseline=BASELINE, week28=week28, esr_upper_limit=ESR_ULN)

    assert (response.met, response.not_met, response.missing) == (2, 1, 2)
    assert response.outcome == ResponseOutcome.UNDETERMINED
    missing = [c for c in response.components if c.status == ComponentStatus.MISSING]
    assert all("missing at week 28" in c.reason for c in missing)


def test_three_met_is_a_responder_even_with_the_rest_missing():
    week28 = CompositeMeasurements(physician_global=D("3"), esr=D("15"), schirmer_mm=D("9"))

    response = composite_response(baseline=BASELINE, week28=week28, esr_upper_limit=ESR_ULN)

    assert response.missing == 2
    assert response.outcome == ResponseOutcome.RESPONDER


def test_non_responder_when_even_every_missing_component_could_not_reach_three():
    week28 = CompositeMeasurements(
        physician_global=D("6"), esr=D("50"), igg=D("24"), rf=D("80"), schirmer_mm=None
    )

    response = composite_response(baseline=BASELINE, week28=week28, esr_upper_limit=ESR_ULN)

    assert (response.met, response.missing) == (0, 2)
    assert response.outcome == ResponseOutcome.NON_RESPONDER


def test_every_component_is_reported_with_a_reason():
    response = composite_response(baseline=BASELINE, week28=UNCHANGED, esr_upper_limit=ESR_ULN)

    assert [c.component for c in response.components] == list(CompositeComponent)
    assert all(c.reason for c in response.components)
    assert response.outcome == ResponseOutcome.NON_RESPONDER


def test_salivary_flow_from_zero_to_measurable_counts_as_a_rise():
    baseline = CompositeMeasurements(salivary_flow=D("0"))

    rose = composite_response(
        baseline=baseline,
        week28=CompositeMeasurements(salivary_flow=D("0.2")),
        esr_upper_limit=ESR_ULN,
    )
    stayed = composite_response(
        baseline=baseline,
        week28=CompositeMeasurements(salivary_flow=D("0")),
        esr_upper_limit=ESR_ULN,
    )

    assert status_of(rose, CompositeComponent.SALIVARY_FLOW) == ComponentStatus.MET
    assert status_of(stayed, CompositeComponent.SALIVARY_FLOW) == ComponentStatus.NOT_MET


# --- Trial summary --------------------------------------------------------------------


def test_essdai_summary_gives_median_and_inclusive_quartiles_of_change():
    participants = [
        ParticipantScores("PUMCH-001", 12, 4),  # -8
        ParticipantScores("PUMCH-002", 10, 8),  # -2
        ParticipantScores("CHCMU-001", 9, 6),  # -3
        ParticipantScores("CSU-001", 7, 7),  # 0
    ]

    summary = summarise_essdai_change(participants)

    # sorted changes -8, -3, -2, 0; inclusive positions (n - 1) x p = 0.75 and 2.25:
    # Q1 = -8 + 0.75 x 5, Q3 = -2 + 0.25 x 2
    assert summary.n_paired == 4
    assert summary.median_change == D("-2.50")
    assert summary.q1_change == D("-4.25")
    assert summary.q3_change == D("-1.50")
    assert summary.n_mcii == 2
    assert summary.lacking == ()


def test_essdai_summary_lists_participants_lacking_a_time_point():
    participants = [
        ParticipantScores("PUMCH-001", 12, 4),
        ParticipantScores("PUMCH-002", 10, None),
        ParticipantScores("SZCH-001", None, 5),
    ]

    summary = summarise_essdai_change(participants)

    assert summary.n_participants == 3
    assert summary.n_paired == 1
    assert summary.median_change == D("-8.00")
    assert summary.q1_change == summary.q3_change == D("-8.00")
    assert summary.lacking == (
        LackingTimePoint("PUMCH-002", lacks_baseline=False, lacks_follow_up=True),
        LackingTimePoint("SZCH-001", lacks_baseline=True, lacks_follow_up=False),
    )


def test_summary_with_nobody_paired_has_no_median():
    summary = summarise_essdai_change([ParticipantScores("PUMCH-001", None, None)])

    assert summary.median_change is None
    assert summary.n_mcii == 0
    assert len(summary.lacking) == 1


def test_summary_refuses_a_participant_twice():
    with pytest.raises(ValueError):
        summarise_essdai_change(
            [ParticipantScores("PUMCH-001", 5, 4), ParticipantScores("PUMCH-001", 6, 2)]
        )


def test_esspri_summary_counts_mcii_by_points_or_percent():
    summary = summarise_esspri_change(
        [
            ParticipantScores("PUMCH-001", D("6"), D("5")),  # 1 point: MCII
            ParticipantScores("PUMCH-002", D("2"), D("1.7")),  # 15 %: MCII
            ParticipantScores("PUMCH-003", D("7"), D("6.5")),  # 0.5, 7.1 %: no
        ]
    )

    assert summary.n_mcii == 2
    assert summary.median_change == D("-0.50")


def test_the_esspri_change_is_computed_from_unrounded_means_and_rounded_only_for_display():
    baseline = esspri_score(dryness=5, fatigue=5, pain=4)  # 4.666…, shown 4.67
    follow_up = esspri_score(dryness=4, fatigue=4, pain=5)  # 4.333…, shown 4.33
    assert (baseline.score, follow_up.score) == (Decimal("4.67"), Decimal("4.33"))
    change = esspri_change(baseline.mean, follow_up.mean)
    assert change.change == Decimal("-0.33")  # from the rounded scores it would be -0.34
    assert abs(change.exact_change + Decimal(1) / 3) < Decimal("1e-20")
    summary = summarise_esspri_change(
        [ParticipantScores("PUMCH-001", baseline.mean, follow_up.mean)]
    )
    assert summary.median_change == Decimal("-0.33")
