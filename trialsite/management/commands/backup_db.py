"""`make backup`: a timestamped pg_dump of the configured database."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections
from django.utils import timezone

from trialsite import backup


class Command(BaseCommand):
    help = "Dump the configured database into var/backups/ (or --output)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, help="File to write (default: timestamped)")

    def handle(self, *args: object, output: Path | None = None, **options: object) -> None:
        target = backup.Target.from_settings(connections["owner"].settings_dict)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        destination = output or settings.VAR_DIR / "backups" / f"{target.name}-{stamp}.dump"
        backup.backup(target, destination)
        self.stdout.write(f"backup written: {destination} ({destination.stat().st_size} bytes)")
