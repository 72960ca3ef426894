"""Where a page sends the user back to: the ``next`` the request names, if it is ours.

A target taken from the request (a ``next`` field, the referrer) is followed only when
it is a URL of this site (``url_has_allowed_host_and_scheme``: same host, no other
scheme, no ``//evil`` or ``/\\evil`` that a browser reads as another host); anything
else falls back to the view's default. Issue 16: ``next=https://evil.example/`` on the
SAE acknowledgement answered ``Location: https://evil.example/``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def safe_target(request: HttpRequest, target: str) -> str | None:
    """``target`` when it is a path of this site, else None (a relative ``next`` such as
    ``dashboard`` would lead somewhere under the current page: refused too)."""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def redirect_next(
    request: HttpRequest, default: str, *args: Any, **kwargs: Any
) -> HttpResponseRedirect:
    """Redirect to the request's ``next`` (POST, else GET) when it is ours; else to the URL
    named ``default`` (reversed with ``args``/``kwargs``). A ``next`` is always a URL, never
    a view name."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = safe_target(request, target)
    if safe is not None:
        return HttpResponseRedirect(safe)
    return redirect(default, *args, **kwargs)
