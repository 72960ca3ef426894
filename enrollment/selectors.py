"""Reads for participants: lists, the participant page, re-consent flags."""

from __future__ import annotations

from django.db.models import QuerySet

from enrollment.models import Consent, ConsentFormVersion, ConsentKind, Participant
from trialsite import access
from trialsite.models import User


def participant_list(user: User, *, q: str = "", status: str = "") -> QuerySet[Participant]:
    participants = access.scoped(Participant.objects.select_related("site", "screening"), user)
    if q:
        participants = participants.filter(subject_id__icontains=q.strip())
    if status:
        participants = participants.filter(status=status)
    return participants.order_by("site__code", "sequence")


def current_consent_versions() -> dict[str, ConsentFormVersion]:
    """The newest version of each form that requires re-consent, by kind."""
    latest: dict[str, ConsentFormVersion] = {}
    for version in ConsentFormVersion.objects.filter(requires_reconsent=True).order_by(
        "effective_from"
    ):
        latest[version.kind] = version
    return latest


def reconsent_needed(participant: Participant, consents: list[Consent] | None = None) -> list[str]:
    """The form versions this participant still has to re-consent on (active participants)."""
    if not participant.is_active:
        return []
    if consents is None:
        consents = list(participant.screening.consents.select_related("form_version"))
    wanted = current_consent_versions()
    missing = []
    for kind, version in wanted.items():
        if kind == ConsentKind.CHILD_ASSENT and not any(
            c.kind == ConsentKind.CHILD_ASSENT for c in consents
        ):
            continue  # assent was not required for this child
        signed = {c.form_version_id for c in consents if c.kind == kind and not c.is_voided}
        if version.pk not in signed:
            missing.append(str(version))
    return missing


def enrolment_summary(user: User) -> dict[str, object]:
    """Participants at the user's sites by status, and the trial-wide ENR1 count."""
    from django.db.models import Count

    from trialsite import protocol

    rows = (
        access.scoped(Participant.objects.active(), user)
        .values("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_status = {row["status"]: row["n"] for row in rows}
    return {
        "by_status": by_status,
        "total": sum(by_status.values()),
        "trial_enrolled": Participant.objects.active().count(),
        "cap": protocol.ENROLMENT_CAP,
    }
