"""The one access layer: every participant-level queryset and object goes through here.

* ``scoped(queryset, user)`` keeps only rows at the user's sites (all sites for
  data managers); models say how to reach their site with ``site_field``.
* ``get_for_user`` answers 404 for an object at another site (the same answer
  as for one that does not exist, so IDs do not leak), and 403 when a write is
  asked for by a role that may not write.

Views never filter by site themselves.
"""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404
from django.utils.translation import gettext as _

from trialsite import roles, workflow
from trialsite.models import ClinicalRecord, Site, User

M = TypeVar("M", bound=models.Model)


def sees_all_sites(user: User) -> bool:
    return user.has_perm(roles.ALL_SITES)


def user_sites(user: User) -> models.QuerySet[Site]:
    """The sites whose data ``user`` may see."""
    if not user.is_authenticated or not user.has_perm(roles.VIEW):
        return Site.objects.none()
    if sees_all_sites(user):
        return Site.objects.all()
    return user.sites.all()


def scoped(queryset: models.QuerySet[M], user: User) -> models.QuerySet[M]:
    """``queryset`` restricted to rows at the user's sites."""
    if not user.is_authenticated or not user.has_perm(roles.VIEW):
        return queryset.none()
    if sees_all_sites(user):
        return queryset
    site_field = "pk" if queryset.model is Site else queryset.model.site_field
    return queryset.filter(**{f"{site_field}__in": user.sites.all()})


def can_write(user: User) -> bool:
    return user.is_authenticated and user.has_perm(roles.ENTER)


def require(user: User, permission: str) -> None:
    """403 unless ``user`` holds ``permission``."""
    if not user.has_perm(permission):
        raise PermissionDenied(_("Your role does not allow this action."))


def investigator_names(site_id: int) -> list[str]:
    """The printed names of the active investigators at a site, for "ask ..." messages."""
    investigators = User.objects.filter(
        is_active=True, groups__name=roles.Role.INVESTIGATOR.group_name, sites=site_id
    )
    return sorted({user.printed_name for user in investigators})


def require_investigator(user: User, site_id: int, action: str) -> None:
    """403 unless ``user`` may sign; the refusal says who can (``action``) and whom to ask."""
    if user.has_perm(roles.SIGN):
        return
    names = investigator_names(site_id)
    if not names:
        raise PermissionDenied(
            _("%(action)s: no investigator at this site has an account yet; ask a data manager.")
            % {"action": action}
        )
    raise PermissionDenied(
        _("%(action)s: ask %(names)s.") % {"action": action, "names": _(", ").join(names)}
    )


def get_for_user(
    queryset: models.QuerySet[M] | type[M], user: User, *, write: bool = False, **lookup
) -> M:
    """The object matching ``lookup`` at one of the user's sites.

    404 when it does not exist or is at another site; 403 when ``write`` is
    asked for and the user's role may not enter data.
    """
    if isinstance(queryset, type):
        queryset = queryset._default_manager.all()
    try:
        obj = scoped(queryset, user).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(_("No such record at your sites.")) from exc
    if write and not can_write(user):
        raise PermissionDenied(_("Your role is read-only: it cannot change data."))
    if write and isinstance(obj, ClinicalRecord):
        # Locked data is read-only for everyone (the save path refuses it too).
        workflow.guard(obj)
    return obj


def site_for_user(user: User, code: str, *, write: bool = False) -> Site:
    """A site the user belongs to (404 otherwise), e.g. to create a record there."""
    return get_for_user(Site, user, write=write, code=code)
