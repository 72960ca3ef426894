"""Multi-factor authentication with django-otp: a TOTP authenticator and recovery codes.

* Enrolled means a confirmed TOTP device; the recovery codes (a static device) are its
  fallback and are accepted wherever a code is asked.
* Required for whoever can sign, sees every site or administers users (investigators,
  data managers) and for superusers; optional for the others.
* A session is verified when django-otp's ``OTPMiddleware`` finds the device it was
  verified with (``request.user.is_verified()``); removing the devices (a reset) ends
  the verification of every session made with them.
"""

from __future__ import annotations

import base64
import secrets

import django_otp
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django_otp import devices_for_user, verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from trialsite import roles
from trialsite.models import User

MANAGE_USERS = "trialsite.change_user"
# Capabilities whose holders must use a second factor.
MFA_REQUIRED_PERMISSIONS = (roles.SIGN, roles.ALL_SITES, MANAGE_USERS)
AUTHENTICATOR_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"
RECOVERY_CODES = 10


def mfa_required(user: User) -> bool:
    return user.is_superuser or any(user.has_perm(p) for p in MFA_REQUIRED_PERMISSIONS)


def is_enrolled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def pending_authenticator(user: User) -> TOTPDevice:
    """The unconfirmed authenticator being enrolled (the same one on every reload, so the
    secret the user scanned stays valid)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


def secret_of(device: TOTPDevice) -> str:
    """The key as authenticator apps take it when typed in (base32, no padding)."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def qr_svg_data_uri(text: str) -> str:
    """``text`` as a QR code, an SVG image in a data: URI (the CSP allows data: images)."""
    import qrcode
    import qrcode.image.svg

    svg = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage).to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones (shown once)."""
    StaticDevice.objects.filter(user=user, name=RECOVERY_NAME).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def check_code(user: User, code: str) -> Device | None:
    """The user's device that accepts ``code`` (authenticator or recovery code), if any.

    A recovery code is used up; the authenticator throttles repeated failures."""
    code = "".join(code.split())
    if not code:
        return None
    for device in devices_for_user(user, confirmed=True):
        if isinstance(device, TOTPDevice | StaticDevice):
            verified = verify_token(user, device.persistent_id, code)
            if verified is not None:
                return verified
    return None


def count_failure(request: HttpRequest, user: User) -> None:
    """A wrong code counts towards the login lockout like a wrong password (django-axes
    listens to this signal and locks the username and address out at the limit)."""
    user_login_failed.send(
        sender=__name__, credentials={"username": user.get_username()}, request=request
    )


def is_locked_out(request: HttpRequest, user: User) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.is_locked(request, {"username": user.get_username()})


def lockout_response(request: HttpRequest, user: User) -> HttpResponse:
    from axes.helpers import get_lockout_response

    return get_lockout_response(request, None, {"username": user.get_username()})


def verify_session(request: HttpRequest, device: Device) -> None:
    """This session passed the second factor with ``device``."""
    django_otp.login(request, device)
