"""Rebuild every participant's course in memory and list every difference from the stored
course (``CourseEvent``): a row changed behind the app's back (raw SQL), or the engine
changed by a protocol amendment.  ``--rebuild`` stores the rebuilt courses."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from dosing.stored_course import course_differences, courses_rebuild
from enrollment.models import Participant


class Command(BaseCommand):
    help = "Compare every stored course with a fresh build by the engine (--rebuild: store it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rebuild", action="store_true", help="store the rebuilt courses afterwards"
        )

    def handle(self, *args: object, **options: object) -> None:
        today = timezone.localdate()
        participants = list(Participant.objects.order_by("pk"))
        differences = course_differences(participants, today)
        for line in differences:
            self.stdout.write(line)
        self.stdout.write(
            f"{len(participants)} participants checked: {len(differences)} differences"
        )
        if options["rebuild"]:
            courses_rebuild(participants, today)
            self.stdout.write(f"{len(participants)} courses rebuilt and stored")
        elif differences:
            raise CommandError("the stored course differs from the engine's (see above)")
