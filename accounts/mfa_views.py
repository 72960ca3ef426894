"""Logging in with a second factor, and enrolling an authenticator (issue 16)."""

from __future__ import annotations

import time

from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts import forms, mfa, services
from accounts.middleware import mfa_not_required
from trialsite.models import User

PENDING = "accounts_mfa_pending"
# The password step is good for this long; then the password is asked again.
PENDING_SECONDS = 300
WRONG_CODE = _("This code is not valid. Type the current code of your authenticator app.")


class LoginView(auth_views.LoginView):
    """The password first; a user with an authenticator is then asked for the code and
    is logged in only after it (a login without the code is none)."""

    def form_valid(self, form):
        user = form.get_user()
        if not mfa.is_enrolled(user):
            return super().form_valid(form)
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "next": self.get_success_url(),
            "at": time.time(),
        }
        return redirect("login_code")


def _pending_user(request: HttpRequest) -> tuple[User | None, dict]:
    pending = request.session.get(PENDING) or {}
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None, {}
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    return user, pending


@sensitive_post_parameters("code")
@never_cache
@login_not_required
def login_code(request: HttpRequest) -> HttpResponse:
    user, pending = _pending_user(request)
    if user is None:
        request.session.pop(PENDING, None)
        return redirect("login")
    form = forms.CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if mfa.is_locked_out(request, user):
            request.session.pop(PENDING, None)
            return mfa.lockout_response(request, user)
        device = mfa.check_code(user, form.cleaned_data["code"])
        if device is not None:
            request.session.pop(PENDING, None)
            user.otp_device = device  # django-otp binds the session to it at login
            auth.login(request, user, backend=pending["backend"])
            return redirect(pending["next"])
        mfa.count_failure(request, user)
        form.add_error("code", WRONG_CODE)
    return render(request, "accounts/login_code.html", {"form": form})


def _next(request: HttpRequest) -> str:
    target = request.GET.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe else "/"


@sensitive_post_parameters("code")
@never_cache
@mfa_not_required
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    user = request.user
    if mfa.is_enrolled(user):
        return render(request, "accounts/mfa_enrolled.html", {"required": mfa.mfa_required(user)})
    device = mfa.pending_authenticator(user)
    form = forms.CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if mfa.is_locked_out(request, user):
            return mfa.lockout_response(request, user)
        if device.verify_token("".join(form.cleaned_data["code"].split())):
            codes = services.mfa_enrol(user=user, device=device)
            mfa.verify_session(request, device)
            return render(
                request,
                "accounts/mfa_recovery_codes.html",
                {"codes": codes, "next": _next(request)},
            )
        mfa.count_failure(request, user)
        form.add_error("code", WRONG_CODE)
    uri = device.config_url
    return render(
        request,
        "accounts/mfa_enrol.html",
        {
            "form": form,
            "secret": mfa.secret_of(device),
            "uri": uri,
            "qr": mfa.qr_svg_data_uri(uri),
            "required": mfa.mfa_required(user),
        },
    )


logout = mfa_not_required(auth_views.LogoutView.as_view())
