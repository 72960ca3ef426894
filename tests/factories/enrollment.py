"""Consents and participants built through the real services."""

from __future__ import annotations

from datetime import date, timedelta

from enrollment.demo import enrol_candidate, ready_to_enrol
from tests.factories.trialsite import PASSWORD


def make_ready_screening(*, site, coordinator, investigator, day_0=date(2026, 11, 20), **kw):
    """Eligible, signed by ``investigator``, guardian consent (and assent) recorded."""
    return ready_to_enrol(
        site=site,
        coordinator=coordinator,
        investigator=investigator,
        investigator_password=PASSWORD,
        day_0=day_0,
        **kw,
    )


def make_participant(*, site, coordinator, investigator, day_0=date(2026, 11, 20), **kw):
    return enrol_candidate(
        site=site,
        coordinator=coordinator,
        investigator=investigator,
        investigator_password=PASSWORD,
        day_0=day_0,
        **kw,
    )


def days_before(day: date, n: int) -> date:
    return day - timedelta(days=n)
