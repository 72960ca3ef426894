"""Reads for notifications: what a user's digest holds today, the log, preferences.

The digest is computed when its job runs (never when it was queued), for the user's sites
only, through the selectors of the apps it reports on; the course of each participant is
read through one function of dosing (``dosing.selectors.digest_events``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from crf.models import SeriousAeAlert
from crf.selectors import CellStatus, visit_cells
from dosing.selectors import digest_events
from enrollment.models import Participant
from monitoring.models import DataQuery, QueryStatus
from notifications.models import DigestChoice, Notification, NotificationPreference
from trialsite import access
from trialsite.models import User
from trialsite.roles import Role

DIGEST_ROLES = (Role.COORDINATOR, Role.INVESTIGATOR)


@dataclass(frozen=True)
class DigestItem:
    subject_id: str
    site: str
    text: str
    on: date | None
    path: str  # the page to act on (a path; e-mails prefix SITE_URL)

    @property
    def url(self) -> str:
        return settings.SITE_URL + self.path


@dataclass
class Digest:
    due: list[DigestItem] = field(default_factory=list)
    missed: list[DigestItem] = field(default_factory=list)
    crfs_overdue: list[DigestItem] = field(default_factory=list)
    queries: list[DigestItem] = field(default_factory=list)
    saes: list[DigestItem] = field(default_factory=list)

    def sections(self) -> list[tuple[str, list[DigestItem]]]:
        return [
            ("due", self.due),
            ("missed", self.missed),
            ("crfs_overdue", self.crfs_overdue),
            ("queries", self.queries),
            ("saes", self.saes),
        ]

    @property
    def empty(self) -> bool:
        return not any(items for _name, items in self.sections())

    @property
    def count(self) -> int:
        return sum(len(items) for _name, items in self.sections())


def preference_for(user: User) -> NotificationPreference:
    """The user's stored choices, or the defaults (unsaved) when they made none."""
    found = NotificationPreference.objects.filter(user=user).first()
    return found or NotificationPreference(user=user)


def digest_recipients() -> QuerySet[User]:
    """Active coordinators and investigators who did not turn the digest off."""
    return (
        User.objects.filter(
            is_active=True, groups__name__in=[role.group_name for role in DIGEST_ROLES]
        )
        .exclude(notification_preference__digest=DigestChoice.NONE)
        .distinct()
        .order_by("pk")
    )


def _participant_path(participant: Participant) -> str:
    return reverse("participant_detail", args=[participant.subject_id])


def digest_for(user: User, today: date) -> Digest:
    """What ``user`` is reminded of on ``today``, at their sites only (active language)."""
    digest = Digest()
    participants = list(
        access.scoped(Participant.objects.active(), user)
        .select_related("site")
        .order_by("site__code", "sequence")
    )
    for event in digest_events(participants, today, settings.NOTIFICATIONS_HORIZON_DAYS):
        item = DigestItem(
            subject_id=event.participant.subject_id,
            site=event.participant.site.code,
            text=str(event.label),
            on=event.window_end if event.not_recorded else event.target,
            path=_participant_path(event.participant),
        )
        (digest.missed if event.not_recorded else digest.due).append(item)
    digest.crfs_overdue = _crfs_overdue(user, today)
    digest.queries = _old_queries(user, today)
    digest.saes = _saes_awaiting_review(user)
    return digest


def _crfs_overdue(user: User, today: date) -> list[DigestItem]:
    items = []
    for participant, cell in visit_cells(user, today).attention:
        if cell.status != CellStatus.OVERDUE:
            continue
        items.append(
            DigestItem(
                subject_id=participant.subject_id,
                site=participant.site.code,
                text=f"{cell.code}: {cell.title}",
                on=cell.visit.visit_date,
                path=cell.url,
            )
        )
    return items


def _old_queries(user: User, today: date) -> list[DigestItem]:
    # Open for more than N days: opened (local date) before today - N.
    opened_before = timezone.make_aware(
        datetime.combine(today - timedelta(days=settings.NOTIFICATIONS_QUERY_DAYS), time.min)
    )
    queries = (
        access.scoped(DataQuery.objects.all(), user)
        .filter(status=QueryStatus.OPEN, opened_at__lt=opened_before)
        .select_related("site", "participant", "screening")
        .order_by("opened_at", "pk")
    )
    return [
        DigestItem(
            subject_id=_query_subject(q),
            site=q.site.code,
            text=q.question[:200],
            on=timezone.localdate(q.opened_at),
            path=q.get_absolute_url(),
        )
        for q in queries
    ]


def _query_subject(query: DataQuery) -> str:
    if query.participant is not None:
        return query.participant.subject_id
    return query.screening.number if query.screening is not None else ""


def _saes_awaiting_review(user: User) -> list[DigestItem]:
    """Serious-AE alerts at the user's sites no investigator has acknowledged yet."""
    alerts = (
        access.scoped(SeriousAeAlert.objects.all(), user)
        .filter(adverse_event__voided_at__isnull=True)
        .exclude(acknowledgements__user__groups__name=Role.INVESTIGATOR.group_name)
        .select_related("adverse_event__participant__site")
        .order_by("raised_at", "pk")
    )
    return [
        DigestItem(
            subject_id=alert.adverse_event.participant.subject_id,
            site=alert.adverse_event.participant.site.code,
            text=alert.adverse_event.term,
            on=alert.adverse_event.onset_date,
            path=alert.adverse_event.get_absolute_url(),
        )
        for alert in alerts
    ]


def notifications_of(user: User) -> QuerySet[Notification]:
    """A user's own notifications, newest first (the in-app list)."""
    return Notification.objects.filter(recipient=user).select_related("participant")


def notification_log(*, status: str = "", kind: str = "") -> QuerySet[Notification]:
    """Every notification (data managers), newest first, optionally filtered."""
    log = Notification.objects.select_related("recipient", "participant")
    if status:
        log = log.filter(status=status)
    if kind:
        log = log.filter(kind=kind)
    return log
