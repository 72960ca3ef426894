"""Issue 19 acceptance in a real Chromium: Day 0 recorded for a participant typing weight
and height once (baseline vitals); the prescription and the infusion then show them with
their date, and infusion 1's vitals start from them.  EXC5 on Day 0 starts from the
screening answers: confirmed with one click."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from dosing.models import Visit
from tests.factories.dosing import make_participant
from tests.factories.trialsite import PASSWORD

pytestmark = pytest.mark.browser


def long_date(day: date) -> str:
    """DATE_FORMAT in English (trialsite/formats/en): 3 Mar 2026."""
    return f"{day.day} {day:%b %Y}"


def record_baseline_vitals(page, participant, day_0: date) -> None:
    page.goto(f"/dosing/{participant.subject_id}/visits/new/?code=BASELINE")
    # The visit date starts from the target (Day 0, today): nothing to type.
    assert page.locator("input[name=visit_date]").input_value() == day_0.isoformat()
    page.get_by_role("button", name="Save").click()
    assert "Visit BASELINE recorded" in page.locator(".messages").inner_text()
    baseline = Visit.objects.get(participant=participant, visit_code="BASELINE")
    page.goto(f"/crf/visit/{baseline.pk}/vitals/")
    for name, value in {
        "weight_kg": "32",
        "height_cm": "138",
        "temperature_c": "36.8",
        "heart_rate_bpm": "92",
        "systolic_mmhg": "104",
        "diastolic_mmhg": "66",
    }.items():
        page.locator(f"input[name={name}]").fill(value)
    page.get_by_role("button", name="Save", exact=True).click()
    assert "saved" in page.locator(".messages").inner_text()


def test_weight_and_height_typed_once_on_day_0_reach_the_prescription_and_the_infusion(
    page, log_in, site_pumch, coordinator_pumch, investigator_pumch
):
    from playwright.sync_api import expect  # like conftest: only where Chromium runs

    day_0 = timezone.localdate()
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch, day_0=day_0
    )
    log_in(investigator_pumch)
    record_baseline_vitals(page, participant, day_0)

    # EXC5: every answer starts from screening; the investigator re-confirms them.
    page.goto(f"/dosing/{participant.subject_id}/day-0/")
    assert page.locator("input[name=live_vaccine][value=no]").is_checked()
    assert page.get_by_text("Answered at screening on").first.is_visible()
    page.get_by_role("button", name="Confirm").click()
    assert "EXC5 re-confirmed" in page.locator(".messages").inner_text()

    note = f"from baseline vitals, {long_date(day_0)}"
    page.goto(f"/dosing/{participant.subject_id}/prescribe/")
    assert page.get_by_label("Weight (kg)").input_value() == "32.0"
    assert Decimal(page.get_by_label("Height (cm)").input_value()) == Decimal("138")
    assert page.get_by_label("Weight and height measured on").input_value() == day_0.isoformat()
    assert note in page.locator("form[data-warn-unsaved]").inner_text()
    # The proposal is shown at once from the prefilled values (static/js/dosing.js).
    expect(page.locator("#dose-proposal")).to_contain_text("416 mg")
    page.get_by_role("button", name="Calculate").click()
    assert page.get_by_label("Prescribed dose (mg)").input_value() == "416"
    page.get_by_label("Your password (e-signature)").fill(PASSWORD)
    page.get_by_role("button", name="Prescribe and sign").click()
    assert "prescribed and signed" in page.locator(".messages").inner_text()

    page.goto(f"/dosing/{participant.subject_id}/infusion/")
    shown = page.locator("[data-anthropometry]")
    assert shown.get_attribute("data-anthropometry") == day_0.isoformat()
    # One number format (issue 19): no trailing zeros.
    assert f"32 kg / 138 cm (measured {long_date(day_0)})" in shown.inner_text()
    page.get_by_label("Start time").fill("09:00")
    page.get_by_label("Lot number").fill("RTX-H0421")
    page.locator("input[name=infusion_reaction][value=no]").check()
    page.get_by_role("button", name="Record infusion").click()
    assert "infusion 1 recorded" in page.locator(".messages").inner_text()

    # Infusion 1's vitals start from the same measurement, dated.
    rtx1 = Visit.objects.get(participant=participant, visit_code="RTX1")
    page.goto(f"/crf/visit/{rtx1.pk}/vitals/")
    assert page.locator("input[name=weight_kg]").input_value() == "32.0"
    assert Decimal(page.locator("input[name=height_cm]").input_value()) == Decimal("138")
    assert note in page.locator("form[data-warn-unsaved]").inner_text()
