"""Load the demo data (idempotent). Refuses to run with DEBUG off unless --force."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from demo import seed as demo


class Command(BaseCommand):
    help = "Create the demo sites, users and trial data (safe to run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never in production)."
        )

    def handle(self, *args: object, force: bool = False, **options: object) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to load demo data with DEBUG off: this looks like production. "
                "Use --force only on a throwaway database."
            )
        users = demo.seed_sites_and_users()
        for line in demo.seed_trial_data(timezone.localdate()):
            self.stdout.write(f"  {line}")
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
        for user in users:
            sites = ", ".join(user.sites) or "all sites"
            self.stdout.write(f"  {user.username:<20} {user.role.label:<14} {sites}")
