"""Logging in: required everywhere, locked after five failures, idle sessions expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db.models import F
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from trialsite.security import axes_client_ip_settings

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


def idle_for(client, minutes: int) -> None:
    """Age the stored session as if the user had been idle for ``minutes``: its expiry,
    set to "last activity + 30 minutes" on every request, moves back by that much."""
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    moved = Session.objects.filter(session_key=key).update(
        expire_date=F("expire_date") - timedelta(minutes=minutes)
    )
    assert moved == 1


def stored_expiry(client):
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    return Session.objects.get(session_key=key).expire_date


def test_the_session_expires_after_thirty_idle_minutes(client, coordinator_pumch, password):
    assert settings.SESSION_IDLE_MINUTES == 30
    post_login(client, coordinator_pumch.username, password)
    assert client.get(reverse("dashboard")).status_code == 200
    remaining = stored_expiry(client) - timezone.now()
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)

    idle_for(client, 31)
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('dashboard')}"


def test_activity_within_thirty_minutes_keeps_the_session_alive(
    client, coordinator_pumch, password
):
    post_login(client, coordinator_pumch.username, password)
    idle_for(client, 29)
    assert client.get(reverse("dashboard")).status_code == 200
    # The request counted as activity: another 29 idle minutes are still fine.
    assert stored_expiry(client) - timezone.now() > timedelta(minutes=29)
    idle_for(client, 29)
    assert client.get(reverse("dashboard")).status_code == 200


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


# --- behind a reverse proxy -------------------------------------------------------------

PROXY = "10.0.0.2"  # the reverse proxy: every request reaches the app from here


def post_login_via_proxy(client, username: str, password: str, client_ip: str):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=client_ip,
    )


def test_behind_a_proxy_each_client_address_is_counted_separately(
    client, coordinator_pumch, password
):
    with override_settings(**axes_client_ip_settings(trusted_proxies=1)):
        for _ in range(5):
            post_login_via_proxy(client, coordinator_pumch.username, "wrong", "198.51.100.7")
        locked = post_login_via_proxy(client, coordinator_pumch.username, password, "198.51.100.7")
        other_client = post_login_via_proxy(
            client, coordinator_pumch.username, password, "203.0.113.9"
        )
    assert locked.status_code == 429
    assert other_client.status_code == 302
    attempt = AccessAttempt.objects.get(username=coordinator_pumch.username)
    assert attempt.ip_address == "198.51.100.7"


def test_a_forged_forwarded_for_prefix_does_not_change_the_counted_address(
    client, coordinator_pumch, password
):
    with override_settings(**axes_client_ip_settings(trusted_proxies=1)):
        for n in range(5):
            # The client writes its own header; the proxy appends the real address.
            forged = f"192.0.2.{n}, 198.51.100.7"
            post_login_via_proxy(client, coordinator_pumch.username, "wrong", forged)
        locked = post_login_via_proxy(
            client, coordinator_pumch.username, password, "192.0.2.99, 198.51.100.7"
        )
    assert locked.status_code == 429
    assert AccessAttempt.objects.get().ip_address == "198.51.100.7"


def test_without_a_proxy_setting_the_forwarded_header_is_ignored(
    client, coordinator_pumch, password
):
    # The default (no proxy): a client could write X-Forwarded-For, so it must not count.
    assert settings.AXES_IPWARE_META_PRECEDENCE_ORDER == ("REMOTE_ADDR",)
    for _ in range(5):
        post_login_via_proxy(client, coordinator_pumch.username, "wrong", "198.51.100.7")
    response = post_login_via_proxy(client, coordinator_pumch.username, password, "203.0.113.9")
    assert response.status_code == 429
    assert AccessAttempt.objects.get().ip_address == PROXY


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "client_ip"),
    [
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        (2, "198.51.100.7, 10.0.0.9", "198.51.100.7"),
        (2, "6.6.6.6, 198.51.100.7, 10.0.0.9", "198.51.100.7"),
    ],
)
def test_the_client_is_the_address_the_outermost_trusted_proxy_saw(
    rf, proxies, forwarded_for, client_ip
):
    from axes.helpers import get_client_ip_address

    request = rf.post("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    with override_settings(**axes_client_ip_settings(trusted_proxies=proxies)):
        assert get_client_ip_address(request) == client_ip


def test_the_proxy_header_can_be_named_either_way():
    for header in ("X-Real-IP", "HTTP_X_REAL_IP", "x-real-ip"):
        configured = axes_client_ip_settings(trusted_proxies=1, header=header)
        assert configured["AXES_IPWARE_META_PRECEDENCE_ORDER"] == ("HTTP_X_REAL_IP",)


def test_production_settings_read_the_proxy_count_from_the_environment():
    import os
    import subprocess
    import sys

    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_IPWARE_PROXY_COUNT, s.AXES_IPWARE_META_PRECEDENCE_ORDER, s.IPWARE_STRICT)"
    )
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "trialsite.settings.production",
        "SECRET_KEY": "x" * 50,
        "SIGNATURE_KEY": "s" * 50,
        # Not connected to: settings only need a URL instead of starting the embedded server.
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
    }
    base_env.pop("TRUSTED_PROXY_COUNT", None)

    def printed(**env: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=settings.BASE_DIR,
            env={**base_env, **env},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return result.stdout.strip()

    assert printed() == "None ('REMOTE_ADDR',) True"
    assert printed(TRUSTED_PROXY_COUNT="2") == "1 ('HTTP_X_FORWARDED_FOR',) False"
