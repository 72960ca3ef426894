"""Acceptance (issue 16) in a real Chromium: an investigator enrols a TOTP authenticator
(the codes computed here with django-otp's own TOTP from the device key), logs out, logs in
with the password and the code, and signs a prescription; the password alone is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from dosing.models import Prescription
from tests.factories.dosing import make_participant
from tests.factories.trialsite import PASSWORD
from tests.test_dosing_browser import confirm_day_0, iso
from trialsite.models import Signature

pytestmark = [pytest.mark.browser, pytest.mark.real_mfa]


def code_of(device: TOTPDevice, drift: int = 0) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{value:0{device.digits}d}"


def log_out(page) -> None:
    page.locator("#main-nav .dropdown-toggle").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()


def test_an_investigator_enrols_logs_in_with_the_code_and_signs_a_prescription(
    page, log_in, site_pumch, coordinator_pumch, investigator_pumch, figure
):
    today = timezone.localdate()
    day_0 = today - timedelta(days=10)
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch, day_0=day_0
    )

    # First login: the password, then straight to the enrolment, before anything else.
    log_in(investigator_pumch)
    assert "/accounts/mfa/enrol/" in page.url
    page.goto(f"/participants/{participant.subject_id}/")
    assert "/accounts/mfa/enrol/" in page.url
    device = TOTPDevice.objects.get(user=investigator_pumch, confirmed=False)
    assert page.locator("#totp-secret").inner_text() == mfa.secret_of(device)
    page.get_by_label("Code").fill(code_of(device))
    page.get_by_role("button", name="Confirm").click()
    assert page.locator("#recovery-codes li").count() == mfa.RECOVERY_CODES
    page.get_by_role("link", name="Continue").click()
    assert page.url.endswith(f"/participants/{participant.subject_id}/")  # where it was going
    device.refresh_from_db()
    assert device.confirmed
    log_out(page)

    # The password without the code is no login.
    log_in(investigator_pumch)
    assert page.url.endswith("/accounts/login/code/")
    page.goto(f"/participants/{participant.subject_id}/")
    assert "/accounts/login/" in page.url and "/code/" not in page.url
    assert page.get_by_role("button", name="Log in").is_visible()

    # The password and the code: in.
    log_in(investigator_pumch)
    page.get_by_label("Code").fill(code_of(device, drift=1))  # the enrolment used this step's
    page.get_by_role("button", name="Verify").click()
    page.wait_for_load_state()
    assert "/accounts/" not in page.url

    # ... and the investigator signs a prescription.
    page.goto(f"/participants/{participant.subject_id}/")
    confirm_day_0(page, day_0)
    page.get_by_role("link", name="Prescribe next infusion").click()
    page.get_by_label("Infusion planned on").fill(iso(day_0))
    page.get_by_label("Weight (kg)").fill("32")
    page.get_by_label("Height (cm)").fill("138")
    page.get_by_label("Weight and height measured on").fill(iso(day_0))
    page.get_by_role("button", name="Calculate").click()
    assert page.get_by_label("Prescribed dose (mg)").input_value() == "416"
    page.get_by_label("Your password (e-signature)").fill(PASSWORD)
    page.get_by_role("button", name="Prescribe and sign").click()
    assert "prescribed and signed" in page.locator(".messages").inner_text()
    prescription = Prescription.objects.get(participant=participant)
    signature = Signature.objects.get(
        content_type=ContentType.objects.get_for_model(Prescription),
        object_id=prescription.pk,
        signer=investigator_pumch,
    )
    assert signature.printed_name == investigator_pumch.printed_name
    figure(
        "second factor (browser)",
        "an investigator enrolled a TOTP authenticator (django-otp), was refused with the "
        "password alone, logged in with password and code, and signed a prescription",
    )
