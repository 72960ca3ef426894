"""Monitoring's periodic job: the edit checks that time alone changes (SAE_REVIEW_24H)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from monitoring.services import edit_checks_run
from trialsite.jobs import app

logger = logging.getLogger(__name__)


@app.periodic(cron=settings.EDIT_CHECKS_CRON)
@app.task(queue="periodic", queueing_lock="run_edit_checks", lock="run_edit_checks")
def run_edit_checks(timestamp: int) -> None:
    """Hourly; opens or closes the automatic queries whose rule depends on the time."""
    changed = edit_checks_run(now=timezone.now(), everything=False)
    logger.info("automatic edit checks: %s queries opened or closed", changed)
