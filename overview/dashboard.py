"""What each role sees first: counts and work lists for the user's sites."""

from __future__ import annotations

from datetime import date
from typing import Any

from crf import selectors as crf_selectors
from dosing import selectors as dosing_selectors
from eligibility.selectors import screening_counts
from enrollment.selectors import enrolment_summary
from monitoring import selectors as monitoring_selectors
from trialsite import access
from trialsite.models import User


def for_user(user: User, today: date) -> dict[str, Any]:
    """The dashboard context; each app contributes its panel."""
    return {
        "sites": access.user_sites(user),
        "screening_counts": screening_counts(user),
        "enrolment": enrolment_summary(user, today),
        **dosing_selectors.dashboard_context(user, today),
        **crf_selectors.dashboard_context(user, today),
        **monitoring_selectors.dashboard_context(user, today),
    }
