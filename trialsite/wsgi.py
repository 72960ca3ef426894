"""WSGI entry point (gunicorn trialsite.wsgi); production settings unless told otherwise."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings.production")

application = get_wsgi_application()

# Everything loaded at start-up (Django, the apps, every view module through the URLconf)
# lives as long as the process: keep Python's cyclic garbage collector from scanning it
# again at every full collection.  The pages that read thousands of rows (dashboard,
# outcome review) trigger several full collections per request, and scanning these
# long-lived objects took a quarter to a third of their time at 20,000 participants (issue 10).
# Objects a request creates are collected as before.
get_resolver().url_patterns  # noqa: B018 - imports the view modules now, not at the first request
gc.collect()
gc.freeze()
