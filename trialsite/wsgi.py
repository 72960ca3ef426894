"""WSGI entry point (gunicorn trialsite.wsgi); production settings unless told otherwise."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings.production")

application = get_wsgi_application()
