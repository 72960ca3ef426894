"""Settings of the app servers `make bench` measures: production-like, plus measurement.

* The database is a generated one (``BENCH_DATABASE_NAME``, made by
  ``manage.py generate_load_data``) on the configured server, never the demo database.
* ``ServerTimingMiddleware`` (outermost) adds the server time and the number of SQL
  queries of each request as response headers, for the load generator to read.
* ``bench/floor/`` is the floor the pages are measured against: a trivial page behind
  the same middleware, login and page layout (``bench.views.floor``).

HTTPS redirects and secure cookies stay off (plain HTTP on 127.0.0.1); everything else
that shapes a request's cost is as in production: DEBUG off, database sessions, axes,
CSP, WhiteNoise, the audit middleware, the app's database role.
"""

import os

os.environ.setdefault("SECRET_KEY", "bench-only-insecure-key-0123456789-abcdefghijklmnopq")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SIGNATURE_KEY", "bench-only-signature-key-0123456789-abcdefghijklmnop")

from trialsite.settings.base import *  # noqa: E402,F403
from trialsite.settings.base import DATABASES, MIDDLEWARE, VAR_DIR, env  # noqa: E402

BENCH_DATABASE_NAME = env.str("BENCH_DATABASE_NAME", default="")
if BENCH_DATABASE_NAME:
    for _alias in DATABASES.values():
        _alias["NAME"] = BENCH_DATABASE_NAME

ROOT_URLCONF = "bench.urls"
MIDDLEWARE = ["bench.middleware.ServerTimingMiddleware", *MIDDLEWARE]
EXPORT_ROOT = VAR_DIR / "bench" / "exports"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
