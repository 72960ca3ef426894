"""Demo data for `make run`: the twelve sites and one user per role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import Group
from django.db import transaction

from demo import clinical, monitoring_data, treatment
from demo.participants import seed_participants
from demo.screenings import seed_screenings
from trialsite import protocol
from trialsite.audit import audit_context
from trialsite.models import Site, User
from trialsite.roles import Role

# Documented in the README and printed by `make run`; demo machines only.
DEMO_PASSWORD = "demo-pass-2026"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: Role
    sites: tuple[str, ...]


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("coordinator_pumch", "Na", "Li", Role.COORDINATOR, ("PUMCH",)),
    DemoUser("investigator_pumch", "Jie", "Chen", Role.INVESTIGATOR, ("PUMCH",)),
    DemoUser("monitor", "Min", "Zhao", Role.MONITOR, ("PUMCH", "CHCMU")),
    DemoUser("datamanager", "Lei", "Wang", Role.DATA_MANAGER, ()),
    DemoUser("coordinator_chcmu", "Yan", "Liu", Role.COORDINATOR, ("CHCMU",)),
    DemoUser("investigator_chcmu", "Qiang", "Huang", Role.INVESTIGATOR, ("CHCMU",)),
)


@transaction.atomic
def seed_sites_and_users() -> list[DemoUser]:
    with audit_context(None, "demo data", source="seed_demo"):
        for code, name, city in protocol.SITES:
            Site.objects.update_or_create(
                code=code,
                defaults={
                    "name": name,
                    "name_zh": protocol.SITE_NAMES_ZH.get(code, ""),
                    "city": city,
                },
            )
        for demo in DEMO_USERS:
            user, _created = User.objects.get_or_create(username=demo.username)
            user.first_name, user.last_name = demo.first_name, demo.last_name
            user.email = f"{demo.username}@example.org"
            # Data managers administer users in the admin site.
            user.is_staff = demo.role is Role.DATA_MANAGER
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.groups.set([Group.objects.get(name=demo.role.group_name)])
            user.sites.set(Site.objects.filter(code__in=demo.sites))
    return list(DEMO_USERS)


def seed_trial_data(today: date) -> list[str]:
    """Screenings, participants and their data, once (a second run changes nothing)."""
    screenings = seed_screenings(today)
    if not screenings:
        return ["demo trial data already present: left as it is"]
    participants = seed_participants(today, DEMO_PASSWORD)
    lines = [
        f"{len(screenings)} demo screenings in every state",
        f"{len(participants)} demo participants",
    ]
    lines += treatment.seed(today, participants)
    lines += clinical.seed(today, participants)
    # Issue 8: queries, verification, a signed and locked visit (demo/monitoring_data.py).
    lines += monitoring_data.seed(today, participants, DEMO_PASSWORD)
    return lines
