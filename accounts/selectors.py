from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccountEvent
from trialsite.models import User


def trial_users() -> QuerySet[User]:
    """Every account of the trial, with its roles and sites, for the users page."""
    enrolled = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    return (
        User.objects.order_by("username")
        .prefetch_related("groups", "sites")
        .annotate(mfa_enrolled=Exists(enrolled))
    )


def account_history(user: User) -> QuerySet[AccountEvent]:
    return AccountEvent.objects.filter(user=user).select_related("actor")
