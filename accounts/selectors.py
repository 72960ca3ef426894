from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import AccountEvent
from trialsite.models import User


def trial_users() -> QuerySet[User]:
    """Every account of the trial, with its roles and sites, for the users page."""
    return User.objects.order_by("username").prefetch_related("groups", "sites")


def account_history(user: User) -> QuerySet[AccountEvent]:
    return AccountEvent.objects.filter(user=user).select_related("actor")
