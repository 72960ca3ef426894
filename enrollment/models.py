"""Consent and assent, participants, their status history.

Pseudonymised by design: no name of the child or the guardian is stored; the
guardian is identified by relationship only.
"""

from __future__ import annotations

from datetime import date

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from eligibility.models import Screening
from enrollment.rules import ACTIVE_STATUSES, DiscontinuationReason, ParticipantStatus
from trialsite.models import ClinicalRecord, GeneratedText, RecordKind, Site
from trialsite.reference_ranges import LabFacts


class ConsentKind(models.TextChoices):
    GUARDIAN_CONSENT = "consent", _("Guardian informed consent")
    CHILD_ASSENT = "assent", _("Child assent")


class GuardianRelationship(models.TextChoices):
    MOTHER = "mother", _("Mother")
    FATHER = "father", _("Father")
    GRANDPARENT = "grandparent", _("Grandparent")
    LEGAL_GUARDIAN = "legal_guardian", _("Legal guardian")
    OTHER = "other", _("Other")


@pghistory.track()
class ConsentFormVersion(models.Model):
    """An approved version of the consent or assent form."""

    kind = models.CharField(_("form"), max_length=10, choices=ConsentKind.choices)
    version = models.CharField(_("version"), max_length=30)
    effective_from = models.DateField(_("in use from"))
    requires_reconsent = models.BooleanField(
        _("participants must re-consent"),
        default=False,
        help_text=_("Participants whose latest consent is on an older version are flagged."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["kind", "effective_from"]
        verbose_name = _("consent form version")
        verbose_name_plural = _("consent form versions")
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="consent_form_unique_version")
        ]
        triggers = [pgtrigger.Protect(name="forbid_delete", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.version}"


@pghistory.track()
class Consent(ClinicalRecord):
    """Guardian consent or child assent, given for a screened candidate (and re-given later)."""

    screening = models.ForeignKey(
        Screening, verbose_name=_("screening"), on_delete=models.PROTECT, related_name="consents"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ConsentKind.choices)
    form_version = models.ForeignKey(
        ConsentFormVersion, verbose_name=_("form version"), on_delete=models.PROTECT
    )
    signed_on = models.DateField(_("date signed"))
    guardian_relationship = models.CharField(
        _("guardian's relationship to the child"),
        max_length=20,
        choices=GuardianRelationship.choices,
        blank=True,
    )
    obtained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person obtaining consent"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    site_field = "screening__site"

    class Meta(ClinicalRecord.Meta):
        ordering = ["signed_on", "pk"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            *ClinicalRecord.Meta.constraints,
            # A guardian consent names the guardian's relationship; an assent does not.
            models.CheckConstraint(
                condition=(
                    models.Q(kind=ConsentKind.CHILD_ASSENT, guardian_relationship="")
                    | (
                        models.Q(kind=ConsentKind.GUARDIAN_CONSENT)
                        & ~models.Q(guardian_relationship="")
                    )
                ),
                name="consent_relationship_only_for_guardian",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.form_version.version} {self.signed_on}"


@pghistory.track()
class Participant(ClinicalRecord):
    """An enrolled child, known by subject ID only."""

    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.PROTECT)
    sequence = models.PositiveIntegerField(_("sequence at site"), editable=False)
    subject_id = models.CharField(_("subject ID"), max_length=20, unique=True, editable=False)
    screening = models.OneToOneField(
        Screening, verbose_name=_("screening"), on_delete=models.PROTECT, related_name="participant"
    )
    enrolled_on = models.DateField(_("enrolment date"))
    planned_day_0 = models.DateField(
        _("planned Day 0"),
        help_text=_(
            "Planned date of the first rituximab infusion; Day 0 becomes the actual "
            "date once it is given."
        ),
    )
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("enrolled by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ParticipantStatus.choices,
        default=ParticipantStatus.ENROLLED,
    )

    record_kind = RecordKind.PARTICIPANT

    class Meta(ClinicalRecord.Meta):
        ordering = ["site__code", "sequence"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            *ClinicalRecord.Meta.constraints,
            models.UniqueConstraint(
                fields=["site", "sequence"], name="participant_unique_sequence"
            ),
        ]

    def __str__(self) -> str:
        return self.subject_id

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def takes_data(self) -> bool:
        """Data may still be entered (after consent withdrawal only safety follow-up)."""
        return self.status != ParticipantStatus.WITHDRAWN

    @property
    def day_0_can_move(self) -> bool:
        """The planned Day 0 can be moved until rituximab 1 is given (status "enrolled")."""
        return self.status == ParticipantStatus.ENROLLED

    @property
    def date_of_birth(self):
        return self.screening.date_of_birth

    @property
    def sex(self) -> str:
        return self.screening.sex

    def lab_facts(self, taken_on: date) -> LabFacts:
        """The facts that pick this child's reference ranges for a sample of ``taken_on``
        (the participant's site: the screening's, without reading it again)."""
        facts = self.screening.lab_facts(taken_on, site=self.site.code)
        return facts


@pghistory.track()
class StatusChange(ClinicalRecord, GeneratedText):
    """One step of a participant's status: who, when, why."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="status_changes"
    )
    from_status = models.CharField(
        _("from"), max_length=20, choices=ParticipantStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=20, choices=ParticipantStatus.choices)
    changed_on = models.DateField(_("date"))
    reason = models.TextField(_("reason"))
    discontinuation_reason = models.CharField(
        _("reason for discontinuation"),
        max_length=20,
        choices=DiscontinuationReason.choices,
        blank=True,
    )

    site_field = "participant__site"

    class Meta(ClinicalRecord.Meta):
        ordering = ["created_at", "pk"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        constraints = [
            *ClinicalRecord.Meta.constraints,
            models.CheckConstraint(
                condition=~models.Q(to_status=ParticipantStatus.DISCONTINUED)
                | ~models.Q(discontinuation_reason=""),
                name="discontinuation_needs_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} → {self.get_to_status_display()} ({self.changed_on})"


@pghistory.track()
class ConsentWithdrawal(ClinicalRecord):
    """The guardian withdrew consent: no further data except safety follow-up."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="withdrawal"
    )
    withdrawn_on = models.DateField(_("date of withdrawal"))
    data_may_be_kept = models.BooleanField(
        _("data collected so far may be kept"),
        help_text=_("As the guardian decided when withdrawing."),
    )
    notes = models.TextField(_("notes"), blank=True)

    site_field = "participant__site"

    class Meta(ClinicalRecord.Meta):
        verbose_name = _("consent withdrawal")
        verbose_name_plural = _("consent withdrawals")

    def __str__(self) -> str:
        return f"{self.participant} withdrew {self.withdrawn_on}"
