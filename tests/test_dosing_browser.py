"""Acceptance (issue 5) in a real Chromium: two rituximab infusions and a depleting B-cell
result entered through the forms; the timeline then shows the first belimumab due 28
days after the second infusion, and the month calendar shows it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from tests.factories.dosing import make_participant
from tests.factories.trialsite import PASSWORD

pytestmark = pytest.mark.browser


def iso(day: date) -> str:
    return day.isoformat()


def confirm_day_0(page, day_0: date) -> None:
    page.get_by_role("link", name="Day 0 re-confirmation (EXC5)").click()
    page.get_by_label("Day 0").fill(iso(day_0))
    for name in (
        "chronic_infection_suppressive_therapy",
        "infection_hospitalisation",
        "parenteral_antimicrobials",
        "live_vaccine",
        "high_infection_risk",
    ):
        page.locator(f"input[name={name}][value=no]").check()
    page.get_by_role("button", name="Confirm").click()
    assert "EXC5 re-confirmed" in page.locator(".messages").inner_text()


def give_rituximab(page, on: date) -> None:
    page.get_by_role("link", name="Prescribe next infusion").click()
    page.get_by_label("Infusion planned on").fill(iso(on))
    page.get_by_label("Weight (kg)").fill("32")
    page.get_by_label("Height (cm)").fill("138")
    page.get_by_label("Weight and height measured on").fill(iso(on))
    page.get_by_role("button", name="Calculate").click()
    assert "1.11 m²" in page.locator("#dose-proposal").inner_text()
    assert page.get_by_label("Prescribed dose (mg)").input_value() == "416"
    page.get_by_label("Your password (e-signature)").fill(PASSWORD)
    page.get_by_role("button", name="Prescribe and sign").click()
    assert "prescribed and signed" in page.locator(".messages").inner_text()

    page.get_by_role("link", name="Record administration").click()
    page.get_by_label("Date given").fill(iso(on))
    page.get_by_label("Start time").fill("09:00")
    page.get_by_label("Stop time").fill("13:30")
    page.get_by_label("Lot number").fill("RTX-H0421")
    page.locator("input[name=infusion_reaction][value=no]").check()
    page.get_by_role("button", name="Record infusion").click()
    assert "infusion" in page.locator(".messages").inner_text()


def test_two_rituximab_and_depleting_b_cells_put_the_first_belimumab_on_the_calendar(
    page, log_in, site_pumch, coordinator_pumch, investigator_pumch
):
    today = timezone.localdate()
    day_0 = today - timedelta(days=10)
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch, day_0=day_0
    )
    log_in(investigator_pumch)
    page.goto(f"/participants/{participant.subject_id}/")

    confirm_day_0(page, day_0)
    give_rituximab(page, day_0)
    give_rituximab(page, day_0 + timedelta(days=7))

    page.get_by_role("link", name="B-cell result").click()
    page.get_by_label("Date of sample").fill(iso(day_0 + timedelta(days=9)))
    page.get_by_label("CD19⁺ B cells (% of lymphocytes)").fill("0.2")
    page.get_by_label("CD19⁺ absolute count").fill("3")
    page.get_by_label("Unit of the absolute count").select_option("cells/uL")
    page.get_by_role("button", name="Save").click()
    assert "depleted (SCH2)" in page.locator(".messages").inner_text()

    first_belimumab = day_0 + timedelta(days=7 + 28)
    next_infusion = page.locator("[data-next-infusion]")
    assert next_infusion.get_attribute("data-next-infusion") == "BEL1"
    assert next_infusion.get_attribute("data-target") == iso(first_belimumab)
    assert "Belimumab infusion 1" in next_infusion.inner_text()
    row = page.locator('[data-table=events] tr[data-visit-code="BEL1"]')
    assert row.get_attribute("data-target") == iso(first_belimumab)
    assert (
        "rituximab complete after 2 infusions" in page.locator("[data-list=decisions]").inner_text()
    )
    assert page.locator('svg.timeline g[data-visit-code="BEL1"]').count() == 1

    page.goto(f"/dosing/calendar/?month={first_belimumab:%Y-%m}")
    cell = page.locator(f'td[data-date="{iso(first_belimumab)}"]')
    item = cell.locator(f'[data-subject="{participant.subject_id}"][data-visit-code="BEL1"]')
    assert item.count() == 1
    assert item.is_visible()
