"""`migrate` runs as the database owner ("owner" alias), never as the app role."""

from __future__ import annotations

from django.core.management.commands.migrate import Command as DjangoMigrate


class Command(DjangoMigrate):
    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(database="owner")
