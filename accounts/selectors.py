from __future__ import annotations

from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccountEvent
from trialsite.models import LinkEvent, LinkTable, Site, User


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


def link_history(user: User) -> list[LinkEvent]:
    """Every change of the user's role and site links, as the database recorded it (oldest
    first); each event gets ``target``, the site code or role name it linked."""
    events = list(
        LinkEvent.objects.filter(
            link__in=[LinkTable.USER_SITES, LinkTable.USER_GROUPS], left_id=user.pk
        ).order_by("at", "pk")
    )
    names = {
        LinkTable.USER_SITES: dict(Site.objects.values_list("pk", "code")),
        LinkTable.USER_GROUPS: dict(Group.objects.values_list("pk", "name")),
    }
    for event in events:
        event.target = names[event.link].get(event.right_id, str(event.right_id))
    return events
