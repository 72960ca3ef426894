"""`make run`: debug on, demo-friendly defaults, mail to the console."""

import os

os.environ.setdefault("SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SIGNATURE_KEY", "dev-only-signature-key-never-use-in-production-0123456789")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

from trialsite.settings.base import *  # noqa: E402,F403

# Serve static files straight from the source folders, even with DEBUG off.
WHITENOISE_USE_FINDERS = True
