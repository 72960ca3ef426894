"""Background jobs: a queue in the trial's own PostgreSQL (Procrastinate).

Why a queue in the database: a job is deferred in the same transaction as the write that
causes it (an SAE saved, an export requested), so it exists exactly when that write
committed: never for a rolled-back save, never lost for a committed one. No other server.

* **Tasks** live in each app's ``tasks.py`` (found by Procrastinate's Django app) and import
  only their own app and lower layers; they call that app's services. Any app defers a task
  with ``task.defer(...)`` or ``task.configure(lock=...).defer(...)`` inside its service's
  ``transaction.atomic``: the job row is written on the same connection.
* **Workers** run the jobs: ``manage.py procrastinate worker`` (``make run`` starts one beside
  the web server; in production one or more per machine, README "Production serving").
  Each worker records a heartbeat; one that stops beating for ``JOBS_STALLED_SECONDS`` is
  dead (killed, machine lost), and ``retry_stalled_jobs`` (trialsite/tasks.py, periodic)
  puts its running jobs back in the queue. Tasks are written so that running one twice
  does no harm (an export rewrites its one file; an e-mail records its delivery first).
* **Locks**: jobs deferred with the same ``lock`` never run at the same time (an export,
  one participant's reminders); ``queueing_lock`` keeps one waiting copy of a periodic job.
* **Failures**: a task with a retry strategy is run again after a wait; a job that failed
  for good is shown on the jobs page (data managers) and retried there or with
  ``manage.py retry_job ID``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateEvent, ProcrastinateJob

__all__ = ["app", "JobRow", "job_rows", "job_counts", "job_retry", "retry_stalled"]

NOT_RETRYABLE = _("Only a failed job can be retried (job %(id)s is %(status)s).")
NO_SUCH_JOB = _("There is no job %(id)s.")

# The states the jobs page shows, in its order; "retried" is a job that failed at least once
# and was put back in the queue (by its retry strategy, the stalled-job check or a person).
STATES = ("todo", "doing", "failed", "retried", "succeeded", "cancelled", "aborted")
STATE_LABELS = {
    "todo": _("Queued"),
    "doing": _("Running"),
    "failed": _("Failed"),
    "retried": _("Retried"),
    "succeeded": _("Succeeded"),
    "cancelled": _("Cancelled"),
    "aborted": _("Aborted"),
}
_RETRY_EVENTS = ("deferred_for_retry", "retried")


@dataclass(frozen=True)
class JobRow:
    id: int
    task_name: str
    queue: str
    status: str
    attempts: int
    retries: int
    args: dict
    lock: str | None
    scheduled_at: datetime | None
    last_event_at: datetime | None

    @property
    def status_label(self) -> str:
        return str(STATE_LABELS.get(self.status, self.status))

    @property
    def retryable(self) -> bool:
        return self.status == "failed"


def _jobs():
    return ProcrastinateJob.objects.annotate(
        retries=Count("procrastinateevent", filter=Q(procrastinateevent__type__in=_RETRY_EVENTS)),
        last_event_at=Max("procrastinateevent__at"),
    )


def job_rows(*, state: str = "", limit: int = 200) -> list[JobRow]:
    """The latest jobs, newest first; ``state`` one of STATES (or all)."""
    jobs = _jobs()
    if state == "retried":
        jobs = jobs.filter(retries__gt=0)
    elif state:
        jobs = jobs.filter(status=state)
    return [
        JobRow(
            id=job.id,
            task_name=job.task_name,
            queue=job.queue_name,
            status=job.status,
            attempts=job.attempts,
            retries=job.retries,
            args=job.args,
            lock=job.lock,
            scheduled_at=job.scheduled_at,
            last_event_at=job.last_event_at,
        )
        for job in jobs.order_by("-id")[:limit]
    ]


def job_counts() -> dict[str, int]:
    """How many jobs are in each of STATES."""
    counts = dict.fromkeys(STATES, 0)
    for status, n in ProcrastinateJob.objects.values_list("status").annotate(n=Count("id")):
        counts[status] = n
    counts["retried"] = (
        ProcrastinateEvent.objects.filter(type__in=_RETRY_EVENTS)
        .values("job_id")
        .distinct()
        .count()
    )
    return counts


def job_status(*, lock: str) -> str | None:
    """The status of the latest job deferred with ``lock`` (None: there is none)."""
    job = ProcrastinateJob.objects.filter(lock=lock).order_by("-id").first()
    return job.status if job else None


def job_retry(*, job_id: int) -> None:
    """Put a failed job back in the queue, to run at once (the jobs page, ``retry_job``)."""
    job = ProcrastinateJob.objects.filter(pk=job_id).first()
    if job is None:
        raise ValidationError(NO_SUCH_JOB % {"id": job_id}, code="missing")
    if job.status != "failed":
        raise ValidationError(
            NOT_RETRYABLE % {"id": job_id, "status": job.status}, code="not_failed"
        )
    app.job_manager.retry_job_by_id(job_id=job_id, retry_at=timezone.now())


async def retry_stalled() -> list[int]:
    """Put the running jobs of dead workers back in the queue; their ids.

    A worker is dead when its heartbeat is older than JOBS_STALLED_SECONDS (it was killed,
    its machine stopped). Its jobs are still "doing"; nobody else would ever run them.
    """
    manager = app.job_manager
    await manager.prune_stalled_workers(settings.JOBS_STALLED_SECONDS)
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=settings.JOBS_STALLED_SECONDS)
    for job in stalled:
        await manager.retry_job(job)
    return [job.id for job in stalled]
