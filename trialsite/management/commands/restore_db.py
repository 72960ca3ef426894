"""`make restore FILE=...`: restore a backup into a database of the configured server."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from trialsite import backup


class Command(BaseCommand):
    help = "Restore a pg_dump backup (into the configured database unless --database is given)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--database", help="Database name to restore into")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Drop the target database first if it holds tables (destroys its data).",
        )

    def handle(
        self, *args: object, file: Path, database: str | None, replace: bool, **options: object
    ) -> None:
        if not file.exists():
            raise CommandError(f"no such backup file: {file}")
        target = backup.Target.from_settings(connections["owner"].settings_dict, name=database)
        try:
            backup.restore(file, target, replace=replace)
        except FileExistsError as exc:
            raise CommandError(str(exc)) from exc
        counts = backup.fingerprint(target)
        tables = sum(1 for key in counts if key.startswith("rows:"))
        self.stdout.write(f"restored {file} into {target.name}: {tables} tables")
