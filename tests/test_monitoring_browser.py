"""A real Chromium: a monitor raises a query on a lab value, the coordinator answers it with a
corrected value through the labs form, the monitor closes it."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from monitoring.models import DataQuery, QueryStatus
from tests.factories.crf import NORMAL_PANEL, make_visit, save_labs
from tests.factories.monitoring import enrolled, lab
from trialsite.audit import history_of

pytestmark = pytest.mark.browser


def test_a_monitor_queries_a_lab_value_the_coordinator_corrects_it_and_the_monitor_closes_it(
    page, log_in, site_pumch, coordinator_pumch, investigator_pumch, monitor_pumch
):
    participant = enrolled(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    visit = make_visit(participant, "W12", user=coordinator_pumch)
    save_labs(visit, coordinator_pumch, **NORMAL_PANEL)
    errors = []
    # The browser's own request for /favicon.ico (the app has none) is not a page error.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "favicon.ico" not in message.location.get("url", "")
            else None
        ),
    )

    # The monitor raises a query on the IgG value from the visit page.
    log_in(monitor_pumch)
    page.goto(f"/crf/visit/{visit.pk}/")
    page.locator('tr[data-analyte="igg"] [data-raise-query="value_entered"]').click()
    assert page.get_by_label("Field").input_value() == "value_entered"
    page.get_by_label("Question to the site").fill("The lab report says IgG 1.2 g/L, not 12.")
    page.get_by_role("button", name="Open the query").click()
    page.wait_for_load_state()
    query = DataQuery.objects.get()
    assert page.locator('[data-query-status="open"]').first.is_visible()

    # The coordinator sees the badge on the value, corrects it through the labs form.
    page.context.clear_cookies()
    log_in(coordinator_pumch)
    page.goto(f"/crf/visit/{visit.pk}/")
    page.locator(f'tr[data-analyte="igg"] a[data-query="{query.pk}"]').click()
    page.get_by_role("link", name="Correct the value").click()
    page.wait_for_load_state()
    reason = page.get_by_label("Reason for change")
    assert reason.input_value().startswith(f"Query #{query.pk}: The lab report says")
    page.locator("#id_igg_value").fill("1.2")
    reason.fill(f"Query #{query.pk}: transcription error, corrected from the lab report")
    page.get_by_role("button", name="Save labs").click()
    page.wait_for_load_state()
    assert re.search(rf"/monitoring/queries/{query.pk}/$", page.url)
    assert page.locator('[data-query-status="answered"]').first.is_visible()
    assert page.locator("[data-correction-link]").is_visible()

    # The monitor reads the answer and closes the query.
    page.context.clear_cookies()
    log_in(monitor_pumch)
    page.goto(f"/monitoring/queries/{query.pk}/")
    assert "transcription error" in page.locator('[data-list="query-messages"]').inner_text()
    page.get_by_role("button", name="Close").click()
    page.wait_for_load_state()
    assert page.locator('[data-query-status="closed"]').first.is_visible()

    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    igg = lab(visit)
    assert igg.value_entered == Decimal("1.2")
    assert history_of(igg)[-1].reason.startswith(f"Query #{query.pk}: transcription error")
    assert errors == []  # no Content-Security-Policy violation, no script error
