"""`make test`: a throwaway database, fast hashing, mail kept in memory."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-insecure-key-0123456789-abcdefghijklmnop")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SIGNATURE_KEY", "test-only-signature-key-0123456789-abcdefghijklmnop")

from trialsite.settings.base import *  # noqa: E402,F403
from trialsite.settings.base import DATABASES, VAR_DIR  # noqa: E402

# Tests create their database and run migrations: they connect as the owner. The app
# role's privileges are granted at migrate time and checked in tests/test_db_roles.py.
DATABASES["default"] = {**DATABASES["owner"]}
DATABASES["default"].pop("TEST", None)

# Hashing cost is irrelevant in tests and dominates their run time otherwise.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The live server used by browser tests serves static files itself.
WHITENOISE_AUTOREFRESH = True

EXPORT_ROOT = VAR_DIR / "test-exports"

# Every clinical save by the app's code must be followed by its after-write steps
# (trialsite/workflow.py); tests/conftest.py checks it after each test.
WORKFLOW_CHECK = True
