"""Enrolment rules as pure functions: participant status transitions.

Whether a child must assent (INC4) is ``eligibility.criteria.assent_required``."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class ParticipantStatus(models.TextChoices):
    ENROLLED = "enrolled", gettext_lazy("Enrolled")
    RITUXIMAB = "rituximab", gettext_lazy("Rituximab phase")
    BELIMUMAB = "belimumab", gettext_lazy("Belimumab phase")
    COMPLETED = "completed", gettext_lazy("Completed")
    WITHDRAWN = "withdrawn", gettext_lazy("Withdrawn (consent withdrawn)")
    DISCONTINUED = "discontinued", gettext_lazy("Discontinued")


class DiscontinuationReason(models.TextChoices):
    LAB_GATE = "exc10_exc11", gettext_lazy("EXC10/EXC11 laboratory gate before belimumab")
    ADVERSE_EVENT = "adverse_event", gettext_lazy("Adverse event")
    INVESTIGATOR_DECISION = "investigator", gettext_lazy("Investigator decision")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", gettext_lazy("Lost to follow-up")
    OTHER = "other", gettext_lazy("Other")


ACTIVE_STATUSES = frozenset(
    {ParticipantStatus.ENROLLED, ParticipantStatus.RITUXIMAB, ParticipantStatus.BELIMUMAB}
)

# The treatment path, plus withdrawal or discontinuation from any active state.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    ParticipantStatus.ENROLLED: frozenset({ParticipantStatus.RITUXIMAB}),
    ParticipantStatus.RITUXIMAB: frozenset({ParticipantStatus.BELIMUMAB}),
    ParticipantStatus.BELIMUMAB: frozenset({ParticipantStatus.COMPLETED}),
    ParticipantStatus.COMPLETED: frozenset(),
    ParticipantStatus.WITHDRAWN: frozenset(),
    ParticipantStatus.DISCONTINUED: frozenset(),
}
for _active in ACTIVE_STATUSES:
    ALLOWED_TRANSITIONS[_active] = ALLOWED_TRANSITIONS[_active] | {
        ParticipantStatus.WITHDRAWN,
        ParticipantStatus.DISCONTINUED,
    }


def transition_refusal(current: str, target: str) -> str | None:
    """Why ``current -> target`` is not allowed, or None when it is."""
    if target in ALLOWED_TRANSITIONS.get(current, frozenset()):
        return None
    labels = dict(ParticipantStatus.choices)
    allowed = sorted(str(labels[s]) for s in ALLOWED_TRANSITIONS.get(current, frozenset()))
    return _(
        "A participant cannot go from “%(current)s” to “%(target)s”. Allowed next: %(allowed)s."
    ) % {
        "current": labels.get(current, current),
        "target": labels.get(target, target),
        "allowed": ", ".join(allowed) or _("none (final status)"),
    }
