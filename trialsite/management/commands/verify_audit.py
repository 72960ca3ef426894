"""Compare every tracked row with its newest audit event; list the rows changed without one.

A row whose values differ from the newest snapshot in its event table, or that has no
event at all, was written where the audit triggers did not fire: a session with
``session_replication_role = replica`` (a superuser's), a trigger dropped and restored, a
restore of an edited dump. Exit status 1 when there is any.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from trialsite.audit import verify_audit


class Command(BaseCommand):
    help = "List every tracked row changed without an audit event; exit 1 if there is any."

    def handle(self, *args: object, **options: object) -> None:
        check = verify_audit()
        for row in check.unaudited:
            why = (
                "differs from its newest audit event in " + ", ".join(row.columns)
                if row.columns
                else "has no audit event"
            )
            self.stdout.write(f"{row.model} {row.pk}\t{why}")
        self.stdout.write(
            f"{check.tables} tracked tables, {check.rows} rows: "
            f"{len(check.unaudited)} changed without an audit event"
        )
        if check.unaudited:
            raise CommandError(f"{len(check.unaudited)} rows changed without an audit event")
