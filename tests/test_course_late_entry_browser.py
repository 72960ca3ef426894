"""Issue 15 acceptance in a real Chromium: a whole course entered retrospectively.

A child screened eight months ago, Day 0 seven months ago; her paper CRFs are entered
today, step by step, by the investigator (Day 0, prescriptions) and the coordinator
(infusions, B-cell result, gate labs, visits).  After every step the participant page
offers the next action, nothing says "complete" before the end, no deviation is recorded
for an event recorded in its window; at the end the status history dates "Completed" by
the week 28 visit and the month calendar of Day 0 still shows her events.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from dosing.models import Deviation
from enrollment.rules import ParticipantStatus
from tests.factories.dosing import make_participant
from tests.factories.trialsite import PASSWORD

pytestmark = pytest.mark.browser

DAY_0_DAYS_AGO = 230  # screened two weeks before: eight months ago


def iso(day: date) -> str:
    return day.isoformat()


class Site:
    """The two people entering the course, each in their own browser context."""

    def __init__(self, browser, live_server, log_in_as) -> None:
        self.pages = {}
        self.browser, self.live_server, self.log_in_as = browser, live_server, log_in_as

    def page(self, user):
        if user.username not in self.pages:
            context = self.browser.new_context(base_url=self.live_server.url, locale="en-US")
            context.set_default_timeout(15_000)
            page = context.new_page()
            self.log_in_as(page, user)
            self.pages[user.username] = page
        return self.pages[user.username]

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


def log_in_as(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


@pytest.fixture
def site(browser, live_server, transactional_db):
    entering = Site(browser, live_server, log_in_as)
    yield entering
    entering.close()


def open_participant(page, participant) -> None:
    page.goto(f"/participants/{participant.subject_id}/")


def next_action(page) -> set[str]:
    return set(
        page.locator("[data-next-action]").evaluate_all(
            "nodes => nodes.map(n => n.dataset.nextAction)"
        )
    )


def assert_state(page, participant, *, complete: bool = False) -> None:
    """What every step checks on the participant page."""
    text = page.locator("main").inner_text()
    assert ("Treatment complete" in text) is complete
    in_window = [
        row.get_attribute("data-visit-code")
        for row in page.locator("[data-table=events] tr[data-status=done_in_window]").all()
    ]
    assert (
        not Deviation.objects.active()
        .filter(participant=participant, visit_code__in=in_window)
        .exists()
    ), in_window


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


def prescribe(page, on: date, expected: str) -> None:
    page.get_by_role("link", name="Prescribe next infusion").click()
    assert expected in page.locator("main").inner_text()
    page.get_by_label("Infusion planned on").fill(iso(on))
    page.get_by_label("Weight (kg)").fill("32")
    page.get_by_label("Height (cm)").fill("138")
    page.get_by_label("Weight and height measured on").fill(iso(on))
    page.get_by_role("button", name="Calculate").click()
    page.get_by_label("Your password (e-signature)").fill(PASSWORD)
    page.get_by_role("button", name="Prescribe and sign").click()
    assert "prescribed and signed" in page.locator(".messages").inner_text()


def record_infusion(page, on: date) -> None:
    page.get_by_role("link", name="Record administration").click()
    page.get_by_label("Date given").fill(iso(on))
    page.get_by_label("Lot number").fill("LOT-1")
    page.locator("input[name=infusion_reaction][value=no]").check()
    page.get_by_role("button", name="Record infusion").click()
    assert "infusion" in page.locator(".messages").inner_text()


def record_visit(page, participant, code: str, on: date) -> None:
    page.goto(f"/dosing/{participant.subject_id}/visits/new/?code={code}")
    page.locator("select[name=visit_code]").select_option(code)
    page.get_by_label("Visit date").fill(iso(on))
    page.get_by_role("button", name="Save").click()
    assert f"Visit {code} recorded" in page.locator(".messages").inner_text()


def test_a_whole_course_entered_months_late_by_coordinator_and_investigator(
    site, site_pumch, coordinator_pumch, investigator_pumch
):
    today = timezone.localdate()
    day_0 = today - timedelta(days=DAY_0_DAYS_AGO)
    participant = make_participant(  # screened, signed and enrolled eight months ago
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch, day_0=day_0
    )
    investigator = site.page(investigator_pumch)
    coordinator = site.page(coordinator_pumch)

    def day(n: int) -> date:
        return day_0 + timedelta(days=n)

    open_participant(investigator, participant)
    assert "day-0" in next_action(investigator)
    confirm_day_0(investigator, day_0)
    record_visit(coordinator, participant, "BASELINE", day_0)

    infusions = [("Rituximab infusion 1", 0), ("Rituximab infusion 2", 7)]
    infusions += [(f"Belimumab infusion {n}", 35 + 28 * (n - 1)) for n in range(1, 7)]
    for label, n in infusions:
        if label == "Belimumab infusion 1":
            # SCH2: depleted after two; EXC10/EXC11 labs two days before the first belimumab.
            open_participant(coordinator, participant)
            coordinator.get_by_role("link", name="B-cell result").click()
            coordinator.get_by_label("Date of sample").fill(iso(day(10)))
            coordinator.get_by_label("CD19⁺ B cells (% of lymphocytes)").fill("0.2")
            coordinator.get_by_role("button", name="Save").click()
            assert "depleted (SCH2)" in coordinator.locator(".messages").inner_text()
            open_participant(coordinator, participant)
            assert "gate-labs" in next_action(coordinator)
            coordinator.get_by_role("link", name="Labs before belimumab").click()
            gate = coordinator.locator("[data-gate-date]")
            assert gate.get_attribute("data-gate-date") == iso(day(35))  # not today
            for code, value in (
                ("igg", "6.5"),
                ("iga", "0.8"),
                ("wbc", "5.2"),
                ("neutrophils", "2.5"),
            ):
                coordinator.locator(f"#id_{code}_value").fill(value)
                coordinator.locator(f"#id_{code}_date").fill(iso(day(33)))
            coordinator.get_by_role("button", name="Save labs").click()
            assert "pass" in coordinator.locator("[data-gate]").inner_text()
        if label == "Belimumab infusion 3":
            record_visit(coordinator, participant, "W12", day(84))

        # The coordinator sees that the investigator prescribes first, and who can.
        open_participant(coordinator, participant)
        assert "awaiting-prescription" in next_action(coordinator), label
        assert (
            investigator_pumch.printed_name
            in coordinator.locator("[data-next-action=awaiting-prescription]").inner_text()
        )
        assert_state(coordinator, participant)

        open_participant(investigator, participant)
        assert "prescribe" in next_action(investigator), label
        prescribe(investigator, day(n), label)

        open_participant(coordinator, participant)
        assert "record-infusion" in next_action(coordinator), label
        record_infusion(coordinator, day(n))
        open_participant(coordinator, participant)
        assert_state(coordinator, participant)

    assert participant.__class__.objects.get(pk=participant.pk).status == (
        ParticipantStatus.BELIMUMAB
    )
    record_visit(coordinator, participant, "W28", day(196))

    open_participant(coordinator, participant)
    assert_state(coordinator, participant, complete=True)
    assert not next_action(coordinator) & {"prescribe", "record-infusion", "awaiting-prescription"}
    completed = coordinator.locator("[data-status-change=completed]")
    assert completed.get_attribute("data-clinical-date") == iso(day(196))
    assert not Deviation.objects.active().filter(participant=participant).exists()

    # The month of Day 0 still shows her events, done on the days they were done.
    coordinator.goto(f"/dosing/calendar/?month={day_0:%Y-%m}")
    mine = coordinator.locator(f'.cal-item[data-subject="{participant.subject_id}"]')
    assert mine.count() >= 2
    cell = coordinator.locator(f'td[data-date="{iso(day_0)}"]')
    assert cell.locator(
        f'[data-subject="{participant.subject_id}"][data-visit-code="RTX1"]'
    ).count()
    coordinator.goto(f"/dosing/calendar/?month={day_0:%Y-%m}&participant={participant.subject_id}")
    shown = coordinator.locator(".cal-item").evaluate_all(
        "nodes => [...new Set(nodes.map(n => n.dataset.subject))]"
    )
    assert shown == [participant.subject_id]
