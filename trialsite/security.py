"""Security events worth a log line of their own."""

from __future__ import annotations

import logging

logger = logging.getLogger("trialsite.security")


def log_lockout(sender: object, *, username: str | None, ip_address: str | None, **kwargs) -> None:
    """django-axes locked a username+IP pair out after too many failed logins."""
    logger.warning("login locked out: username=%r ip=%s", username, ip_address)
