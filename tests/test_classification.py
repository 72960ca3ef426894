from decimal import Decimal

from eligibility.classification import (
    BiopsySite,
    CriteriaSet,
    ItemState,
    SetStatus,
    SialographyStage,
    SjogrenFindings,
    SourceTest,
    aecg_items,
    classify,
    classify_aecg,
    classify_japanese,
    japanese_items,
)

D = Decimal

# Every source item answered and negative, no AECG exclusion: each test adds what it tests.
ALL_NEGATIVE = {
    "dry_eyes_daily_over_3_months": False,
    "recurrent_sand_or_gravel_in_eyes": False,
    "tear_substitutes_over_3_times_daily": False,
    "dry_mouth_daily_over_3_months": False,
    "recurrent_salivary_gland_swelling": False,
    "drinks_liquids_to_swallow_dry_food": False,
    "schirmer_mm_5min": D("15"),
    "van_bijsterveld_score": 0,
    "fluorescein_staining_positive": False,
    "biopsy_site": BiopsySite.LABIAL,
    "focus_score_per_4mm2": D("0"),
    "unstimulated_saliva_ml_15min": D("4"),
    "diffuse_sialectasis_on_sialography": False,
    "sialography_stage": SialographyStage.STAGE_0,
    "scintigraphy_reduced_function": False,
    "gum_test_ml_10min": D("20"),
    "saxon_test_g_2min": D("5"),
    "anti_ssa_ro": False,
    "anti_ssb_la": False,
    "past_head_neck_radiation": False,
    "hepatitis_c": False,
    "aids": False,
    "pre_existing_lymphoma": False,
    "sarcoidosis": False,
    "graft_versus_host_disease": False,
    "anticholinergic_drugs": False,
}

# One way to make each AECG item positive (at the threshold where there is one).
AECG_I = {"dry_eyes_daily_over_3_months": True}
AECG_II = {"drinks_liquids_to_swallow_dry_food": True}
AECG_III = {"schirmer_mm_5min": D("5")}
AECG_IV = {"focus_score_per_4mm2": D("1")}
AECG_V = {"unstimulated_saliva_ml_15min": D("1.5")}
AECG_VI = {"anti_ssa_ro": True}


def findings(*positive_items: dict, **values) -> SjogrenFindings:
    answers = dict(ALL_NEGATIVE)
    for item in positive_items:
        answers.update(item)
    answers.update(values)
    return SjogrenFindings(**answers)


def states(items) -> dict[str, ItemState]:
    return {item.code: item.state for item in items}


# --- AECG 2002 ---------------------------------------------------------------------------


def test_aecg_four_of_six_including_anti_ro_is_met():
    result = classify_aecg(findings(AECG_I, AECG_II, AECG_III, AECG_VI))
    assert result.status == SetStatus.MET
    assert result.positive_items == ("I", "II", "III", "VI")
    assert result.explanation == (
        "AECG 2002 met: 4 of 6 items positive (I, II, III, VI) including VI (Anti-Ro/SSA positive)"
    )


def test_aecg_four_of_six_including_histopathology_is_met():
    result = classify_aecg(findings(AECG_I, AECG_II, AECG_IV, AECG_V))
    assert result.status == SetStatus.MET
    assert "including IV (Biopsy focus score (foci per 4 mm²) 1 ≥ 1)" in result.explanation


def test_aecg_four_of_six_without_histopathology_or_antibodies_is_not_met():
    result = classify_aecg(findings(AECG_I, AECG_II, AECG_III, AECG_V))
    assert result.status == SetStatus.NOT_MET
    assert result.missing_items == ()
    assert result.explanation.startswith("AECG 2002 not met: positive items I, II, III, V")


def test_aecg_three_of_four_objective_items_is_met():
    result = classify_aecg(findings(AECG_III, AECG_IV, AECG_V))
    assert result.status == SetStatus.MET
    assert result.explanation == "AECG 2002 met: 3 of the 4 objective items positive (III, IV, V)"


def test_aecg_three_items_with_only_two_objective_is_not_met():
    assert classify_aecg(findings(AECG_I, AECG_III, AECG_VI)).status == SetStatus.NOT_MET


def test_aecg_exclusion_present_is_not_met_even_with_all_six_items():
    result = classify_aecg(
        findings(AECG_I, AECG_II, AECG_III, AECG_IV, AECG_V, AECG_VI, hepatitis_c=True)
    )
    assert result.status == SetStatus.NOT_MET
    assert result.exclusions_present == ("AECG exclusion: hepatitis C",)
    assert "exclusion present" in result.explanation


def test_aecg_undetermined_lists_exactly_the_missing_source_items():
    result = classify_aecg(
        findings(
            AECG_I,
            AECG_II,
            AECG_III,
            focus_score_per_4mm2=None,
            anti_ssa_ro=None,
            anti_ssb_la=None,
        )
    )
    assert result.status == SetStatus.UNDETERMINED
    assert result.missing_items == (
        "Biopsy focus score (foci per 4 mm²)",
        "Anti-Ro/SSA",
        "Anti-La/SSB",
    )


def test_aecg_items_holding_with_unanswered_exclusions_is_undetermined():
    result = classify_aecg(findings(AECG_III, AECG_IV, AECG_V, sarcoidosis=None, aids=None))
    assert result.status == SetStatus.UNDETERMINED
    assert result.missing_items == ("AECG exclusion: AIDS", "AECG exclusion: sarcoidosis")


def test_aecg_is_not_met_when_unknown_items_could_not_make_it_hold():
    # Only IV unknown and VI positive: at most two items, whatever the biopsy shows.
    result = classify_aecg(findings(AECG_VI, focus_score_per_4mm2=None))
    assert result.status == SetStatus.NOT_MET


def test_one_yes_makes_a_symptom_item_positive_despite_unanswered_sub_questions():
    items = aecg_items(
        findings(
            dry_eyes_daily_over_3_months=None,
            recurrent_sand_or_gravel_in_eyes=True,
            tear_substitutes_over_3_times_daily=None,
        )
    )
    assert states(items)["I"] == ItemState.POSITIVE


def test_a_symptom_item_with_no_yes_and_an_unanswered_question_is_unknown():
    items = aecg_items(findings(tear_substitutes_over_3_times_daily=None))
    ocular = items[0]
    assert ocular.state == ItemState.UNKNOWN
    assert ocular.missing_items == ("Tear substitutes more than 3 times a day",)


def test_aecg_ocular_signs_thresholds():
    assert states(aecg_items(findings(schirmer_mm_5min=D("5.5"))))["III"] == ItemState.NEGATIVE
    assert states(aecg_items(findings(van_bijsterveld_score=4)))["III"] == ItemState.POSITIVE
    assert states(aecg_items(findings(van_bijsterveld_score=3)))["III"] == ItemState.NEGATIVE


def test_aecg_salivary_involvement_by_sialectasis_or_scintigraphy():
    assert states(aecg_items(findings(unstimulated_saliva_ml_15min=D("1.6"))))["V"] == (
        ItemState.NEGATIVE
    )
    assert states(aecg_items(findings(diffuse_sialectasis_on_sialography=True)))["V"] == (
        ItemState.POSITIVE
    )
    assert states(aecg_items(findings(scintigraphy_reduced_function=True)))["V"] == (
        ItemState.POSITIVE
    )


def test_a_lacrimal_biopsy_counts_for_japanese_but_not_for_aecg():
    sjogren = findings(biopsy_site=BiopsySite.LACRIMAL, focus_score_per_4mm2=D("2"))
    assert states(aecg_items(sjogren))["IV"] == ItemState.NEGATIVE
    assert states(japanese_items(sjogren))["1"] == ItemState.POSITIVE


def test_a_positive_biopsy_needs_its_site_for_aecg():
    sjogren = findings(biopsy_site=None, focus_score_per_4mm2=D("2"))
    histopathology = aecg_items(sjogren)[3]
    assert histopathology.state == ItemState.UNKNOWN
    assert histopathology.missing_items == ("Biopsy site",)


def test_a_test_recorded_as_not_performed_counts_as_negative_not_missing():
    sjogren = findings(
        AECG_VI,
        focus_score_per_4mm2=None,
        biopsy_site=None,
        not_performed=frozenset({SourceTest.BIOPSY}),
    )
    assert states(aecg_items(sjogren))["IV"] == ItemState.NEGATIVE
    assert classify_aecg(sjogren).missing_items == ()


# --- Japanese 1999 -----------------------------------------------------------------------


def test_japanese_two_of_four_by_sialography_stage_i_and_serology_is_met():
    sjogren = findings(sialography_stage=SialographyStage.STAGE_I, anti_ssb_la=True)
    result = classify_japanese(sjogren)
    assert result.status == SetStatus.MET
    assert result.positive_items == ("2", "4")
    assert result.explanation.startswith("Japanese 1999 met: 2 of 4 items positive (2 (oral")


def test_japanese_sialography_stage_0_is_not_positive():
    sjogren = findings(sialography_stage=SialographyStage.STAGE_0)
    assert states(japanese_items(sjogren))["2"] == ItemState.NEGATIVE


def test_japanese_gum_test_with_reduced_scintigraphy_is_item_2():
    sjogren = findings(AECG_VI, gum_test_ml_10min=D("10"), scintigraphy_reduced_function=True)
    assert states(japanese_items(sjogren))["2"] == ItemState.POSITIVE
    assert classify_japanese(sjogren).status == SetStatus.MET


def test_japanese_saxon_test_with_reduced_scintigraphy_is_item_2():
    sjogren = findings(AECG_VI, saxon_test_g_2min=D("2"), scintigraphy_reduced_function=True)
    assert states(japanese_items(sjogren))["2"] == ItemState.POSITIVE
    assert classify_japanese(sjogren).status == SetStatus.MET


def test_japanese_low_gum_test_without_reduced_scintigraphy_is_negative():
    sjogren = findings(AECG_VI, gum_test_ml_10min=D("8"), scintigraphy_reduced_function=False)
    assert states(japanese_items(sjogren))["2"] == ItemState.NEGATIVE
    assert classify_japanese(sjogren).status == SetStatus.NOT_MET


def test_japanese_gum_test_above_10_is_not_reduced_secretion():
    sjogren = findings(gum_test_ml_10min=D("10.1"), scintigraphy_reduced_function=True)
    assert states(japanese_items(sjogren))["2"] == ItemState.NEGATIVE


def test_japanese_schirmer_with_rose_bengal_3_is_item_3():
    sjogren = findings(AECG_VI, schirmer_mm_5min=D("5"), van_bijsterveld_score=3)
    assert states(japanese_items(sjogren))["3"] == ItemState.POSITIVE
    assert classify_japanese(sjogren).status == SetStatus.MET


def test_japanese_schirmer_with_positive_fluorescein_is_item_3():
    sjogren = findings(AECG_VI, schirmer_mm_5min=D("4"), fluorescein_staining_positive=True)
    assert states(japanese_items(sjogren))["3"] == ItemState.POSITIVE
    assert classify_japanese(sjogren).status == SetStatus.MET


def test_japanese_staining_without_low_schirmer_is_not_item_3():
    sjogren = findings(schirmer_mm_5min=D("6"), van_bijsterveld_score=9)
    assert states(japanese_items(sjogren))["3"] == ItemState.NEGATIVE


def test_japanese_one_item_is_not_met():
    result = classify_japanese(findings(AECG_VI))
    assert result.status == SetStatus.NOT_MET
    assert "1 of 4 items positive" in result.explanation


def test_japanese_undetermined_lists_only_what_could_still_decide_an_item():
    # Gum test low: item 2 hangs on sialography or scintigraphy.
    sjogren = findings(
        AECG_VI,
        sialography_stage=None,
        gum_test_ml_10min=D("8"),
        scintigraphy_reduced_function=None,
    )
    result = classify_japanese(sjogren)
    assert result.status == SetStatus.UNDETERMINED
    assert result.missing_items == (
        "Sialography stage",
        "Salivary scintigraphy abnormal (reduced function)",
    )


def test_japanese_scintigraphy_is_not_missing_when_secretion_is_normal():
    sjogren = findings(AECG_VI, sialography_stage=None, scintigraphy_reduced_function=None)
    assert classify_japanese(sjogren).missing_items == ("Sialography stage",)


# --- Both sets -----------------------------------------------------------------------------


def test_shared_measurements_entered_once_decide_both_sets():
    sjogren = findings(
        schirmer_mm_5min=D("3"),
        van_bijsterveld_score=4,
        focus_score_per_4mm2=D("2"),
        anti_ssa_ro=True,
    )
    aecg, japanese = classify(sjogren)
    assert (aecg.criteria_set, aecg.status) == (CriteriaSet.AECG_2002, SetStatus.MET)
    assert (japanese.criteria_set, japanese.status) == (CriteriaSet.JAPANESE_1999, SetStatus.MET)
    assert japanese.positive_items == ("1", "3", "4")


def test_nothing_entered_leaves_both_sets_undetermined():
    aecg, japanese = classify(SjogrenFindings())
    assert aecg.status == japanese.status == SetStatus.UNDETERMINED
    assert "Schirmer I test (mm/5 min)" in aecg.missing_items
    assert "Fluorescein staining" in japanese.missing_items
