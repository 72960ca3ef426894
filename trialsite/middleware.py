"""Session limits (issue 16, 21 CFR Part 11 §11.10(d)): no copy of an authenticated page
kept by a browser or proxy, and a session that ends after a fixed time however active.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _

# The session key holding when the session was first seen authenticated (epoch seconds).
SESSION_STARTED = "trialsite_session_started"
SESSION_TOO_OLD = _(
    "Your session reached its maximum length of %(hours)s hours: please log in again."
)


def session_started(sender: object, *, request: HttpRequest | None, **kwargs: object) -> None:
    """A login (user_logged_in) starts the session's absolute lifetime afresh, even when
    the session itself is kept (a user logging in again in the same browser)."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED] = int(time.time())


class NoStoreMiddleware:
    """``Cache-Control: no-store`` (and the other never-cache headers) on every response
    to a logged-in user: pages with participant data, casebooks and export files are
    never kept in a browser's or a proxy's cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response


class AbsoluteSessionMiddleware:
    """End a session ``SESSION_ABSOLUTE_HOURS`` after it started, whatever the activity
    (the idle timeout, SESSION_COOKIE_AGE, only ends an unused one)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            started = request.session.setdefault(SESSION_STARTED, now)
            hours = settings.SESSION_ABSOLUTE_HOURS
            if not isinstance(started, int) or now - started > hours * 3600:
                logout(request)
                messages.warning(request, SESSION_TOO_OLD % {"hours": hours})
                return redirect(settings.LOGIN_URL)
        return self.get_response(request)
