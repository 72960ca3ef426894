"""A real Chromium: an investigator reviews the demo trial's outcomes."""

from __future__ import annotations

import pytest

from demo import seed as demo
from enrollment.models import Participant
from tests.factories.crf import today
from trialsite.models import User

pytestmark = pytest.mark.browser


def test_an_investigator_opens_the_outcome_page_and_sees_the_paired_plot_and_the_table(
    page, log_in
):
    demo.seed_sites_and_users()
    demo.seed_trial_data(today())
    investigator = User.objects.get(username="investigator_pumch")
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )

    log_in(investigator, demo.DEMO_PASSWORD)
    page.get_by_role("link", name="Outcomes").first.click()
    page.wait_for_load_state()

    assert page.get_by_role("heading", name="Outcome review").is_visible()
    plot = page.locator('svg[data-plot="essdai-paired"]')
    assert plot.is_visible()
    assert plot.locator("g.series polyline").count() >= 2  # paired lines, one per participant
    table = page.locator('table[data-table="outcomes"]')
    assert table.is_visible()
    rows = table.locator("tbody tr")
    pumch = Participant.objects.filter(site__code="PUMCH").count()
    assert pumch >= 4
    assert rows.count() == pumch  # every PUMCH participant, none of CHCMU
    assert "CHCMU" not in table.inner_text()
    responder = table.locator("td[data-composite=responder]")
    assert responder.count() == 1
    responder.locator("summary").click()
    assert responder.locator("[data-component]").count() == 5
    assert page.locator('svg[data-plot="b-cells"]').is_visible()
    assert errors == []  # no Content-Security-Policy violation, no script error
