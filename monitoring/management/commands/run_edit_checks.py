"""Run the clock-driven edit checks (monitoring/edit_checks.py).  A periodic job runs them
hourly (monitoring/tasks.py); this command runs them by hand.

Every save already runs the checks of the record saved; what time alone changes (a serious
adverse event still not reviewed by an investigator 24 hours after its alert, or reviewed
since) is judged here.  ``--all`` re-runs every rule over all data, e.g. after a protocol
amendment changed a rule.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from monitoring.services import edit_checks_run


class Command(BaseCommand):
    help = "Open or close the automatic data queries that depend on time (and, with --all, all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all", action="store_true", dest="everything", help="Re-run every rule on all data."
        )

    def handle(self, *args: object, everything: bool = False, **options: object) -> None:
        changed = edit_checks_run(now=timezone.now(), everything=everything)
        self.stdout.write(f"automatic edit checks: {changed} queries opened or closed")
