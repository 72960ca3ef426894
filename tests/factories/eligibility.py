"""Screenings built through the real services."""

from __future__ import annotations

from datetime import date, timedelta

from eligibility import services
from eligibility.demo import build_screening
from eligibility.models import Screening, Sex

SCREENED_ON = date(2026, 11, 2)
DAY_0 = date(2026, 11, 20)


def make_screening(*, site, user=None, **fields) -> Screening:
    """A new, mostly empty screening (candidate section only)."""
    defaults = {
        "screening_date": SCREENED_ON,
        "date_of_birth": date(2015, 3, 14),
        "sex": Sex.FEMALE,
        "planned_day_0": DAY_0,
    }
    return services.screening_create(site=site, user=user, **{**defaults, **fields})


def make_eligible_screening(*, site, user=None, **overrides) -> Screening:
    """A screening with every item entered that comes out "eligible"."""
    screening_date = overrides.pop("screening_date", SCREENED_ON)
    return build_screening(
        site=site,
        user=user,
        screening_date=screening_date,
        planned_day_0=overrides.pop("planned_day_0", screening_date + timedelta(days=14)),
        **overrides,
    )
