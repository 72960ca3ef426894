"""Issue 16: a second factor (TOTP authenticator, recovery codes) with django-otp.

Required before anything else for investigators, data managers and superusers; optional
for the others; asked after the password (no login without it); wrong codes count towards
the login lockout; a lost authenticator is reset by another data manager, audited.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa, services
from accounts.models import AccountEvent, AccountEventKind
from tests.factories.trialsite import PASSWORD
from trialsite.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.real_mfa]

ADDRESS = "10.0.0.8"


def code_of(device: TOTPDevice, drift: int = 0) -> str:
    """What the authenticator app shows now (``drift`` steps ahead)."""
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{value:0{device.digits}d}"


def enrolled(user: User) -> tuple[TOTPDevice, list[str]]:
    device = mfa.pending_authenticator(user)
    return device, services.mfa_enrol(user=user, device=device)


def post_password(client, user: User, password: str = PASSWORD):
    return client.post(
        reverse("login"), {"username": user.username, "password": password}, REMOTE_ADDR=ADDRESS
    )


def post_code(client, code: str):
    return client.post(reverse("login_code"), {"code": code}, REMOTE_ADDR=ADDRESS)


def test_an_investigator_without_an_authenticator_is_sent_to_enrol_before_anything_else(
    client, investigator_pumch
):
    assert post_password(client, investigator_pumch).status_code == 302
    for url in (reverse("dashboard"), reverse("enrollment:list"), reverse("password_change")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:mfa_enrol")), url


def test_the_investigator_enrols_with_a_code_and_gets_recovery_codes(client, investigator_pumch):
    post_password(client, investigator_pumch)
    page = client.get(reverse("accounts:mfa_enrol"))
    device = TOTPDevice.objects.get(user=investigator_pumch, confirmed=False)
    assert mfa.secret_of(device).encode() in page.content
    assert b"otpauth://totp/" in page.content and b"data:image/svg+xml;base64," in page.content

    wrong = client.post(reverse("accounts:mfa_enrol"), {"code": "000000"})
    assert b"This code is not valid" in wrong.content
    device.refresh_from_db()
    assert not device.confirmed
    device.throttle_reset()  # the wrong code slowed the next attempt down

    done = client.post(
        reverse("accounts:mfa_enrol") + "?next=/participants/", {"code": code_of(device)}
    )

    assert done.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    codes = done.context["codes"]
    assert len(codes) == mfa.RECOVERY_CODES and all(c.encode() in done.content for c in codes)
    assert b'href="/participants/"' in done.content
    assert client.get(reverse("dashboard")).status_code == 200  # this session is verified
    event = AccountEvent.objects.get(user=investigator_pumch)
    assert (event.kind, event.actor) == (AccountEventKind.MFA_ENROLLED, investigator_pumch)


def test_an_enrolled_investigator_is_logged_in_only_after_the_code(client, investigator_pumch):
    device, _codes = enrolled(investigator_pumch)

    response = post_password(client, investigator_pumch)
    assert response["Location"] == reverse("login_code")
    # The password alone is no login.
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("login"))

    response = post_code(client, code_of(device, drift=1))
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_recovery_code_logs_in_once(client, investigator_pumch):
    _device, codes = enrolled(investigator_pumch)
    post_password(client, investigator_pumch)
    assert post_code(client, codes[0])["Location"] == reverse("dashboard")
    client.post(reverse("logout"))

    post_password(client, investigator_pumch)
    again = post_code(client, codes[0])
    assert again.status_code == 200 and b"This code is not valid" in again.content
    assert client.get(reverse("dashboard")).status_code == 302


def test_wrong_codes_count_towards_the_login_lockout(client, investigator_pumch):
    device, _codes = enrolled(investigator_pumch)
    post_password(client, investigator_pumch)
    for _ in range(4):
        assert post_code(client, "123456").status_code == 200
    locked = post_code(client, "654321")

    assert locked.status_code == 429
    attempt = AccessAttempt.objects.get(username=investigator_pumch.username)
    assert attempt.failures_since_start == 5
    # Locked out: neither the right password nor then the right code gets in.
    device.throttle_reset()
    assert post_password(client, investigator_pumch).status_code == 429
    assert client.get(reverse("dashboard")).status_code == 302


def test_a_coordinator_may_work_without_an_authenticator(client, coordinator_pumch):
    assert not mfa.mfa_required(coordinator_pumch)
    post_password(client, coordinator_pumch)
    assert client.get(reverse("dashboard")).status_code == 200
    # ...and may set one up: the enrolment page is open to every role.
    assert client.get(reverse("accounts:mfa_enrol")).status_code == 200


def test_data_managers_and_superusers_need_the_second_factor_too(client, data_manager):
    root = User.objects.create_superuser("root", "root@example.org", "root-pass-2026!")
    assert mfa.mfa_required(data_manager) and mfa.mfa_required(root)
    client.force_login(root)  # not verified: this module gets the real second factor
    response = client.get(reverse("admin:index"))
    assert response["Location"].startswith(reverse("accounts:mfa_enrol"))


def test_a_data_manager_resets_another_users_lost_authenticator_never_their_own(
    client, data_manager, investigator_pumch
):
    device, _codes = enrolled(investigator_pumch)
    post_password(client, investigator_pumch)
    post_code(client, code_of(device, drift=1))
    assert client.get(reverse("dashboard")).status_code == 200

    services.user_mfa_reset(
        actor=data_manager, user=investigator_pumch, reason="Phone lost (ticket 42)"
    )

    assert not mfa.is_enrolled(investigator_pumch)
    # The session verified with the lost phone is verified no longer: enrol again.
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("accounts:mfa_enrol"))
    event = AccountEvent.objects.filter(kind=AccountEventKind.MFA_RESET).get()
    assert (event.user, event.actor, event.reason) == (
        investigator_pumch,
        data_manager,
        "Phone lost (ticket 42)",
    )
    mine, _codes = enrolled(data_manager)
    with pytest.raises(PermissionDenied):
        services.user_mfa_reset(actor=data_manager, user=data_manager, reason="lost")
    assert TOTPDevice.objects.filter(pk=mine.pk, confirmed=True).exists()


def test_the_reset_is_offered_on_the_users_page_and_needs_a_reason(
    client, data_manager, investigator_pumch
):
    enrolled(investigator_pumch)
    mine, _codes = enrolled(data_manager)  # the data manager logs in with their own code
    post_password(client, data_manager)
    assert post_code(client, code_of(mine, drift=1))["Location"] == reverse("dashboard")
    detail = reverse("accounts:user_detail", args=[investigator_pumch.pk])
    reset = reverse("accounts:user_mfa_reset", args=[investigator_pumch.pk])
    assert reset.encode() in client.get(detail).content

    refused = client.post(reset, {"reason": ""}, follow=True)
    assert b"This field is required" in refused.content
    assert mfa.is_enrolled(investigator_pumch)

    client.post(reset, {"reason": "Phone lost"})
    assert not mfa.is_enrolled(investigator_pumch)
    assert reset.encode() not in client.get(detail).content


def test_a_session_that_never_gave_the_code_is_ended_once_the_user_has_an_authenticator(
    client, investigator_pumch
):
    client.force_login(investigator_pumch)  # e.g. a session from before the enrolment
    enrolled(investigator_pumch)

    response = client.get(reverse("enrollment:list"))

    assert response["Location"].startswith(reverse("login"))
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("login"))
