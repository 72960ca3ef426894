"""Dosing's periodic job: the deviations time alone creates (a window that ended)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from dosing.services import deviations_sync_all
from trialsite.jobs import app

logger = logging.getLogger(__name__)


@app.periodic(cron=settings.DEVIATIONS_CRON)
@app.task(queue="periodic", queueing_lock="sync_deviations", lock="sync_deviations")
def sync_deviations(timestamp: int) -> None:
    """Daily; idempotent, so a retry or a second worker's run changes nothing."""
    result = deviations_sync_all(today=timezone.localdate())
    logger.info("automatic deviations: %s", result)
