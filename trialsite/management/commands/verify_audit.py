"""Compare every tracked row with its newest audit event; list the rows changed without one.

A row whose values differ from the newest snapshot in its event table, or that has no
event at all, was written where the audit triggers did not fire: a session with
``session_replication_role = replica`` (a superuser's), a trigger dropped and restored, a
restore of an edited dump. It also lists every change of a user–site, user–role or
role–permission link made without an audit context by any database role but the owner (a raw
SQL grant as the app role): the application always changes them with a who and why. Exit
status 1 when there is any of either.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from trialsite.audit import unattributed_link_changes, verify_audit


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
        links = unattributed_link_changes()
        for event in links.listed:
            self.stdout.write(
                f"link {event.link} {event.operation} {event.left_id}-{event.right_id} "
                f"at {event.at:%Y-%m-%d %H:%M:%S} by database role {event.db_user}"
                "\twithout an audit context (outside the application)"
            )
        self.stdout.write(
            f"{len(links.listed)} link changes without an audit context "
            f"({links.by_owner} more by the owner, during migrate)"
        )
        self.stdout.write(
            f"{check.tables} tracked tables, {check.rows} rows: "
            f"{len(check.unaudited)} changed without an audit event"
        )
        if check.unaudited:
            raise CommandError(f"{len(check.unaudited)} rows changed without an audit event")
        if links.listed:
            raise CommandError(f"{len(links.listed)} link changes without an audit context")
