"""User administration for data managers (issue 16), in the app rather than the raw admin:
every change goes through accounts/services.py, with its rules, reason and event."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import forms, mfa, selectors, services
from trialsite import access
from trialsite.models import User
from trialsite.roles import Role


def _target(request: HttpRequest, pk: int) -> User:
    """The account ``pk``, for a user administrator (403 for anyone else)."""
    access.require(request.user, services.MANAGE_USERS)
    return get_object_or_404(User, pk=pk)


@require_GET
def user_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, services.MANAGE_USERS)
    return render(request, "accounts/user_list.html", {"users": selectors.trial_users()})


def user_invite(request: HttpRequest) -> HttpResponse:
    access.require(request.user, services.MANAGE_USERS)
    form = forms.InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_invite(
                actor=request.user,
                username=data["username"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                role=Role(data["role"]),
                sites=data["sites"],
                reason=data["reason"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": user.email})
            return redirect("accounts:user_detail", pk=user.pk)
    return render(request, "accounts/user_invite.html", {"form": form})


@require_GET
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _target(request, pk)
    return render(
        request,
        "accounts/user_detail.html",
        {
            "account": user,
            "role_form": forms.RoleChangeForm(),
            "site_form": forms.SiteChangeForm(),
            "reason_form": forms.ReasonForm(),
            "events": selectors.account_history(user)[:5],
            "mfa_enrolled": mfa.is_enrolled(user),
            "mfa_required": mfa.mfa_required(user),
        },
    )


@require_GET
def user_history(request: HttpRequest, pk: int) -> HttpResponse:
    user = _target(request, pk)
    return render(
        request,
        "accounts/user_history.html",
        {
            "account": user,
            "events": selectors.account_history(user),
            "link_events": selectors.link_history(user),
        },
    )


def _change(
    request: HttpRequest, pk: int, form_class: type, action: Callable[..., None], done: str
) -> HttpResponse:
    """Bind ``form_class``, run ``action(actor, user, cleaned_data)``, back to the user."""
    user = _target(request, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("accounts:user_detail", pk=user.pk)
    try:
        action(request.user, user, form.cleaned_data)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect("accounts:user_detail", pk=user.pk)


@require_POST
def user_role(request: HttpRequest, pk: int) -> HttpResponse:
    def act(actor: User, user: User, data: dict) -> None:
        change = (
            services.user_role_grant if data["action"] == "grant" else services.user_role_revoke
        )
        change(actor=actor, user=user, role=Role(data["role"]), reason=data["reason"])

    return _change(request, pk, forms.RoleChangeForm, act, _("The user's roles were changed."))


@require_POST
def user_site(request: HttpRequest, pk: int) -> HttpResponse:
    def act(actor: User, user: User, data: dict) -> None:
        change = (
            services.user_site_grant if data["action"] == "grant" else services.user_site_revoke
        )
        change(actor=actor, user=user, site=data["site"], reason=data["reason"])

    return _change(request, pk, forms.SiteChangeForm, act, _("The user's sites were changed."))


@require_POST
def user_password_reset(request: HttpRequest, pk: int) -> HttpResponse:
    def act(actor: User, user: User, data: dict) -> None:
        services.user_password_reset(actor=actor, user=user, reason=data["reason"])

    return _change(
        request, pk, forms.ReasonForm, act, _("A one-time link to set a new password was sent.")
    )


@require_POST
def user_mfa_reset(request: HttpRequest, pk: int) -> HttpResponse:
    def act(actor: User, user: User, data: dict) -> None:
        services.user_mfa_reset(actor=actor, user=user, reason=data["reason"])

    return _change(
        request, pk, forms.ReasonForm, act, _("The authenticator was reset: the user enrols again.")
    )


@require_POST
def user_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    def act(actor: User, user: User, data: dict) -> None:
        services.user_deactivate(actor=actor, user=user, reason=data["reason"])

    return _change(request, pk, forms.ReasonForm, act, _("The account was deactivated."))


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """The one-time link of an invitation or a reset: the user chooses the password."""

    template_name = "accounts/password_set.html"
    success_url = reverse_lazy("login")
    post_reset_login = False

    def get_user(self, uidb64: str) -> User | None:
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        services.password_set_by_link(user=form.user, password=form.cleaned_data["new_password1"])
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        messages.success(self.request, _("Your password is set: log in with it."))
        return redirect(self.success_url)


password_set = login_not_required(PasswordSetView.as_view())
