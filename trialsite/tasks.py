"""The core's periodic job: jobs of dead workers go back in the queue (trialsite/jobs.py)."""

from __future__ import annotations

import logging

from django.conf import settings

from trialsite.jobs import app, retry_stalled

logger = logging.getLogger(__name__)


@app.periodic(cron=settings.JOBS_STALLED_CRON)
@app.task(queueing_lock="retry_stalled_jobs", pass_context=False)
async def retry_stalled_jobs(timestamp: int) -> None:
    """Every minute (JOBS_STALLED_CRON), on whichever worker takes it."""
    retried = await retry_stalled()
    if retried:
        logger.warning("jobs of stopped workers put back in the queue: %s", retried)
