"""Real browser: a coordinator screens an eligible candidate, an investigator signs,
and a later lab change voids the signature."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from demo.screenings import ELIGIBLE_ITEMS
from tests.factories.trialsite import PASSWORD

pytestmark = pytest.mark.browser


def choose(page, name: str, value) -> None:
    """Tick a Yes/No radio (value True/False), a serology radio (Positive/Negative/Not
    done), or type into an input."""
    if isinstance(value, bool):
        page.check(f"input[name={name}][value={'true' if value else 'false'}]")
    elif value in ("positive", "negative", "not_done"):
        page.check(f"input[name={name}][value={value}]")
    else:
        page.fill(f"[name={name}]", str(value))


def save_and_continue(page) -> None:
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_load_state()
    assert not page.locator(".is-invalid").count(), page.locator("form").inner_text()


def test_coordinator_screens_investigator_signs_and_a_lab_change_voids_it(
    page, log_in, coordinator_pumch, investigator_pumch
):
    today = timezone.localdate()
    screened, day_0 = today - timedelta(days=3), today + timedelta(days=10)

    log_in(coordinator_pumch)
    page.get_by_role("link", name="Screening", exact=True).click()
    page.get_by_role("link", name="New screening").click()
    page.get_by_label("Screening date").fill(screened.isoformat())
    page.get_by_label("Date of birth").fill("2013-06-01")
    page.get_by_label("Sex").select_option("F")
    page.get_by_label("Planned Day 0").fill(day_0.isoformat())
    page.get_by_role("button", name="Open screening").click()
    assert "PUMCH-S001" in page.locator("h1").inner_text()
    assert page.locator("[data-outcome]").get_attribute("data-outcome") == "incomplete"

    # Sjögren items, one sitting.
    page.get_by_role("link", name="Edit Sjögren's classification items").click()
    for name in [
        "dry_eyes_daily_over_3_months",
        "recurrent_sand_or_gravel_in_eyes",
        "tear_substitutes_over_3_times_daily",
        "dry_mouth_daily_over_3_months",
        "recurrent_salivary_gland_swelling",
        "drinks_liquids_to_swallow_dry_food",
        "fluorescein_staining_positive",
        "diffuse_sialectasis_on_sialography",
        "scintigraphy_reduced_function",
        "anti_ssa_ro",
        "anti_ssb_la",
        "past_head_neck_radiation",
        "hepatitis_c",
        "aids",
        "pre_existing_lymphoma",
        "sarcoidosis",
        "graft_versus_host_disease",
        "anticholinergic_drugs",
    ]:
        choose(page, name, ELIGIBLE_ITEMS[name])
    for name in [
        "schirmer_mm_5min",
        "van_bijsterveld_score",
        "focus_score_per_4mm2",
        "unstimulated_saliva_ml_15min",
        "gum_test_ml_10min",
    ]:
        choose(page, name, ELIGIBLE_ITEMS[name])
    page.select_option("[name=biopsy_site]", "labial")
    page.select_option("[name=sialography_stage]", "1")
    save_and_continue(page)

    # "Save and continue" leads to the next section: prior therapy.
    page.get_by_role("link", name="Add therapy").click()
    for drug, start in (("methotrexate", "2023-01-10"), ("mycophenolate mofetil", "2024-02-01")):
        page.get_by_label("Drug", exact=False).first.fill(drug)
        page.get_by_label("Start").fill(start)
        page.get_by_role("button", name="Save and add another").click()
        page.wait_for_load_state()
        assert not page.locator(".is-invalid").count(), page.locator("form").inner_text()
    page.get_by_role("link", name="PUMCH-S001").click()

    page.get_by_role("link", name="Edit Disease features still present").click()
    page.get_by_label("Polyarthritis").check()
    page.locator("input[name=b_cell_none]").check()
    choose(page, "esr_persistently_raised", True)
    save_and_continue(page)

    # Labs and serology.
    for analyte, value, unit in (
        ("creatinine", "45", "umol/L"),
        ("height", "150", "cm"),
        ("igg", "1850", "mg/dL"),
        ("iga", "2.1", "g/L"),
        ("wbc", "5200", "/uL"),
        ("neutrophils", "3.1", "10^9/L"),
    ):
        page.fill(f"[name={analyte}_value]", value)
        page.select_option(f"[name={analyte}_unit]", unit)
        page.fill(f"[name={analyte}_date]", screened.isoformat())
    for name in ("hbsag", "hbsab", "hcv_ab"):
        choose(page, name, "negative")
    for name in ("hiv_ever", "active_tb"):
        choose(page, name, False)
    save_and_continue(page)

    for name in [
        "other_trial",
        "chronic_infection_suppressive_therapy",
        "infection_hospitalisation",
        "parenteral_antimicrobials",
        "live_vaccine",
        "high_infection_risk",
        "primary_immunodeficiency",
        "malignancy_history",
        "severe_uncontrolled_other_disease",
        "other_disease_needing_systemic_corticosteroids",
    ]:
        choose(page, name, False)
    save_and_continue(page)
    choose(page, "guardian_agrees", True)
    choose(page, "child_agrees", True)
    page.get_by_role("button", name="Save", exact=True).click()

    assert page.locator("[data-outcome]").get_attribute("data-outcome") == "eligible"
    assert "AECG 2002" in page.locator("section[aria-labelledby=assessment-heading]").inner_text()
    screening_url = page.url

    # The investigator confirms with an e-signature.
    page.context.clear_cookies()
    log_in(investigator_pumch)
    page.goto(screening_url)
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign: confirm eligibility").click()
    signature = page.locator("[data-signature]")
    assert signature.get_attribute("data-signature") == "valid"
    assert "Ivan Chen" in signature.inner_text()
    assert "meets all eligibility criteria" in signature.inner_text()

    # A later change to a lab value voids the signature, visibly.
    page.context.clear_cookies()
    log_in(coordinator_pumch)
    page.goto(screening_url + "labs/")
    page.fill("[name=iga_value]", "1.9")
    page.get_by_label("Reason for change").fill("Lab re-issued the report")
    page.get_by_role("button", name="Save", exact=True).click()
    signature = page.locator("[data-signature]")
    assert signature.get_attribute("data-signature") == "void"
    assert "changed after it was signed" in signature.inner_text()
