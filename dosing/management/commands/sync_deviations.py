"""Record the deviations time alone creates (a window that ended without the visit or
infusion).  A periodic job runs it daily (dosing/tasks.py); this command runs it by hand.
Every write already syncs its own participant."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from dosing.services import deviations_sync_all


class Command(BaseCommand):
    help = "Create the automatic protocol deviations of missed visits and infusions."

    def handle(self, *args: object, **options: object) -> None:
        result = deviations_sync_all(today=timezone.localdate())
        self.stdout.write(
            f"automatic deviations: {result.created} created, {result.voided} voided, "
            f"{result.skipped} locked participants skipped"
        )
