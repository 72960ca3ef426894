"""Put a failed background job back in the queue (the jobs page does the same)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from trialsite.jobs import job_retry


class Command(BaseCommand):
    help = "Retry a failed background job: manage.py retry_job ID (see the jobs page)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_id", type=int)

    def handle(self, *args: object, job_id: int, **options: object) -> None:
        try:
            job_retry(job_id=job_id)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"job {job_id} queued again")
