"""Sessions (issue 16): nothing authenticated is cached, a session ends after a fixed
time however active, and wrong old passwords on the password-change form count towards
the login lockout."""

from __future__ import annotations

import time

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse

from trialsite.middleware import SESSION_STARTED

pytestmark = pytest.mark.django_db

CLIENT_ADDRESS = "10.0.0.7"


def test_every_authenticated_page_says_no_store(client, coordinator_pumch):
    client.force_login(coordinator_pumch)
    for name in ("dashboard", "enrollment:list", "dosing:calendar", "password_change"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert "no-store" in response["Cache-Control"], name


def test_an_export_download_says_no_store(client, data_manager):
    from exports import services as export_services
    from exports.rows import ExportFilters, ExportOptions

    export = export_services.export_create(
        user=data_manager, kind="csv", filters=ExportFilters(), options=ExportOptions()
    )
    export_services.export_run(export)
    client.force_login(data_manager)
    response = client.get(reverse("exports:download", args=[export.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_the_absolute_session_lifetime_is_twelve_hours_by_default():
    assert settings.SESSION_ABSOLUTE_HOURS == 12


def started_hours_ago(client, hours: float) -> None:
    session = client.session
    session[SESSION_STARTED] = int(time.time() - hours * 3600)
    session.save()


def test_an_active_session_ends_after_its_absolute_lifetime(client, coordinator_pumch):
    client.force_login(coordinator_pumch)
    assert client.get(reverse("dashboard")).status_code == 200
    started_hours_ago(client, 12.1)

    response = client.get(reverse("enrollment:list"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard")).status_code == 302  # stays logged out


def test_logging_in_again_starts_the_lifetime_afresh(client, coordinator_pumch, password):
    client.force_login(coordinator_pumch)
    started_hours_ago(client, 11.9)
    client.post(
        reverse("login"),
        {"username": coordinator_pumch.username, "password": password},
        REMOTE_ADDR=CLIENT_ADDRESS,
    )
    assert time.time() - client.session[SESSION_STARTED] < 60
    started = client.session[SESSION_STARTED]
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.session[SESSION_STARTED] == started


def test_a_session_younger_than_its_lifetime_goes_on(client, coordinator_pumch):
    client.force_login(coordinator_pumch)
    client.get(reverse("dashboard"))
    started_hours_ago(client, 11.9)
    assert client.get(reverse("dashboard")).status_code == 200


def change_password(client, old: str):
    return client.post(
        reverse("password_change"),
        {
            "old_password": old,
            "new_password1": "N3w-pass-phrase!",
            "new_password2": "N3w-pass-phrase!",
        },
        REMOTE_ADDR=CLIENT_ADDRESS,
    )


def test_wrong_old_passwords_lock_the_user_out_and_end_the_session(client, coordinator_pumch):
    client.force_login(coordinator_pumch)
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = change_password(client, "not-my-password")
        assert response.status_code == 200
        assert "old_password" in response.context["form"].errors
    assert client.get(reverse("dashboard")).status_code == 200  # still logged in

    response = change_password(client, "not-my-password")

    assert response.status_code == 429
    attempt = AccessAttempt.objects.get(username=coordinator_pumch.username)
    assert attempt.failures_since_start == limit
    assert client.get(reverse("dashboard")).status_code == 302  # the session ended


def test_the_right_old_password_changes_it(client, coordinator_pumch, password):
    client.force_login(coordinator_pumch)
    response = change_password(client, password)
    assert response.status_code == 302
    coordinator_pumch.refresh_from_db()
    assert coordinator_pumch.check_password("N3w-pass-phrase!")
