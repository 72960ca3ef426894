"""Notification jobs: alert e-mails, the daily digest (queued per user, built when run)."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.utils import timezone
from procrastinate import RetryStrategy

from notifications.services import digest_send, digests_queue, notification_deliver
from trialsite.jobs import app

# A mail server that fails is tried again after 1, 2, 4, ... times the wait, up to
# NOTIFICATIONS_MAX_ATTEMPTS; then the job shows as failed on the jobs page.
_RETRY = RetryStrategy(
    max_attempts=settings.NOTIFICATIONS_MAX_ATTEMPTS,
    linear_wait=settings.NOTIFICATIONS_RETRY_SECONDS,
)


@app.task(queue="mail", retry=_RETRY)
def deliver_notification(notification_id: int) -> None:
    notification_deliver(notification_id=notification_id, now=timezone.now())


@app.task(queue="mail", retry=_RETRY)
def send_digest(user_id: int, day: str) -> None:
    digest_send(user_id=user_id, day=date.fromisoformat(day), now=timezone.now())


@app.periodic(cron=settings.DIGEST_CRON)
@app.task(queue="periodic", queueing_lock="queue_digests")
def queue_digests(timestamp: int) -> None:
    """Daily: one digest job per user; each decides what is due when it runs."""
    digests_queue(day=timezone.localdate())
