"""Record the deviations time alone creates (a window that ended without the visit or
infusion).  Run daily (cron); every write already syncs its own participant."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand
from django.utils import timezone

from dosing.services import deviations_sync
from enrollment.models import Participant
from enrollment.rules import ACTIVE_STATUSES


class Command(BaseCommand):
    help = "Create the automatic protocol deviations of missed visits and infusions."

    def handle(self, *args: object, **options: object) -> None:
        today = timezone.localdate()
        created = voided = skipped = 0
        for participant in Participant.objects.active().filter(status__in=ACTIVE_STATUSES):
            try:
                result = deviations_sync(participant=participant, user=None, today=today)
            except PermissionDenied:
                # A locked participant stays as it is; the others are still synced.
                skipped += 1
                continue
            created += result.created
            voided += result.voided
        self.stdout.write(
            f"automatic deviations: {created} created, {voided} voided, "
            f"{skipped} locked participants skipped"
        )
