"""The one access layer: every participant-level queryset and object goes through here.

* ``scoped(queryset, user)`` keeps only rows at the user's sites (all sites for
  data managers); models say how to reach their site with ``site_field``.
* ``get_for_user`` answers 404 for an object at another site (the same answer
  as for one that does not exist, so IDs do not leak), and 403 when a write is
  asked for by a role that may not write.

Views never filter by site themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    return holder_names(roles.SIGN, [site_id])


def holder_names(permission: str, site_ids: Iterable[int]) -> list[str]:
    """The printed names of the active users whose role holds ``permission`` at one of
    ``site_ids`` (roles that see every site hold it everywhere), for "ask ..." messages."""
    groups = [r.group_name for r, perms in roles.ROLE_PERMISSIONS.items() if permission in perms]
    everywhere = [
        r.group_name for r, perms in roles.ROLE_PERMISSIONS.items() if roles.ALL_SITES in perms
    ]
    holders = (
        User.objects.filter(is_active=True, groups__name__in=groups)
        .filter(models.Q(sites__in=list(site_ids)) | models.Q(groups__name__in=everywhere))
        .distinct()
    )
    return sorted({user.printed_name for user in holders})


def who_can(permission: str, site_ids: Iterable[int], action: str, *, nobody: str = "") -> str:
    """``action`` (naming the role and what it does, "The monitor verifies source data")
    followed by whom to ask: the people in that role at the sites ``site_ids``."""
    names = holder_names(permission, site_ids)
    if not names:
        return nobody or _(
            "%(action)s: nobody in that role has an account here yet; ask a data manager."
        ) % {"action": action}
    return _("%(action)s: ask %(names)s.") % {"action": action, "names": _(", ").join(names)}


def require_role(
    user: User, permission: str, site_ids: Iterable[int], action: str, *, nobody: str = ""
) -> None:
    """403 unless ``user`` holds ``permission``; the refusal says who can and whom to ask
    (``who_can``)."""
    if not user.has_perm(permission):
        raise PermissionDenied(who_can(permission, site_ids, action, nobody=nobody))


def investigator_refusal(site_id: int, action: str) -> str:
    """Who can take an investigator's ``action`` at a site: "…: ask Jie Chen."."""
    return who_can(
        roles.SIGN,
        [site_id],
        action,
        nobody=_("%(action)s: no investigator at this site has an account yet; ask a data manager.")
        % {"action": action},
    )


def require_investigator(user: User, site_id: int, action: str) -> None:
    """403 unless ``user`` may sign; the refusal says who can (``action``) and whom to ask."""
    if not user.has_perm(roles.SIGN):
        raise PermissionDenied(investigator_refusal(site_id, action))


def read_only_refusal(site_ids: Iterable[int]) -> PermissionDenied:
    """The refusal of a write to a read-only role, naming who enters data at those sites."""
    names = holder_names(roles.ENTER, site_ids)
    if not names:
        return PermissionDenied(_("Your role is read-only: it cannot change data."))
    return PermissionDenied(
        _(
            "Your role is read-only: the coordinator or the investigator enters data here; "
            "ask %(names)s."
        )
        % {"names": _(", ").join(names)}
    )


def site_id_of(obj: models.Model) -> int | None:
    if isinstance(obj, Site):
        return obj.pk
    field = type(obj).site_field
    return type(obj)._base_manager.filter(pk=obj.pk).values_list(field, flat=True).first()


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
        site_id = site_id_of(obj)
        raise read_only_refusal([site_id] if site_id else [])
    if write and isinstance(obj, ClinicalRecord):
        # Locked data is read-only for everyone (the save path refuses it too).
        workflow.guard(obj)
    return obj


def site_for_user(user: User, code: str, *, write: bool = False) -> Site:
    """A site the user belongs to (404 otherwise), e.g. to create a record there."""
    return get_for_user(Site, user, write=write, code=code)
