from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from eligibility.classification import (
    BiopsySite,
    CriteriaSet,
    SialographyStage,
    SjogrenFindings,
)
from eligibility.criteria import (
    CRITERIA,
    BCellActivation,
    DrugClass,
    LabResult,
    Outcome,
    PriorTherapy,
    ScreeningFacts,
    Status,
    SystemicInvolvement,
    assess,
    classify_drug,
    exc1_prior_biologics,
    exc2_other_trial,
    exc3_renal,
    exc4_chronic_infection,
    exc5_infection,
    exc6_primary_immunodeficiency,
    exc7_malignancy,
    exc8_severe_other_disease,
    exc9_other_disease_on_steroids,
    exc10_immunoglobulins,
    exc11_leucocytes,
    glucocorticoid_with_immunosuppressant_days,
    immunosuppressant_days,
    inc1_age,
    inc2_sjogren,
    inc3_resistant,
    inc4_agreement,
    scr1_window,
)
from trialsite.units import to_canonical

D = Decimal
SCREENING = date(2026, 5, 2)
DAY_0 = date(2026, 5, 20)
LABS_TAKEN = SCREENING
THERAPY_START = date(2025, 1, 1)


def therapy(name: str, start: date, stop: date | None = None) -> PriorTherapy:
    drug_class = classify_drug(name)
    assert drug_class is not None
    return PriorTherapy(name, drug_class, start, stop)


def taken_for(name: str, days: int, start: date = THERAPY_START) -> PriorTherapy:
    return therapy(name, start, start + timedelta(days=days))


def lab(value: str, taken_on: date = LABS_TAKEN) -> LabResult:
    return LabResult(D(value), taken_on)


# Positive for both AECG 2002 (I, II, III, IV, VI) and Japanese 1999 (1, 2, 3, 4).
SJOGREN = SjogrenFindings(
    dry_eyes_daily_over_3_months=True,
    recurrent_sand_or_gravel_in_eyes=False,
    tear_substitutes_over_3_times_daily=True,
    dry_mouth_daily_over_3_months=True,
    recurrent_salivary_gland_swelling=True,
    drinks_liquids_to_swallow_dry_food=False,
    schirmer_mm_5min=D("3"),
    van_bijsterveld_score=5,
    fluorescein_staining_positive=True,
    biopsy_site=BiopsySite.LABIAL,
    focus_score_per_4mm2=D("2"),
    unstimulated_saliva_ml_15min=D("2"),
    diffuse_sialectasis_on_sialography=False,
    sialography_stage=SialographyStage.STAGE_I,
    scintigraphy_reduced_function=False,
    anti_ssa_ro=True,
    anti_ssb_la=False,
    past_head_neck_radiation=False,
    hepatitis_c=False,
    aids=False,
    pre_existing_lymphoma=False,
    sarcoidosis=False,
    graft_versus_host_disease=False,
    anticholinergic_drugs=False,
)

ELIGIBLE = ScreeningFacts(
    screening_date=SCREENING,
    date_of_birth=date(2014, 3, 10),  # 12 years old: child assent needed
    planned_day_0=DAY_0,
    sjogren=SJOGREN,
    prior_therapies=(
        therapy("prednisone", THERAPY_START),  # ongoing
        taken_for("methotrexate", 240),
        therapy("hydroxychloroquine", THERAPY_START),
    ),
    systemic_involvement=frozenset({SystemicInvolvement.POLYARTHRITIS}),
    b_cell_activation=frozenset(),
    esr_persistently_raised=False,
    creatinine=lab("40"),
    height=lab("150"),
    igg=lab("14"),
    iga=lab("1.2"),
    wbc=lab("6.1"),
    neutrophils=lab("3.2"),
    hbsag=False,
    hbsab=False,
    hbcab=None,
    hcv_ab=False,
    hiv_ever=False,
    active_tb=False,
    other_trial=False,
    chronic_infection_suppressive_therapy=False,
    infection_hospitalisation=False,
    parenteral_antimicrobials=False,
    live_vaccine=False,
    high_infection_risk=False,
    primary_immunodeficiency=False,
    malignancy_history=False,
    severe_uncontrolled_other_disease=False,
    other_disease_needing_systemic_corticosteroids=False,
    guardian_agrees=True,
    child_agrees=True,
)


def facts(**changes) -> ScreeningFacts:
    """The fully eligible participant, changed only where a test says so."""
    return replace(ELIGIBLE, **changes)


def therapies(*rows: PriorTherapy) -> ScreeningFacts:
    return facts(prior_therapies=rows)


# --- INC1 --------------------------------------------------------------------------------


def test_fifth_birthday_is_eligible():
    assert inc1_age(facts(date_of_birth=date(2021, 5, 2))).status == Status.PASS


def test_day_before_fifth_birthday_is_not_eligible():
    result = inc1_age(facts(date_of_birth=date(2021, 5, 3)))
    assert result.status == Status.FAIL
    assert result.reason == "Age 4 years on screening (2026-05-02); must be 5 to 18"


def test_nineteenth_birthday_is_not_eligible():
    assert inc1_age(facts(date_of_birth=date(2007, 5, 2))).status == Status.FAIL


def test_eighteen_years_and_364_days_is_eligible():
    assert inc1_age(facts(date_of_birth=date(2007, 5, 3))).status == Status.PASS


def test_missing_date_of_birth_is_missing():
    result = inc1_age(facts(date_of_birth=None))
    assert (result.status, result.missing_items) == (Status.MISSING, ("Date of birth",))


# --- INC2 --------------------------------------------------------------------------------


def test_sjogren_records_every_set_met():
    result = inc2_sjogren(ELIGIBLE)
    assert result.status == Status.PASS
    assert result.criteria_sets_met == (CriteriaSet.AECG_2002, CriteriaSet.JAPANESE_1999)
    assert "AECG 2002 met" in result.reason and "Japanese 1999 met" in result.reason


def test_sjogren_by_japanese_criteria_alone_is_enough():
    # Japanese 2 of 4 (biopsy + antibodies) while AECG lacks its fourth item.
    sjogren = replace(
        SJOGREN,
        dry_eyes_daily_over_3_months=False,
        tear_substitutes_over_3_times_daily=False,
        dry_mouth_daily_over_3_months=False,
        recurrent_salivary_gland_swelling=False,
        schirmer_mm_5min=D("12"),
        van_bijsterveld_score=1,
    )
    result = inc2_sjogren(facts(sjogren=sjogren))
    assert result.status == Status.PASS
    assert result.criteria_sets_met == (CriteriaSet.JAPANESE_1999,)


def test_no_criteria_set_met_fails_inc2():
    sjogren = replace(
        SJOGREN, anti_ssa_ro=False, focus_score_per_4mm2=D("0"), schirmer_mm_5min=D("12")
    )
    result = inc2_sjogren(facts(sjogren=sjogren))
    assert result.status == Status.FAIL
    assert result.criteria_sets_met == ()


def test_undetermined_sets_make_inc2_missing_with_their_items():
    result = inc2_sjogren(facts(sjogren=SjogrenFindings(anti_ssa_ro=True)))
    assert result.status == Status.MISSING
    assert "Biopsy focus score (foci per 4 mm²)" in result.missing_items


# --- INC3 --------------------------------------------------------------------------------


def test_classify_drug_uses_the_configured_lists():
    assert classify_drug(" Methotrexate ") == DrugClass.IMMUNOSUPPRESSANT
    assert classify_drug("prednisolone") == DrugClass.GLUCOCORTICOID
    assert classify_drug("Rituximab") == DrugClass.RITUXIMAB
    assert classify_drug("belimumab") == DrugClass.BIOLOGIC
    assert classify_drug("hydroxychloroquine") == DrugClass.OTHER
    assert classify_drug("aspirin and hope") is None


def test_glucocorticoid_with_immunosuppressant_for_91_days_is_resistant():
    result = inc3_resistant(therapies(taken_for("prednisone", 91), taken_for("azathioprine", 200)))
    assert result.status == Status.PASS
    assert "taken together for 91 days" in result.reason


def test_glucocorticoid_with_immunosuppressant_for_90_days_is_not_resistant():
    result = inc3_resistant(therapies(taken_for("prednisone", 90), taken_for("azathioprine", 200)))
    assert result.status == Status.FAIL
    assert "together 90 days (needs more than 90)" in result.reason


def test_glucocorticoid_overlap_counts_against_the_union_of_immunosuppressants():
    # INC3(a)(ii) "a glucocorticoid and at least one immunosuppressant taken at the same
    # time": prednisone throughout, methotrexate for 60 days then azathioprine for 39 days.
    # Together 99 days (> 90) although neither immunosuppressant alone reaches 91.
    switch = THERAPY_START + timedelta(days=60)
    facts_ = therapies(
        taken_for("prednisone", 200),
        taken_for("methotrexate", 60),
        taken_for("azathioprine", 39, start=switch),
    )
    assert immunosuppressant_days(facts_) == {"methotrexate": 60, "azathioprine": 39}
    assert glucocorticoid_with_immunosuppressant_days(facts_) == 99
    result = inc3_resistant(facts_)
    assert result.status == Status.PASS
    assert "taken together for 99 days" in result.reason


def test_glucocorticoid_counts_only_while_taken_with_an_immunosuppressant():
    later = THERAPY_START + timedelta(days=100)
    facts_ = therapies(taken_for("prednisone", 300), taken_for("tacrolimus", 120, start=later))
    # Prednisone days 0-300, tacrolimus days 100-220: together 120 days.
    assert glucocorticoid_with_immunosuppressant_days(facts_) == 120


def test_two_immunosuppressants_one_after_the_other_each_91_days_is_resistant():
    second_start = THERAPY_START + timedelta(days=91)
    result = inc3_resistant(
        therapies(taken_for("methotrexate", 91), taken_for("azathioprine", 91, second_start))
    )
    assert result.status == Status.PASS
    assert "methotrexate 91 days, azathioprine 91 days" in result.reason


def test_two_immunosuppressants_together_each_91_days_is_resistant():
    result = inc3_resistant(therapies(taken_for("methotrexate", 91), taken_for("ciclosporin", 91)))
    assert result.status == Status.PASS


def test_second_immunosuppressant_for_only_90_days_is_not_resistant():
    result = inc3_resistant(therapies(taken_for("methotrexate", 91), taken_for("ciclosporin", 90)))
    assert result.status == Status.FAIL


def test_the_same_immunosuppressant_twice_is_not_two_different_ones():
    later = THERAPY_START + timedelta(days=200)
    result = inc3_resistant(
        therapies(taken_for("methotrexate", 100), taken_for("methotrexate", 100, later))
    )
    assert result.status == Status.FAIL


def test_repeated_periods_of_one_drug_count_their_union_not_their_sum():
    restart = THERAPY_START + timedelta(days=30)
    facts_ = therapies(taken_for("methotrexate", 60), taken_for("Methotrexate", 60, restart))
    # Days 0-60 and 30-90: 90 days on methotrexate, not 120.
    assert immunosuppressant_days(facts_) == {"methotrexate": 90}


def test_ongoing_therapy_runs_to_the_screening_date():
    started = SCREENING - timedelta(days=91)
    result = inc3_resistant(
        therapies(therapy("mycophenolate mofetil", started), therapy("tacrolimus", started))
    )
    assert result.status == Status.PASS
    assert "mycophenolate mofetil 91 days, tacrolimus 91 days" in result.reason


def test_drugs_not_counted_do_not_make_disease_resistant():
    result = inc3_resistant(
        therapies(taken_for("hydroxychloroquine", 400), taken_for("methotrexate", 400))
    )
    assert result.status == Status.FAIL


def test_resistant_therapy_without_a_feature_still_present_fails():
    result = inc3_resistant(facts(systemic_involvement=frozenset()))
    assert result.status == Status.FAIL
    assert "no systemic involvement, B-cell activation or persistently raised ESR" in result.reason


def test_b_cell_activation_alone_is_a_feature_still_present():
    result = inc3_resistant(
        facts(
            systemic_involvement=frozenset(),
            b_cell_activation=frozenset({BCellActivation.LOW_C4}),
        )
    )
    assert result.status == Status.PASS
    assert "still present: Low C4" in result.reason


def test_elevated_igg_ticked_with_a_normal_screening_igg_warns_on_the_screening():
    result = inc3_resistant(
        facts(b_cell_activation=frozenset({BCellActivation.ELEVATED_IGG}), igg=lab("14"))
    )
    assert result.status == Status.PASS  # a warning, not a verdict: the tick box stays
    assert result.warnings == (
        "INC3(b): “Elevated IgG” is ticked, but the screening IgG 14 g/L (2026-05-02) is not "
        "above the upper reference limit 15 g/L: check the tick box or the value",
    )


def test_a_high_screening_igg_without_the_elevated_igg_tick_warns():
    # The limit is the child's: 15 g/L at 12 years (trialsite.reference_ranges), not 16.
    result = inc3_resistant(facts(b_cell_activation=frozenset(), igg=lab("16.1")))
    assert result.warnings == (
        "INC3(b): the screening IgG 16.1 g/L (2026-05-02) is above the upper reference limit "
        "15 g/L, but “Elevated IgG” is not ticked: check the B-cell activation items",
    )
    assert assess(facts(b_cell_activation=frozenset(), igg=lab("16.1"))).warnings == (
        result.warnings
    )


@pytest.mark.parametrize(
    ("ticked", "igg"),
    [(True, "16.1"), (True, "25"), (False, "15"), (False, "14"), (False, "3")],
)
def test_an_igg_agreeing_with_the_tick_box_does_not_warn(ticked, igg):
    activation = frozenset({BCellActivation.ELEVATED_IGG}) if ticked else frozenset()
    assert inc3_resistant(facts(b_cell_activation=activation, igg=lab(igg))).warnings == ()


def test_the_igg_cross_check_waits_for_both_the_value_and_the_items():
    ticked = frozenset({BCellActivation.ELEVATED_IGG})
    assert inc3_resistant(facts(b_cell_activation=ticked, igg=None)).warnings == ()
    assert inc3_resistant(facts(b_cell_activation=None, igg=lab("20"))).warnings == ()


def test_unanswered_features_are_missing_when_none_is_present():
    result = inc3_resistant(facts(systemic_involvement=frozenset(), esr_persistently_raised=None))
    assert result.status == Status.MISSING
    assert result.missing_items == ("Persistently raised ESR",)


def test_missing_therapy_history_is_missing():
    result = inc3_resistant(facts(prior_therapies=None))
    assert result.missing_items == ("Prior therapy history",)


# --- INC4 --------------------------------------------------------------------------------


def test_guardian_refusal_fails_agreement():
    assert inc4_agreement(facts(guardian_agrees=False)).status == Status.FAIL


def test_child_of_eight_must_assent():
    result = inc4_agreement(facts(date_of_birth=date(2018, 5, 2), child_agrees=None))
    assert result.missing_items == ("Child agrees to rituximab and belimumab (assent)",)


def test_child_under_eight_needs_no_assent():
    result = inc4_agreement(facts(date_of_birth=date(2018, 5, 3), child_agrees=None))
    assert result.status == Status.PASS


def test_a_child_turning_eight_before_day_0_gets_an_early_warning_not_a_failure():
    # 7 on the screening date (2026-05-02), 8 on 2026-05-10, before planned Day 0 (05-20):
    # the consent date decides at enrolment; screening only warns.
    result = inc4_agreement(facts(date_of_birth=date(2018, 5, 10), child_agrees=None))
    assert result.status == Status.PASS
    assert "under 8 on the screening date" in result.reason
    assert result.warnings == (
        "INC4 early warning: the child turns 8 on 2026-05-10, before planned Day 0: child "
        "assent will be required if consent is dated on or after that day (checked at "
        "enrolment).",
    )


def test_a_child_turning_eight_after_day_0_gets_no_warning():
    result = inc4_agreement(facts(date_of_birth=date(2018, 5, 21), child_agrees=None))
    assert result.status == Status.PASS
    assert result.warnings == ()
    assert "not required under 8" in result.reason


# --- SCR1 --------------------------------------------------------------------------------


def test_screening_28_days_before_planned_day_0_is_in_window():
    result = scr1_window(facts(planned_day_0=SCREENING + timedelta(days=28)))
    assert result.status == Status.PASS


def test_screening_29_days_before_planned_day_0_is_out_of_window():
    result = scr1_window(facts(planned_day_0=SCREENING + timedelta(days=29)))
    assert result.status == Status.FAIL
    assert result.reason == (
        "Screening (2026-05-02) is not within the 28 days before planned Day 0 (2026-05-31)"
    )


def test_a_lab_dated_too_early_counts_as_missing_with_the_reason():
    stale = facts(creatinine=lab("40", DAY_0 - timedelta(days=29)))
    expected = (
        "Creatinine dated within 28 days before planned Day 0 (2026-05-20); "
        "the one entered is dated 2026-04-21"
    )
    assert scr1_window(stale).missing_items == (expected,)
    # EXC3 cannot use it either; the assessment lists it once.
    assert exc3_renal(stale).missing_items == (expected,)
    assert assess(stale).missing_items == (expected,)


def test_a_lab_dated_exactly_28_days_before_planned_day_0_counts():
    assert scr1_window(facts(igg=lab("14", DAY_0 - timedelta(days=28)))).status == Status.PASS


def test_missing_planned_day_0_is_missing():
    assert scr1_window(facts(planned_day_0=None)).missing_items == (
        "Planned Day 0 (first rituximab infusion)",
    )


# --- EXC1 --------------------------------------------------------------------------------


def test_rituximab_exactly_6_calendar_months_before_screening_excludes():
    # 2026-08-31 - 6 months = 2026-02-28 (clamped to the month's last day).
    result = exc1_prior_biologics(
        facts(
            screening_date=date(2026, 8, 31),
            prior_therapies=(therapy("rituximab", date(2026, 2, 1), date(2026, 2, 28)),),
        )
    )
    assert result.status == Status.FAIL
    assert result.reason == (
        "Rituximab last given 2026-02-28, within 6 months of screening (2026-08-31)"
    )


def test_rituximab_one_day_more_than_6_months_before_screening_does_not_exclude():
    result = exc1_prior_biologics(
        facts(
            screening_date=date(2026, 8, 31),
            prior_therapies=(therapy("rituximab", date(2026, 2, 1), date(2026, 2, 27)),),
        )
    )
    assert result.status == Status.PASS


def test_ongoing_rituximab_excludes():
    result = exc1_prior_biologics(therapies(therapy("rituximab", date(2025, 1, 1))))
    assert result.status == Status.FAIL


def test_any_belimumab_ever_excludes():
    result = exc1_prior_biologics(
        therapies(therapy("belimumab", date(2016, 1, 1), date(2016, 6, 1)))
    )
    assert result.status == Status.FAIL
    assert "Previous biologic belimumab (started 2016-01-01)" in result.reason


def test_no_therapy_history_leaves_exc1_missing():
    assert exc1_prior_biologics(facts(prior_therapies=None)).status == Status.MISSING


# --- EXC2 --------------------------------------------------------------------------------


def test_other_trial_exactly_6_months_before_screening_excludes():
    result = exc2_other_trial(facts(other_trial=True, other_trial_last_date=date(2025, 11, 2)))
    assert result.status == Status.FAIL


def test_other_trial_more_than_6_months_before_screening_does_not_exclude():
    result = exc2_other_trial(facts(other_trial=True, other_trial_last_date=date(2025, 11, 1)))
    assert result.status == Status.PASS


def test_other_trial_without_its_date_is_missing():
    result = exc2_other_trial(facts(other_trial=True))
    assert result.missing_items == ("Date of last participation in another trial",)


# --- EXC3 --------------------------------------------------------------------------------


def renal(creatinine_umol_l: Decimal, height: str = "150", **changes) -> ScreeningFacts:
    return facts(creatinine=LabResult(creatinine_umol_l, LABS_TAKEN), height=lab(height), **changes)


def test_egfr_of_30_from_height_and_creatinine_in_umol_l_is_not_excluded():
    # 0.413 × 150 / (182.546 / 88.4) = 30.0
    result = exc3_renal(renal(D("182.546")))
    assert result.status == Status.PASS
    assert result.reason == (
        "eGFR 30 mL/min/1.73 m² (bedside Schwartz from height 150 cm and creatinine "
        "182.546 µmol/L) is not below 30"
    )


def test_egfr_below_30_from_height_and_creatinine_in_umol_l_is_excluded():
    result = exc3_renal(renal(D("183")))  # 29.9
    assert result.status == Status.FAIL
    assert result.reason.startswith("eGFR 29.9 mL/min/1.73 m² (bedside Schwartz")


@pytest.mark.parametrize(
    ("creatinine_umol_l", "shown"),
    [
        ("182.85", "29.9"),  # 29.9501...
        ("182.6", "29.9"),  # 29.9911...
        ("182.555", "29.9"),  # 29.9985...
        ("182.552", "29.9"),  # 29.9990...
    ],
)
def test_egfr_just_below_30_is_excluded_although_it_rounds_to_30(creatinine_umol_l, shown):
    creatinine = D(creatinine_umol_l)
    egfr = D("0.413") * 150 * D("88.4") / creatinine
    # The case: a true value in [29.95, 30), which rounds to 30.0 at one decimal.
    assert D("29.95") <= egfr < D("30")
    result = exc3_renal(renal(creatinine))
    assert result.status == Status.FAIL
    assert result.reason.startswith(f"eGFR {shown} mL/min/1.73 m² (bedside Schwartz")
    assert result.reason.endswith("is below 30")


def test_egfr_of_30_from_creatinine_entered_in_mg_dl_is_not_excluded():
    creatinine = to_canonical("creatinine", D("2.065"), "mg/dL")
    assert exc3_renal(renal(creatinine)).status == Status.PASS


def test_egfr_below_30_from_creatinine_entered_in_mg_dl_is_excluded():
    creatinine = to_canonical("creatinine", D("2.07"), "mg/dL")  # 29.9
    assert exc3_renal(renal(creatinine)).status == Status.FAIL


def test_an_entered_egfr_is_used_instead_of_the_bedside_formula():
    result = exc3_renal(renal(D("40"), egfr=lab("29")))
    assert result.status == Status.FAIL
    assert result.reason == "eGFR 29 mL/min/1.73 m² (entered, 2026-05-02) is below 30"


def test_no_egfr_and_no_height_is_missing():
    result = exc3_renal(facts(height=None))
    assert result.missing_items == ("Height",)


# --- EXC4 --------------------------------------------------------------------------------


def test_hbsab_positive_alone_passes():
    assert exc4_chronic_infection(facts(hbsab=True, hbcab=False)).status == Status.PASS


def test_hbsab_positive_with_hbcab_positive_excludes():
    result = exc4_chronic_infection(facts(hbsab=True, hbcab=True))
    assert result.status == Status.FAIL
    assert result.reason == "HBsAb and HBcAb both positive"


def test_hbcab_is_needed_only_when_hbsab_is_positive():
    assert exc4_chronic_infection(facts(hbsab=False, hbcab=None)).status == Status.PASS
    assert exc4_chronic_infection(facts(hbsab=True, hbcab=None)).missing_items == ("HBcAb",)


@pytest.mark.parametrize("marker", ["hbsag", "hcv_ab", "hiv_ever", "active_tb"])
def test_each_positive_infection_marker_excludes(marker):
    assert exc4_chronic_infection(facts(**{marker: True})).status == Status.FAIL


# --- EXC5 --------------------------------------------------------------------------------


def test_live_vaccine_exactly_3_months_before_planned_day_0_excludes():
    result = exc5_infection(facts(live_vaccine=True, live_vaccine_date=date(2026, 2, 20)))
    assert result.status == Status.FAIL
    assert result.reason == (
        "Live-attenuated vaccine on 2026-02-20, within 3 months before planned Day 0 (2026-05-20)"
    )


def test_live_vaccine_one_day_earlier_does_not_exclude():
    result = exc5_infection(facts(live_vaccine=True, live_vaccine_date=date(2026, 2, 19)))
    assert result.status == Status.PASS


def test_hospitalisation_for_infection_60_days_before_planned_day_0_excludes():
    left_hospital = DAY_0 - timedelta(days=60)
    result = exc5_infection(
        facts(infection_hospitalisation=True, infection_hospitalisation_last_date=left_hospital)
    )
    assert result.status == Status.FAIL


def test_hospitalisation_for_infection_61_days_before_planned_day_0_does_not_exclude():
    left_hospital = DAY_0 - timedelta(days=61)
    result = exc5_infection(
        facts(infection_hospitalisation=True, infection_hospitalisation_last_date=left_hospital)
    )
    assert result.status == Status.PASS


def test_parenteral_antimicrobials_30_days_before_planned_day_0_exclude_but_31_do_not():
    def on(days_before: int):
        return exc5_infection(
            facts(
                parenteral_antimicrobials=True,
                parenteral_antimicrobials_last_date=DAY_0 - timedelta(days=days_before),
            )
        ).status

    assert (on(30), on(31)) == (Status.FAIL, Status.PASS)


def test_a_yes_without_its_date_is_missing_the_date():
    result = exc5_infection(facts(infection_hospitalisation=True))
    assert result.missing_items == ("Last day in hospital for infection",)


@pytest.mark.parametrize("answer", ["chronic_infection_suppressive_therapy", "high_infection_risk"])
def test_undated_infection_exclusions_exclude_on_yes(answer):
    assert exc5_infection(facts(**{answer: True})).status == Status.FAIL


# --- EXC6-EXC9 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criterion", "answer"),
    [
        (exc6_primary_immunodeficiency, "primary_immunodeficiency"),
        (exc7_malignancy, "malignancy_history"),
        (exc8_severe_other_disease, "severe_uncontrolled_other_disease"),
        (exc9_other_disease_on_steroids, "other_disease_needing_systemic_corticosteroids"),
    ],
)
def test_yes_excludes_and_no_answer_is_missing(criterion, answer):
    assert criterion(facts(**{answer: True})).status == Status.FAIL
    assert criterion(facts(**{answer: False})).status == Status.PASS
    assert criterion(facts(**{answer: None})).status == Status.MISSING


# --- EXC10 / EXC11 -------------------------------------------------------------------------


def test_low_screening_igg_warns_but_does_not_change_the_outcome():
    assessment = assess(facts(igg=lab("3.9")))
    assert assessment.outcome == Outcome.ELIGIBLE
    assert exc10_immunoglobulins(facts(igg=lab("3.9"))).status == Status.PASS
    assert assessment.warnings == (
        "EXC10 early warning: screening IgG 3.9 g/L (2026-05-02) is below 4 g/L; it must be at "
        "least that within 10 days before the first belimumab",
    )


def test_low_screening_neutrophils_and_iga_warn_for_both_codes():
    assessment = assess(facts(iga=lab("0.05"), neutrophils=lab("0.9")))
    assert assessment.outcome == Outcome.ELIGIBLE
    assert [w.split(" ")[0] for w in assessment.warnings] == ["EXC10", "EXC11"]
    assert exc11_leucocytes(facts(neutrophils=lab("0.9"))).status == Status.PASS


def test_screening_values_at_the_thresholds_do_not_warn():
    assessment = assess(facts(igg=lab("4"), iga=lab("0.1"), wbc=lab("1.5"), neutrophils=lab("1")))
    assert assessment.warnings == ()


# --- Assessment --------------------------------------------------------------------------


def test_a_fully_eligible_participant_is_eligible():
    assessment = assess(ELIGIBLE)
    assert assessment.outcome == Outcome.ELIGIBLE
    assert assessment.failed_codes == ()
    assert assessment.missing_items == ()
    assert assessment.criteria_sets_met == (CriteriaSet.AECG_2002, CriteriaSet.JAPANESE_1999)
    assert all(result.status == Status.PASS for result in assessment.results)


def test_results_come_in_protocol_order_one_per_criterion():
    codes = tuple(result.code for result in assess(ELIGIBLE).results)
    assert codes == (
        "INC1", "INC2", "INC3", "INC4", "SCR1",
        "EXC1", "EXC2", "EXC3", "EXC4", "EXC5", "EXC6",
        "EXC7", "EXC8", "EXC9", "EXC10", "EXC11",
    )  # fmt: skip
    assert len(CRITERIA) == len(codes)


def test_assessment_lists_every_failed_code_and_still_the_missing_items():
    assessment = assess(
        facts(
            date_of_birth=date(2007, 5, 1),
            prior_therapies=ELIGIBLE.prior_therapies + (therapy("tocilizumab", date(2020, 1, 1)),),
            hbsag=True,
            malignancy_history=True,
            guardian_agrees=None,
        )
    )
    assert assessment.outcome == Outcome.NOT_ELIGIBLE
    assert assessment.failed_codes == ("INC1", "EXC1", "EXC4", "EXC7")
    assert assessment.missing_items == ("Guardian agrees to rituximab and belimumab",)


def test_assessment_lists_every_missing_item_at_once():
    assessment = assess(
        facts(
            guardian_agrees=None,
            creatinine=None,
            hbsag=None,
            live_vaccine=None,
            primary_immunodeficiency=None,
        )
    )
    assert assessment.outcome == Outcome.INCOMPLETE
    assert assessment.failed_codes == ()
    assert assessment.missing_items == (
        "Guardian agrees to rituximab and belimumab",
        "Creatinine",
        "HBsAg",
        "Live-attenuated vaccine",
        "Primary immunodeficiency",
    )
