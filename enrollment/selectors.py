"""Reads for participants: lists, the participant page, re-consent flags."""

from __future__ import annotations

from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet

from eligibility.criteria import assent_birth_date_limit
from enrollment.models import Consent, ConsentFormVersion, ConsentKind, Participant
from enrollment.rules import ACTIVE_STATUSES
from trialsite import access
from trialsite.models import Site, User


def participant_list(
    user: User,
    *,
    q: str = "",
    status: str = "",
    site: Site | None = None,
    awaiting_reconsent_on: date | None = None,
) -> QuerySet[Participant]:
    """The participants at the user's sites, narrowed by the list's filters.

    ``site`` narrows to one site (still within the user's sites: the access layer
    scopes first); ``awaiting_reconsent_on`` keeps those flagged for re-consent.
    """
    participants = access.scoped(Participant.objects.select_related("site", "screening"), user)
    if q:
        participants = participants.filter(subject_id__icontains=q.strip())
    if status:
        participants = participants.filter(status=status)
    if site is not None:
        participants = participants.filter(site=site)
    if awaiting_reconsent_on is not None:
        participants = awaiting_reconsent(participants, today=awaiting_reconsent_on)
    return participants.order_by("site__code", "sequence")


def consent_form_versions() -> QuerySet[ConsentFormVersion]:
    """Every registered version, newest first within each form."""
    return ConsentFormVersion.objects.select_related("registered_by").order_by(
        "kind", "-effective_from", "-pk"
    )


def latest_consent_form_version(kind: str) -> ConsentFormVersion | None:
    """The version of ``kind``'s form that came into use last."""
    return ConsentFormVersion.objects.filter(kind=kind).order_by("effective_from", "pk").last()


def current_consent_versions() -> dict[str, ConsentFormVersion]:
    """The newest version of each form that requires re-consent, by kind."""
    latest: dict[str, ConsentFormVersion] = {}
    for version in ConsentFormVersion.objects.filter(requires_reconsent=True).order_by(
        "effective_from", "pk"
    ):
        latest[version.kind] = version
    return latest


def _awaits(version: ConsentFormVersion, today: date) -> Q:
    """Participants who still have to (re-)consent on ``version``.

    Consent on ``version`` itself, or on a version of the same form that came into use
    after it, clears the flag. Guardian consent: every participant. Child assent (INC4,
    from age 8): the children old enough to assent today, and any who assented before.
    """
    same_form = Consent.objects.filter(
        screening=OuterRef("screening"), kind=version.kind, voided_at__isnull=True
    )
    signed_current = same_form.filter(
        Q(form_version=version) | Q(form_version__effective_from__gt=version.effective_from)
    )
    condition = ~Exists(signed_current)
    if version.kind == ConsentKind.CHILD_ASSENT:
        condition &= Q(screening__date_of_birth__lte=assent_birth_date_limit(today)) | Exists(
            same_form
        )
    return condition


def awaiting_reconsent(
    participants: QuerySet[Participant], *, today: date, versions=None
) -> QuerySet[Participant]:
    """The enrolled, still-active participants of ``participants`` flagged for re-consent."""
    versions = current_consent_versions() if versions is None else versions
    if not versions:
        return participants.none()
    flagged = Q()
    for version in versions.values():
        flagged |= _awaits(version, today)
    return participants.filter(flagged, status__in=ACTIVE_STATUSES, voided_at__isnull=True)


def reconsent_needed(participant: Participant, *, today: date) -> list[str]:
    """The form versions this participant still has to re-consent on (active participants)."""
    if not participant.is_active or participant.is_voided:
        return []
    one = Participant.objects.filter(pk=participant.pk)
    return [
        str(version)
        for version in current_consent_versions().values()
        if one.filter(_awaits(version, today)).exists()
    ]


def enrolment_summary(user: User, today: date) -> dict[str, object]:
    """Participants at the user's sites by status, those awaiting re-consent, and the
    trial-wide ENR1 count."""
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
        "awaiting_reconsent": awaiting_reconsent(
            access.scoped(Participant.objects.all(), user), today=today
        ).count(),
        "trial_enrolled": Participant.objects.active().count(),
        "cap": protocol.ENROLMENT_CAP,
    }
