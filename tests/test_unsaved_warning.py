"""Issue 11, daily use: every data-entry form warns before its unsaved changes are lost
(``data-warn-unsaved``, static/js/trialsite.js; the browser behaviour is tested in
tests/test_daily_use.py). The forms are those of the URL map, as the fuzzer finds them."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.html_forms import main_form
from tests.test_authorization_matrix import world  # noqa: F401
from tests.test_fuzz_forms import form_urls
from trialsite.models import User

pytestmark = pytest.mark.django_db

# Forms that were missing the warning (the audit's list): checked by name as well.
NAMED = {
    "eligibility:new",
    "dosing:deviation_explain",
    "enrollment:withdraw",
    "enrollment:status",
    "enrollment:reschedule",
    "monitoring:query_new",
}


def test_every_data_entry_form_warns_before_unsaved_changes_are_lost(world):  # noqa: F811
    values, by_view, _secrets = world
    forms, _actions, _no_input = form_urls(values, by_view)
    investigator, monitor = Client(), Client()
    investigator.force_login(User.objects.get(username="investigator_pumch"))
    monitor.force_login(User.objects.get(username="monitor"))
    pages = {name: (investigator, url) for name, url in forms.items()}
    pages["monitoring:query_new"] = (
        monitor,
        reverse("monitoring:query_new", kwargs=by_view["monitoring:query_new"]),
    )
    assert set(pages) >= NAMED

    missing, checked = [], 0
    for name, (client, url) in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        form = main_form(response.content.decode(), url)
        assert form is not None, name
        if form.names <= {"password"}:
            continue  # a signature: nothing typed to lose
        checked += 1
        if "data-warn-unsaved" not in form.attrs:
            missing.append(name)
    assert not missing, f"forms without the unsaved-changes warning: {missing}"
    assert checked >= 40
