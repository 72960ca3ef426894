"""Monitoring and data quality (issue 8): data queries, source data verification, locks and
investigator sign-offs.

None of these is participant data: they are *about* participant data (any ``ClinicalRecord``,
reached through a generic key), so they are not ``ClinicalRecord`` themselves and are never
locked or exported as CRFs.  Every table is audited by pghistory triggers and refuses
``DELETE``; each state change is an update the trail records with who and why.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dosing.models import Visit
from eligibility.models import Screening
from enrollment.models import Participant
from trialsite.models import GeneratedText, SignatureMeaning, Site

_FORBID_DELETE = pgtrigger.Protect(name="forbid_delete", operation=pgtrigger.Delete)


# --- Data queries ------------------------------------------------------------------------


class QueryStatus(models.TextChoices):
    OPEN = "open", _("open")
    ANSWERED = "answered", _("answered")
    CLOSED = "closed", _("closed")


# Not closed: the site or the monitor still has something to do.
UNRESOLVED = (QueryStatus.OPEN, QueryStatus.ANSWERED)


@pghistory.track()
class DataQuery(GeneratedText):
    """A question about one field of a record (or the whole record), until it is closed.

    Opened by a monitor or a data manager, or by an automatic edit check
    (``opened_by`` empty, ``rule_code`` set); answered by the site; closed or re-opened
    by the opening side.  The conversation is in ``QueryMessage``.
    """

    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.PROTECT)
    # Where the record sits, kept so lists and badges read in one query per page.
    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    screening = models.ForeignKey(
        Screening,
        verbose_name=_("screening"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    visit = models.ForeignKey(
        Visit,
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    field_name = models.CharField(
        _("field"), max_length=60, blank=True, help_text=_("Empty: the whole form.")
    )
    question = models.TextField(_("question"))
    status = models.CharField(
        _("status"), max_length=10, choices=QueryStatus.choices, default=QueryStatus.OPEN
    )
    # Automatic edit checks (monitoring/edit_checks.py): the rule and what it saw.
    rule_code = models.CharField(_("edit check"), max_length=30, blank=True)
    rule_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    site_field: ClassVar[str] = "site"

    class Meta:
        ordering = ["opened_at", "pk"]
        verbose_name = _("data query")
        verbose_name_plural = _("data queries")
        indexes = [
            models.Index(fields=["content_type", "object_id"]),
            models.Index(fields=["site", "status"]),
            models.Index(fields=["participant", "status"]),
        ]
        constraints = [
            # Edit checks are idempotent: one unresolved query per rule and target.
            models.UniqueConstraint(
                fields=["rule_code", "content_type", "object_id", "field_name"],
                condition=~models.Q(rule_code="") & ~models.Q(status=QueryStatus.CLOSED),
                name="query_one_unresolved_per_rule_and_target",
            ),
            models.CheckConstraint(
                condition=models.Q(status=QueryStatus.CLOSED, closed_at__isnull=False)
                | (~models.Q(status=QueryStatus.CLOSED) & models.Q(closed_at__isnull=True)),
                name="query_closed_iff_closed_at",
            ),
            # A person's query names them; only an edit check opens one without a person.
            models.CheckConstraint(
                condition=models.Q(opened_by__isnull=False) | ~models.Q(rule_code=""),
                name="query_has_an_opener",
            ),
            models.CheckConstraint(condition=~models.Q(question=""), name="query_has_a_question"),
        ]
        triggers = [_FORBID_DELETE]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("monitoring:query", args=[self.pk])

    @property
    def is_automatic(self) -> bool:
        return bool(self.rule_code)

    @property
    def is_unresolved(self) -> bool:
        return self.status in UNRESOLVED

    @property
    def opener_display(self) -> str:
        if self.opened_by is None:
            return str(_("automatic check %(code)s") % {"code": self.rule_code})
        return self.opened_by.printed_name

    def age_days(self, today) -> int:
        """Whole days since the query was opened (PROTOCOL.md "Time": local dates)."""
        return (today - timezone.localdate(self.opened_at)).days

    @property
    def field_label(self) -> str:
        if not self.field_name:
            return str(_("whole form"))
        model = self.content_type.model_class()
        try:
            return str(model._meta.get_field(self.field_name).verbose_name)
        except Exception:  # a field renamed since: show what was queried
            return self.field_name


class MessageKind(models.TextChoices):
    QUESTION = "question", _("question")
    ANSWER = "answer", _("answer")
    CLOSE = "close", _("closed")
    REOPEN = "reopen", _("re-opened")


@pghistory.track()
class QueryMessage(GeneratedText):
    """One step of a query's conversation; never edited, never deleted."""

    query = models.ForeignKey(
        DataQuery, verbose_name=_("query"), on_delete=models.PROTECT, related_name="messages"
    )
    kind = models.CharField(_("step"), max_length=10, choices=MessageKind.choices)
    text = models.TextField(_("text"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    # An answer given by correcting the data: the record's version after the correction.
    correction_version = models.PositiveIntegerField(
        _("version after the correction"), null=True, blank=True
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("query message")
        verbose_name_plural = _("query messages")
        triggers = [
            _FORBID_DELETE,
            pgtrigger.Protect(name="forbid_update", operation=pgtrigger.Update),
        ]

    def __str__(self) -> str:
        return f"{self.query} {self.kind}"

    @property
    def author_display(self) -> str:
        if self.author is None:
            return str(_("automatic check"))
        return self.author.printed_name


# --- Source data verification ------------------------------------------------------------


@pghistory.track()
class Verification(models.Model):
    """A monitor checked one field of a record against the source document.

    ``value_hash`` binds the verification to the value seen (like a signature to its
    data): when the value changes, through the app or not, the verification no longer
    holds; a change saved through the app also records it as cleared, with what changed.
    """

    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.PROTECT)
    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    visit = models.ForeignKey(
        Visit,
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    field_name = models.CharField(_("field"), max_length=60)
    verified_value = models.TextField(_("value verified"), blank=True)
    value_hash = models.CharField(_("hash of the verified value"), max_length=64)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    verified_at = models.DateTimeField(_("verified at"), default=timezone.now)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cleared by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    cleared_reason = models.TextField(_("why the verification was cleared"), blank=True)

    site_field: ClassVar[str] = "site"

    class Meta:
        ordering = ["verified_at", "pk"]
        verbose_name = _("source data verification")
        verbose_name_plural = _("source data verifications")
        indexes = [
            models.Index(fields=["content_type", "object_id"]),
            models.Index(fields=["participant"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "field_name"],
                condition=models.Q(cleared_at__isnull=True),
                name="verification_one_current_per_field",
            ),
            models.CheckConstraint(
                condition=models.Q(cleared_at__isnull=True) | ~models.Q(cleared_reason=""),
                name="verification_cleared_with_reason",
            ),
        ]
        triggers = [_FORBID_DELETE]

    def __str__(self) -> str:
        return f"SDV {self.content_type.model} #{self.object_id}.{self.field_name}"


# --- Locks ---------------------------------------------------------------------------------


class LockScope(models.TextChoices):
    PARTICIPANT = "participant", _("whole participant")
    VISIT = "visit", _("visit")
    FORM = "form", _("form")


@pghistory.track()
class Lock(models.Model):
    """A data manager made data read-only for everyone until it is unlocked (with a reason).

    A form is either a visit's form of one kind (``visit`` + ``form_kind``: the lab panel,
    the vitals, ...) or one record outside visits (an adverse event, a medication).
    The save path refuses every change to locked data (``monitoring.hooks``).
    """

    scope = models.CharField(_("what is locked"), max_length=12, choices=LockScope.choices)
    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.PROTECT)
    participant = models.ForeignKey(
        Participant, verbose_name=_("participant"), on_delete=models.PROTECT, related_name="+"
    )
    visit = models.ForeignKey(
        Visit,
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    form_kind = models.CharField(_("form"), max_length=30, blank=True)
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    reason = models.TextField(_("reason for locking"), blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("locked by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    locked_at = models.DateTimeField(_("locked at"), default=timezone.now)
    unlocked_at = models.DateTimeField(_("unlocked at"), null=True, blank=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("unlocked by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    unlock_reason = models.TextField(_("reason for unlocking"), blank=True)

    site_field: ClassVar[str] = "site"

    class Meta:
        ordering = ["locked_at", "pk"]
        verbose_name = _("lock")
        verbose_name_plural = _("locks")
        indexes = [models.Index(fields=["participant", "unlocked_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["participant"],
                condition=models.Q(scope="participant", unlocked_at__isnull=True),
                name="lock_one_current_per_participant",
            ),
            models.UniqueConstraint(
                fields=["visit"],
                condition=models.Q(scope="visit", unlocked_at__isnull=True),
                name="lock_one_current_per_visit",
            ),
            models.UniqueConstraint(
                fields=["visit", "form_kind"],
                condition=models.Q(scope="form", unlocked_at__isnull=True, visit__isnull=False),
                name="lock_one_current_per_visit_form",
            ),
            models.UniqueConstraint(
                fields=["content_type", "object_id"],
                condition=models.Q(scope="form", unlocked_at__isnull=True, visit__isnull=True),
                name="lock_one_current_per_record",
            ),
            models.CheckConstraint(
                condition=models.Q(scope="participant", visit__isnull=True, form_kind="")
                | models.Q(scope="visit", visit__isnull=False, form_kind="")
                | models.Q(
                    scope="form", visit__isnull=False, object_id__isnull=True, form_kind__gt=""
                )
                | models.Q(
                    scope="form",
                    visit__isnull=True,
                    content_type__isnull=False,
                    object_id__isnull=False,
                ),
                name="lock_target_matches_scope",
            ),
            models.CheckConstraint(
                condition=models.Q(unlocked_at__isnull=True) | ~models.Q(unlock_reason=""),
                name="lock_unlocked_with_reason",
            ),
        ]
        triggers = [_FORBID_DELETE]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.participant_id} ({self.locked_at:%Y-%m-%d})"

    @property
    def is_active(self) -> bool:
        return self.unlocked_at is None


# --- Investigator sign-off -----------------------------------------------------------------


class SignoffKind(models.TextChoices):
    VISIT = "visit", _("visit")
    CASEBOOK = "casebook", _("casebook")


@pghistory.track()
class Signoff(models.Model):
    """What an investigator signs off: a visit's CRFs, or a participant's whole casebook.

    The e-signatures (``trialsite.Signature``) point here; their hash is over
    ``signature_payload()``, i.e. every stored value of the visit or casebook, so any later
    change, through the app or raw SQL, shows the signature as void.
    """

    kind = models.CharField(_("sign-off of"), max_length=10, choices=SignoffKind.choices)
    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.PROTECT)
    participant = models.ForeignKey(
        Participant, verbose_name=_("participant"), on_delete=models.PROTECT, related_name="+"
    )
    visit = models.ForeignKey(
        Visit,
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    site_field: ClassVar[str] = "site"

    class Meta:
        ordering = ["participant", "kind", "pk"]
        verbose_name = _("investigator sign-off")
        verbose_name_plural = _("investigator sign-offs")
        constraints = [
            models.UniqueConstraint(
                fields=["visit"], condition=models.Q(kind="visit"), name="signoff_one_per_visit"
            ),
            models.UniqueConstraint(
                fields=["participant"],
                condition=models.Q(kind="casebook"),
                name="signoff_one_casebook_per_participant",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="visit", visit__isnull=False)
                | models.Q(kind="casebook", visit__isnull=True),
                name="signoff_visit_iff_visit_kind",
            ),
        ]
        triggers = [_FORBID_DELETE]

    def __str__(self) -> str:
        if self.kind == SignoffKind.VISIT:
            return f"{self.participant} {self.visit.visit_code}"
        return f"{self.participant} casebook"

    @property
    def meaning(self) -> SignatureMeaning:
        return (
            SignatureMeaning.VISIT if self.kind == SignoffKind.VISIT else SignatureMeaning.CASEBOOK
        )

    def signature_payload(self) -> dict[str, Any]:
        """Every stored value the signer vouches for (trialsite.signatures)."""
        from monitoring import payloads

        if self.kind == SignoffKind.VISIT:
            return payloads.visit_payload(self.visit)
        return payloads.casebook_payload(self.participant)
