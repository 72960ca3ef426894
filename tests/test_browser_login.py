"""A real Chromium logs in as the demo coordinator (what `make run` offers)."""

from __future__ import annotations

import pytest

from demo import seed as demo
from trialsite.models import User

pytestmark = pytest.mark.browser


def test_demo_coordinator_logs_in_and_sees_the_dashboard(page, log_in):
    demo.seed_sites_and_users()
    coordinator = User.objects.get(username="coordinator_pumch")

    log_in(coordinator, demo.DEMO_PASSWORD)

    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.get_by_text("PUMCH", exact=True).first.is_visible()
    assert "Coordinator" in page.locator("nav").inner_text()


def test_a_wrong_password_shows_a_clear_message(page, log_in):
    demo.seed_sites_and_users()
    coordinator = User.objects.get(username="coordinator_pumch")

    log_in(coordinator, "not-the-password")

    assert page.url.endswith("/accounts/login/")
    assert "correct username and password" in page.locator("main form").inner_text()
