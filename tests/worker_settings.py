"""Settings of the job worker the tests start (tests/jobs.py): the test database, as the
app's own database role (what a production worker connects as), real SMTP, fast clocks."""

import os

from trialsite.settings.test import *  # noqa: F403
from trialsite.settings.test import DATABASE_APP_ROLE, DATABASES

_test_db = {**DATABASES["owner"], "NAME": os.environ["WORKER_DATABASE_NAME"]}
_test_db.pop("TEST", None)
DATABASES = {
    "default": {**_test_db, "USER": DATABASE_APP_ROLE, "PASSWORD": ""},
    "owner": _test_db,
}

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ["WORKER_SMTP_PORT"])
EMAIL_TIMEOUT = 5

# A dead worker is noticed within seconds, not a minute; retries come at once.
JOBS_STALLED_SECONDS = 3
PROCRASTINATE_WORKER_DEFAULTS = {
    "update_heartbeat_interval": 0.5,
    "stalled_worker_timeout": JOBS_STALLED_SECONDS,
    "concurrency": 2,
    "fetch_job_polling_interval": 0.5,
}
JOBS_STALLED_CRON = "* * * * * */1"
NOTIFICATIONS_RETRY_SECONDS = 1
# The other periodic jobs stay out of the tests' way (once a year, on 1 January).
DEVIATIONS_CRON = EDIT_CHECKS_CRON = DIGEST_CRON = "0 0 1 1 *"
