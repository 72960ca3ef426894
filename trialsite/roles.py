"""The four trial roles as Django groups with explicit permissions.

The mapping below is the single source of truth; ``sync_role_groups`` runs
after every ``migrate`` and makes the groups match it exactly.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

VIEW = "trialsite.view_clinical_data"
ENTER = "trialsite.enter_data"
SIGN = "trialsite.sign_data"
ALL_SITES = "trialsite.view_all_sites"
EXPORT = "trialsite.export_data"
QUERIES = "trialsite.manage_queries"
VERIFY = "trialsite.verify_source"
LOCK = "trialsite.lock_data"
# Registering a new consent/assent form version (and so flagging participants for
# re-consent) is trial administration: a model permission, held by data managers.
CONSENT_FORMS = "enrollment.add_consentformversion"
# The trial capabilities (as opposed to Django's model permissions).
CAPABILITIES = frozenset({VIEW, ENTER, SIGN, ALL_SITES, EXPORT, QUERIES, VERIFY, LOCK})
USER_ADMIN = (
    "trialsite.view_user",
    "trialsite.add_user",
    "trialsite.change_user",
    "auth.view_group",
    "trialsite.view_site",
)


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Coordinator")
    INVESTIGATOR = "investigator", _("Investigator")
    MONITOR = "monitor", _("Monitor")
    DATA_MANAGER = "data_manager", _("Data manager")

    @property
    def group_name(self) -> str:
        # Group names are stored data: keep them English and stable.
        return {
            "coordinator": "Coordinator",
            "investigator": "Investigator",
            "monitor": "Monitor",
            "data_manager": "Data manager",
        }[self.value]


ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    # Screen, enrol and enter data at own sites.
    Role.COORDINATOR: (VIEW, ENTER),
    # Coordinator rights + confirm eligibility, prescribe, sign.
    Role.INVESTIGATOR: (VIEW, ENTER, SIGN),
    # Read-only at assigned sites; raises queries and verifies source.
    Role.MONITOR: (VIEW, QUERIES, VERIFY),
    # Every site, exports, locking, user administration, consent-form versions; no
    # data entry.
    Role.DATA_MANAGER: (VIEW, ALL_SITES, EXPORT, QUERIES, LOCK, CONSENT_FORMS, *USER_ADMIN),
}


def sync_role_groups(using: str = "default", **kwargs: Any) -> None:
    """Create the role groups and give each exactly its permissions (post_migrate)."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    # post_migrate reaches this app before the apps listed after it: make sure the
    # model permissions of every app named here exist first (idempotent).
    labels = {perm.split(".")[0] for perms in ROLE_PERMISSIONS.values() for perm in perms}
    for label in sorted(labels):
        create_permissions(apps.get_app_config(label), verbosity=0, using=using)
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role.group_name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(
                Permission.objects.using(using).get(
                    content_type__app_label=app_label, codename=codename
                )
            )
        group.permissions.set(wanted)
