"""Real browser: the coordinator enrols the eligible demo candidate."""

from __future__ import annotations

import pytest
from django.utils import timezone

from demo import seed as demo
from enrollment.models import Participant
from trialsite.models import User

pytestmark = pytest.mark.browser


def test_coordinator_enrols_the_eligible_demo_candidate(page, log_in):
    demo.seed_sites_and_users()
    demo.seed_trial_data(timezone.localdate())
    already = set(Participant.objects.values_list("subject_id", flat=True))
    ready = next(
        s
        for s in User.objects.get(username="coordinator_pumch").sites.get().screening_set.all()
        if s.status == "eligible" and s.consents.exists()
    )

    log_in(User.objects.get(username="coordinator_pumch"), demo.DEMO_PASSWORD)
    page.goto(ready.get_absolute_url())
    page.get_by_role("link", name="Enrol…").click()
    page.get_by_role("button", name="Enrol").click()

    [new_id] = set(Participant.objects.values_list("subject_id", flat=True)) - already
    assert new_id.startswith("PUMCH-")
    assert page.locator("h1").inner_text() == new_id
    assert page.locator("[data-status]").first.get_attribute("data-status") == "enrolled"
