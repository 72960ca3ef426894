"""Dose proposals (PROTOCOL.md "Decision (doses)"): Mosteller BSA, caps, the 10 % rule."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from dosing.doses import (
    anthropometry_is_current,
    body_surface_area,
    check_anthropometry,
    check_dose,
    dose_difference_fraction,
    dose_needs_reason,
    propose_belimumab_dose,
    propose_rituximab_dose,
)
from dosing.engine import Drug

INFUSION_DAY = date(2026, 4, 6)


def d(value: str) -> Decimal:
    return Decimal(value)


def days_before(n: int) -> date:
    return INFUSION_DAY - timedelta(days=n)


# --- Mosteller BSA ------------------------------------------------------------------


def test_bsa_is_mosteller_rounded_to_two_decimals():
    bsa = body_surface_area(d("140"), d("32.5"))  # sqrt(1.26389) = 1.1242...
    assert bsa.m2 == d("1.12")
    assert "√(140 cm × 32.5 kg / 3600) = 1.12 m²" in bsa.explanation


def test_bsa_rounds_half_up():
    # 150 cm x 36.015 kg / 3600 = 1.500625, whose root is exactly 1.225.
    assert body_surface_area(d("150"), d("36.015")).m2 == d("1.23")


def test_bsa_refuses_a_zero_height():
    with pytest.raises(ValueError):
        body_surface_area(d("0"), d("30"))


# --- Rituximab ----------------------------------------------------------------------


def test_rituximab_dose_is_375_mg_per_square_metre_of_bsa():
    proposal = propose_rituximab_dose(d("140"), d("32.5"))
    assert proposal.drug is Drug.RITUXIMAB
    assert proposal.bsa_m2 == d("1.12")
    assert proposal.dose_mg == d("420")
    assert proposal.capped is False
    assert "375 mg/m² × 1.12 m² = 420 mg" in proposal.explanation
    assert "not reached" in proposal.explanation


def test_rituximab_dose_is_rounded_half_up_to_whole_mg():
    # BSA 1.02 m2 (120 cm, 31.212 kg): 375 x 1.02 = 382.5 mg -> 383 mg.
    assert propose_rituximab_dose(d("120"), d("31.212")).dose_mg == d("383")


def test_rituximab_dose_is_capped_at_500_mg_and_says_so():
    proposal = propose_rituximab_dose(d("170"), d("60"))  # BSA 1.68 -> 630 mg
    assert proposal.uncapped_mg == d("630")
    assert proposal.dose_mg == d("500")
    assert proposal.capped is True
    assert "capped at the maximum of 500 mg" in proposal.explanation


def test_rituximab_dose_just_under_the_cap_is_not_capped():
    proposal = propose_rituximab_dose(d("150"), d("40"))  # BSA 1.29 -> 483.75 -> 484 mg
    assert (proposal.dose_mg, proposal.capped) == (d("484"), False)


def test_rituximab_cap_is_configurable():
    proposal = propose_rituximab_dose(d("170"), d("60"), max_dose_mg=d("600"))
    assert (proposal.dose_mg, proposal.capped) == (d("600"), True)
    assert propose_rituximab_dose(d("170"), d("60"), max_dose_mg=d("700")).dose_mg == d("630")


# --- Belimumab ----------------------------------------------------------------------


def test_belimumab_dose_is_10_mg_per_kg_in_whole_mg():
    proposal = propose_belimumab_dose(d("32.46"))
    assert proposal.drug is Drug.BELIMUMAB
    assert proposal.dose_mg == d("325")
    assert proposal.bsa_m2 is None
    assert "10 mg/kg × 32.46 kg = 325 mg" in proposal.explanation


def test_belimumab_dose_refuses_a_negative_weight():
    with pytest.raises(ValueError):
        propose_belimumab_dose(d("-1"))


# --- The 10 % rule ------------------------------------------------------------------


def test_dose_difference_is_a_fraction_of_the_proposed_dose():
    assert dose_difference_fraction(d("400"), d("440")) == d("0.1")
    assert dose_difference_fraction(d("400"), d("300")) == d("0.25")


@pytest.mark.parametrize(
    ("given", "needs_reason"),
    [("440", False), ("360", False), ("441", True), ("359", True), ("400", False)],
)
def test_a_dose_needs_a_reason_only_when_more_than_10_percent_off(given, needs_reason):
    assert dose_needs_reason(d("400"), d(given)) is needs_reason


def test_dose_check_explains_itself():
    over = check_dose(d("400"), d("450"))
    assert over.needs_reason is True
    assert "12.5 %" in over.explanation
    assert "give a reason" in over.explanation
    exactly = check_dose(d("400"), d("440"))
    assert exactly.needs_reason is False
    assert "within 10 %" in exactly.explanation


# --- Anthropometry must be current --------------------------------------------------


@pytest.mark.parametrize(
    ("measured_days_before", "current"), [(0, True), (7, True), (8, False), (-1, False)]
)
def test_weight_and_height_count_only_when_measured_within_7_days_before(
    measured_days_before, current
):
    assert anthropometry_is_current(days_before(measured_days_before), INFUSION_DAY) is current


def test_anthropometry_check_explains_itself():
    stale = check_anthropometry(days_before(8), INFUSION_DAY)
    assert (stale.current, stale.days_old) == (False, 8)
    assert "measure weight and height again" in stale.explanation
    after = check_anthropometry(days_before(-1), INFUSION_DAY)
    assert "after the infusion" in after.explanation
    fresh = check_anthropometry(days_before(7), INFUSION_DAY)
    assert fresh.current is True
    assert "usable" in fresh.explanation
