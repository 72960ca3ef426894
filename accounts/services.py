"""Account administration: every write here, each in one transaction with its event.

The rules (issue 16), whoever the actor:
* only a holder of the user-administration permission administers accounts;
* nobody changes their own account here: not their roles, sites, password, activity or
  authenticator (so a data manager never grants a signing role to themselves);
* only a superuser touches a superuser's account;
* every change made to someone else's account carries a reason.
Each change writes an ``AccountEvent`` (append-only); the user is e-mailed on a password
reset and on a role change. The role and site links themselves are changed inside an audit
context (who and why), which the database trigger on the link tables copies into the
``LinkEvent`` it writes for each change (trialsite migration 0006).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import emails, mfa
from accounts.models import AccountEvent, AccountEventKind
from trialsite import roles
from trialsite.audit import audit_context
from trialsite.models import Site, User
from trialsite.roles import Role

MANAGE_USERS = mfa.MANAGE_USERS

NOT_ALLOWED = gettext_lazy("Your role does not allow administering accounts.")
OWN_ACCOUNT = gettext_lazy("Nobody changes their own account here: ask another data manager.")
SELF_SIGNING = gettext_lazy("Nobody grants themselves a role that signs.")
SUPERUSER = gettext_lazy("A superuser's account is changed by a superuser only.")
REASON_REQUIRED = gettext_lazy("Give the reason for this change.")
ALREADY_HELD = gettext_lazy("The user already has this.")
NOT_HELD = gettext_lazy("The user does not have this.")
INACTIVE = gettext_lazy("This account is deactivated.")
NOT_ENROLLED = gettext_lazy("The user has no authenticator to reset.")


def _check(*, actor: User, user: User, reason: str) -> str:
    """The rules every administrative change follows; returns the cleaned reason."""
    if not actor.is_active or not actor.has_perm(MANAGE_USERS):
        raise PermissionDenied(NOT_ALLOWED)
    if actor.pk == user.pk:
        raise PermissionDenied(OWN_ACCOUNT)
    if user.is_superuser and not actor.is_superuser:
        raise PermissionDenied(SUPERUSER)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(REASON_REQUIRED, code="reason")
    return reason


def _record(*, actor: User, user: User, kind: str, detail: str = "", reason: str = "") -> None:
    AccountEvent.objects.create(actor=actor, user=user, kind=kind, detail=detail, reason=reason)


def _signs(group: Group) -> bool:
    app_label, codename = roles.SIGN.split(".")
    return group.permissions.filter(content_type__app_label=app_label, codename=codename).exists()


@transaction.atomic
def user_invite(
    *,
    actor: User,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    role: Role,
    sites: Iterable[Site],
    reason: str,
) -> User:
    """A new account without a password; the user sets it through a one-time link."""
    if not actor.is_active or not actor.has_perm(MANAGE_USERS):
        raise PermissionDenied(NOT_ALLOWED)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(REASON_REQUIRED, code="reason")
    user = User(username=username, first_name=first_name, last_name=last_name, email=email)
    user.set_unusable_password()
    user.full_clean()
    user.save()
    sites = list(sites)
    with audit_context(actor, reason):  # the link events carry who and why (LinkEvent)
        user.groups.set([Group.objects.get(name=role.group_name)])
        user.sites.set(sites)
    detail = f"{role.group_name}; {', '.join(s.code for s in sites) or '-'}"
    _record(actor=actor, user=user, kind=AccountEventKind.INVITED, detail=detail, reason=reason)
    emails.send_invitation(user)
    return user


@transaction.atomic
def user_password_reset(*, actor: User, user: User, reason: str) -> None:
    """The old password stops working; the user sets a new one through a one-time link
    (nobody else ever sees or sets it)."""
    reason = _check(actor=actor, user=user, reason=reason)
    if not user.is_active:
        raise ValidationError(INACTIVE, code="inactive")
    user.set_unusable_password()
    user.save(update_fields=["password"])
    _record(actor=actor, user=user, kind=AccountEventKind.PASSWORD_RESET, reason=reason)
    emails.send_password_reset(user)


@transaction.atomic
def password_set_by_link(*, user: User, password: str) -> None:
    """The user chose their password through the one-time link (invitation or reset)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    _record(actor=user, user=user, kind=AccountEventKind.PASSWORD_SET)


@transaction.atomic
def user_deactivate(*, actor: User, user: User, reason: str) -> None:
    """Deactivated, never deleted: the audit trail and signatures refer to the user."""
    reason = _check(actor=actor, user=user, reason=reason)
    if not user.is_active:
        raise ValidationError(INACTIVE, code="inactive")
    user.is_active = False
    user.save(update_fields=["is_active"])
    _record(actor=actor, user=user, kind=AccountEventKind.DEACTIVATED, reason=reason)


@transaction.atomic
def user_role_grant(*, actor: User, user: User, role: Role, reason: str) -> None:
    group = Group.objects.get(name=role.group_name)
    if actor.pk == user.pk and _signs(group):  # the worst case of OWN_ACCOUNT, named
        raise PermissionDenied(SELF_SIGNING)
    reason = _check(actor=actor, user=user, reason=reason)
    if user.groups.filter(pk=group.pk).exists():
        raise ValidationError(ALREADY_HELD, code="held")
    with audit_context(actor, reason):
        user.groups.add(group)
    _record(
        actor=actor, user=user, kind=AccountEventKind.ROLE_GRANTED, detail=group.name, reason=reason
    )
    emails.send_role_change(user, granted=role.label, revoked="")


@transaction.atomic
def user_role_revoke(*, actor: User, user: User, role: Role, reason: str) -> None:
    reason = _check(actor=actor, user=user, reason=reason)
    group = Group.objects.get(name=role.group_name)
    if not user.groups.filter(pk=group.pk).exists():
        raise ValidationError(NOT_HELD, code="not_held")
    with audit_context(actor, reason):
        user.groups.remove(group)
    _record(
        actor=actor, user=user, kind=AccountEventKind.ROLE_REVOKED, detail=group.name, reason=reason
    )
    emails.send_role_change(user, granted="", revoked=role.label)


@transaction.atomic
def user_site_grant(*, actor: User, user: User, site: Site, reason: str) -> None:
    reason = _check(actor=actor, user=user, reason=reason)
    if user.sites.filter(pk=site.pk).exists():
        raise ValidationError(ALREADY_HELD, code="held")
    with audit_context(actor, reason):
        user.sites.add(site)
    _record(
        actor=actor, user=user, kind=AccountEventKind.SITE_GRANTED, detail=site.code, reason=reason
    )


@transaction.atomic
def user_site_revoke(*, actor: User, user: User, site: Site, reason: str) -> None:
    reason = _check(actor=actor, user=user, reason=reason)
    if not user.sites.filter(pk=site.pk).exists():
        raise ValidationError(NOT_HELD, code="not_held")
    with audit_context(actor, reason):
        user.sites.remove(site)
    _record(
        actor=actor, user=user, kind=AccountEventKind.SITE_REVOKED, detail=site.code, reason=reason
    )


@transaction.atomic
def mfa_enrol(*, user: User, device: TOTPDevice) -> list[str]:
    """The user confirmed ``device`` with a code: it becomes their only authenticator, with
    fresh recovery codes (returned, to be shown once)."""
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = mfa.new_recovery_codes(user)
    _record(actor=user, user=user, kind=AccountEventKind.MFA_ENROLLED, detail=device.name)
    return codes


@transaction.atomic
def user_mfa_reset(*, actor: User, user: User, reason: str) -> None:
    """A lost authenticator: removed with the recovery codes, by someone else (never one's
    own); every session verified with them stops being verified, and the user enrols again
    at the next login."""
    reason = _check(actor=actor, user=user, reason=reason)
    if not mfa.is_enrolled(user):
        raise ValidationError(NOT_ENROLLED, code="not_enrolled")
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    _record(actor=actor, user=user, kind=AccountEventKind.MFA_RESET, reason=reason)
