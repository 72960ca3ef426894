"""Notification writes: queue in the causing transaction, deliver from a worker.

Delivery is recorded on the notification row, which the sending job holds locked while it
talks to the mail server: a retry, a second worker or a stalled-job rerun finds it "sent"
and sends nothing. (The one window left: the mail server accepted the message and the
worker died before its commit; the message is then sent again. Nothing is ever lost.)
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from crf.models import SeriousAeAlert
from notifications import messages
from notifications.models import (
    DigestChoice,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationStatus,
)
from notifications.selectors import digest_for, digest_recipients, preference_for
from trialsite.audit import audit_context
from trialsite.models import User

logger = logging.getLogger(__name__)

NO_ADDRESS = _("The recipient has no e-mail address.")
UNKNOWN_LANGUAGE = _("Choose one of the interface languages.")


class DeliveryFailed(Exception):
    """The mail server refused or could not be reached; the job is retried."""


@transaction.atomic
def preference_save(*, user: User, language: str, digest: str) -> NotificationPreference:
    """Store the user's e-mail language and reminder choice (alerts cannot be turned off)."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": UNKNOWN_LANGUAGE}, code="language")
    preference = preference_for(user)
    preference.language, preference.digest = language, DigestChoice(digest)
    preference.full_clean()
    with audit_context(user, _("notification preferences")):
        preference.save()
    return preference


def sae_alert_queue(alert: SeriousAeAlert) -> list[Notification]:
    """One e-mail per recipient of the alert, queued in the alert's own transaction."""
    from notifications.tasks import deliver_notification

    queued = []
    with (
        transaction.atomic(savepoint=False),
        audit_context(alert.raised_by, _("serious adverse event alert queued")),
    ):
        for user in alert.recipients.order_by("pk"):
            language = preference_for(user).language
            subject, _body = messages.in_languages(
                language, lambda: messages.sae_alert_text(alert), all_when_unset=True
            )
            notification = Notification.objects.create(
                recipient=user,
                kind=NotificationKind.SAE_ALERT,
                participant=alert.adverse_event.participant,
                sae_alert=alert,
                subject=subject[:300],
            )
            deliver_notification.configure(lock=notification_lock(notification.pk)).defer(
                notification_id=notification.pk
            )
            queued.append(notification)
    return queued


def notification_lock(pk: int) -> str:
    return f"notification:{pk}"


def _render(notification: Notification) -> tuple[str, str]:
    language = preference_for(notification.recipient).language
    alert = SeriousAeAlert.objects.select_related(
        "adverse_event__participant__site", "raised_by"
    ).get(pk=notification.sae_alert_id)
    return messages.in_languages(
        language, lambda: messages.sae_alert_text(alert), all_when_unset=True
    )


def notification_deliver(*, notification_id: int, now: datetime) -> bool:
    """Send a queued alert e-mail once; True if it was sent now.

    Raises DeliveryFailed (after recording the attempt and the error) when the mail
    server fails, so that the job is retried.
    """
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.status == NotificationStatus.SENT:
            return False  # sent by an earlier run (or never committed)
        subject, body = _render(notification)
        error = _send(notification, subject, body, now=now)
        if error is None and notification.sae_alert_id:
            _mark_alert_emailed(notification.sae_alert_id, now)
    if error is not None and notification.recipient.email:
        raise DeliveryFailed(error)  # no address: retrying would not help
    return error is None


def _send(notification: Notification, subject: str, body: str, *, now: datetime) -> str | None:
    """Try the mail server once and record the outcome on the row; the error, if any."""
    notification.attempts += 1
    notification.subject, notification.body = subject[:300], body
    address = notification.recipient.email
    error = None
    if not address:
        error = str(NO_ADDRESS)
    else:
        try:
            EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address]).send()
        except Exception as exc:  # any failure of the mail server: recorded, then retried
            error = f"{type(exc).__name__}: {exc}"
    if error is None:
        notification.status, notification.sent_at, notification.last_error = (
            NotificationStatus.SENT,
            now,
            "",
        )
        reason = _("notification sent")
    else:
        notification.status, notification.last_error = NotificationStatus.FAILED, error
        reason = _("notification failed")
        logger.warning("notification %s not sent: %s", notification.pk, error)
    with audit_context(None, reason):
        notification.save()
    return error


def _mark_alert_emailed(alert_id: int, now: datetime) -> None:
    """The alert counts as e-mailed once its first recipient got it."""
    with audit_context(None, _("serious adverse event alert e-mailed")):
        SeriousAeAlert.objects.filter(pk=alert_id, emailed_at__isnull=True).update(emailed_at=now)


def digests_queue(*, day: date) -> int:
    """Queue one digest job per user who wants one (the daily periodic job)."""
    from notifications.tasks import send_digest

    queued = 0
    for user in digest_recipients():
        send_digest.configure(queueing_lock=f"digest:{user.pk}:{day.isoformat()}").defer(
            user_id=user.pk, day=day.isoformat()
        )
        queued += 1
    return queued


def digest_send(*, user_id: int, day: date, now: datetime) -> Notification | None:
    """Build the user's digest now (what is still due when the job runs) and send it once.

    Nothing due: nothing is sent (and a digest queued earlier that day is marked so).
    Raises DeliveryFailed when the mail server fails: the job runs again, and the next run
    builds the digest afresh.
    """
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    preference = preference_for(user)
    if preference.digest == DigestChoice.NONE:
        return None
    with transaction.atomic():
        notification, _created = Notification.objects.select_for_update().get_or_create(
            recipient=user, kind=NotificationKind.DIGEST, digest_date=day
        )
        if notification.status in (NotificationStatus.SENT,):
            return notification
        with translation.override(preference.language or settings.LANGUAGE_CODE):
            digest = digest_for(user, day)
            if digest.empty:
                notification.status = NotificationStatus.NOTHING_DUE
                with audit_context(None, _("notification: nothing due")):
                    notification.save()
                return notification
            subject, body = messages.digest_text(
                digest, name=user.get_full_name() or user.username, day=day
            )
        error = _send(notification, subject, body, now=now)
    if error is not None and user.email:
        raise DeliveryFailed(error)
    return notification
