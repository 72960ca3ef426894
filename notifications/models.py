"""Notifications: what the app told whom, by e-mail, and each user's choices.

Every notification is a row of the log (audited like the clinical tables): queued in the
transaction that causes it, then sent by a worker (notifications/tasks.py), which records
each attempt. A row is never deleted.
"""

from __future__ import annotations

from typing import ClassVar

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialsite.models import GeneratedText


class NotificationKind(models.TextChoices):
    SAE_ALERT = "sae_alert", _("Serious adverse event alert")
    DIGEST = "digest", _("Daily reminder digest")


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # A digest whose every item was done by the time its job ran: nothing was sent.
    NOTHING_DUE = "nothing_due", _("Nothing left to remind")


class DigestChoice(models.TextChoices):
    DAILY = "daily", _("A daily digest of what is due")
    NONE = "none", _("No reminders")


@pghistory.track()
class NotificationPreference(models.Model):
    """A user's choices: the language of their e-mails and whether they get the digest.

    Serious-AE alerts are always sent (they cannot be turned off). Without a language, an
    alert carries both interface languages and the digest is in LANGUAGE_CODE.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="notification_preference",
    )
    language = models.CharField(
        _("language of e-mails"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    digest = models.CharField(
        _("reminders"), max_length=10, choices=DigestChoice.choices, default=DigestChoice.DAILY
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        triggers = [pgtrigger.Protect(name="forbid_delete", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.user}: {self.language or '-'}, {self.digest}"


@pghistory.track()
class Notification(GeneratedText):
    """One message to one user: a serious-AE alert or a day's reminder digest."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    participant = models.ForeignKey(
        "enrollment.Participant",
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    sae_alert = models.ForeignKey(
        "crf.SeriousAeAlert",
        verbose_name=_("serious adverse event alert"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    digest_date = models.DateField(_("digest of"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("text"), blank=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=NotificationStatus.choices,
        default=NotificationStatus.QUEUED,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    site_field: ClassVar[str] = "recipient__sites"

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        triggers = [pgtrigger.Protect(name="forbid_delete", operation=pgtrigger.Delete)]
        constraints = [
            # Exactly once: one alert e-mail per recipient, one digest per user and day.
            models.UniqueConstraint(
                fields=["recipient", "sae_alert"],
                condition=models.Q(sae_alert__isnull=False),
                name="notification_one_per_alert_recipient",
            ),
            models.UniqueConstraint(
                fields=["recipient", "digest_date"],
                condition=models.Q(kind="digest"),
                name="notification_one_digest_per_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient} ({self.status})"
