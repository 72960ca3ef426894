"""Logging in: required everywhere, locked after five failures, idle sessions expire."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def post_login(client, username: str, password: str):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR="10.0.0.7",
    )


def test_every_page_needs_a_login(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_login_page_is_styled_like_the_app(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"bootstrap.min.css" in response.content
    assert b"NCT06410833" in response.content


def test_a_coordinator_logs_in_with_the_right_password(client, coordinator_pumch, password):
    response = post_login(client, coordinator_pumch.username, password)
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200


def test_five_wrong_passwords_lock_out_even_the_right_one(
    client, coordinator_pumch, password, caplog
):
    for _ in range(5):
        response = post_login(client, coordinator_pumch.username, "wrong-password")
    assert AccessAttempt.objects.get(username=coordinator_pumch.username).failures_since_start == 5

    response = post_login(client, coordinator_pumch.username, password)

    assert response.status_code == 429
    assert b"Too many failed log-in attempts" in response.content
    assert client.get(reverse("dashboard")).status_code == 302  # still not logged in
    lockouts = [r for r in caplog.records if r.name == "trialsite.security"]
    assert lockouts and "alice" in lockouts[0].getMessage()


def test_four_wrong_passwords_do_not_lock_out(client, coordinator_pumch, password):
    for _ in range(4):
        post_login(client, coordinator_pumch.username, "wrong-password")
    response = post_login(client, coordinator_pumch.username, password)
    assert response.status_code == 302


def test_the_session_expires_after_thirty_idle_minutes():
    assert settings.SESSION_IDLE_MINUTES == 30
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    # Refreshed on every request, so the 30 minutes count from the last activity.
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_logging_out_needs_a_post_and_ends_the_session(client, coordinator_pumch):
    client.force_login(coordinator_pumch)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


def test_password_change_page_is_available(client, coordinator_pumch):
    client.force_login(coordinator_pumch)
    response = client.get(reverse("password_change"))
    assert response.status_code == 200
    assert b"Change password" in response.content


def test_a_superuser_without_a_role_cannot_enter_trial_data(db):
    from tests.factories.trialsite import UserFactory
    from trialsite import access

    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert admin.has_perm("trialsite.add_site")  # administration: yes
    assert not access.can_write(admin)  # clinical data: only through a role
