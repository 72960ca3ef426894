"""Security events worth a log line of their own, and the client address behind proxies."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("trialsite.security")


def log_lockout(sender: object, *, username: str | None, ip_address: str | None, **kwargs) -> None:
    """django-axes locked a username+IP pair out after too many failed logins."""
    logger.warning("login locked out: username=%r ip=%s", username, ip_address)


def _meta_key(header: str) -> str:
    """``X-Forwarded-For`` (or ``HTTP_X_FORWARDED_FOR``) as a ``request.META`` key."""
    key = header.strip().upper().replace("-", "_")
    return key if key.startswith("HTTP_") else f"HTTP_{key}"


def axes_client_ip_settings(
    *, trusted_proxies: int, header: str = "X-Forwarded-For"
) -> dict[str, Any]:
    """django-axes settings (read through django-ipware) for the login client's address.

    ``trusted_proxies`` is the number of reverse proxies in front of the app (README
    "Configuration"). With none, the connection's address (``REMOTE_ADDR``) is the client
    and headers are ignored: a client could write them. Behind ``n`` proxies each appends
    the address it received the request from to ``header``; the client is the ``n``-th
    entry from the right, whatever a client put in front of it. python-ipware counts the
    proxies *listed in* the header, which is all but the last one (that one is
    ``REMOTE_ADDR``), hence ``n - 1``; not strict, so a forged prefix cannot shift it.
    """
    if trusted_proxies < 0:
        raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
    if trusted_proxies == 0:
        return {
            "AXES_IPWARE_PROXY_COUNT": None,
            "AXES_IPWARE_PROXY_ORDER": "left-most",
            "AXES_IPWARE_META_PRECEDENCE_ORDER": ("REMOTE_ADDR",),
            "IPWARE_STRICT": True,
        }
    return {
        "AXES_IPWARE_PROXY_COUNT": trusted_proxies - 1,
        "AXES_IPWARE_PROXY_ORDER": "left-most",
        "AXES_IPWARE_META_PRECEDENCE_ORDER": (_meta_key(header),),
        "IPWARE_STRICT": False,
    }
