"""The second factor, required before anything else for those who must use one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from accounts import mfa


def mfa_not_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Reachable by a logged-in user whose session has not passed the second factor
    (the enrolment page itself, logging out)."""
    view.mfa_exempt = True  # type: ignore[attr-defined]
    return view


class MFARequiredMiddleware:
    """After ``LoginRequiredMiddleware`` and django-otp's ``OTPMiddleware``: a user who must
    use a second factor (accounts/mfa.py) and whose session has not been verified with
    one is sent to enrol (no authenticator yet) or to log in again with the code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        if not getattr(view_func, "login_required", True) or getattr(
            view_func, "mfa_exempt", False
        ):
            return None
        if not mfa.mfa_required(user):
            return None
        if mfa.is_enrolled(user):
            # A session from before the enrolment (or another browser's): the code is
            # asked at login, so log in again.
            logout(request)
            return redirect_to_login(request.get_full_path())
        return redirect(
            f"{reverse('accounts:mfa_enrol')}?{urlencode({'next': request.get_full_path()})}"
        )
