"""Dosing and visits: what actually happened.  The treatment engine (``dosing.engine``) derives
the course from these facts; its codes (drug, units, deviation categories) are the ones
stored here."""

from __future__ import annotations

from typing import Any, ClassVar

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from dosing import engine
from dosing.engine.facts import AbsoluteCountUnit, DeviationCategory, Drug
from enrollment.models import Participant
from trialsite import units
from trialsite.models import ClinicalRecord, GeneratedText, RecordKind, value_checked_field
from trialsite.reference_ranges import LabFlag, Significance
from trialsite.units import LabTest


class VisitKind(models.TextChoices):
    BASELINE = "baseline", _("Baseline (Day 0)")
    INFUSION = "infusion", _("Infusion visit")
    ASSESSMENT = "assessment", _("Assessment visit (week 12 / week 28)")
    UNSCHEDULED = "unscheduled", _("Unscheduled visit")


@pghistory.track()
class Visit(ClinicalRecord):
    """A visit that took place. CRFs (vitals, labs, ESSDAI, ...) hang off it.

    ``visit_code`` is the schedule's code: BASELINE, RTX1..RTX4, BEL1..BELn,
    W12, W28, or UNS1, UNS2, ... for unscheduled visits.
    """

    participant = models.ForeignKey(
        Participant, verbose_name=_("participant"), on_delete=models.PROTECT, related_name="visits"
    )
    visit_code = models.CharField(_("visit"), max_length=10)
    kind = models.CharField(_("kind of visit"), max_length=12, choices=VisitKind.choices)
    visit_date = models.DateField(_("visit date"))
    out_of_window_explanation = models.TextField(_("explanation if out of window"), blank=True)

    site_field = "participant__site"

    record_kind = RecordKind.VISIT

    class Meta(ClinicalRecord.Meta):
        ordering = ["participant", "visit_date", "pk"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        constraints = [
            *ClinicalRecord.Meta.constraints,
            models.UniqueConstraint(
                fields=["participant", "visit_code"],
                condition=models.Q(voided_at__isnull=True),
                name="visit_one_current_per_code",
            ),
        ]
        indexes = [models.Index(fields=["participant", "visit_date"])]

    def __str__(self) -> str:
        return f"{self.participant} {self.visit_code} {self.visit_date}"

    def as_fact(self) -> engine.VisitDone:
        """This visit as the treatment engine reads it (the one adapter, with the others
        below; ``dosing.selectors.course_facts`` reads them in bulk)."""
        return engine.VisitDone(self.visit_code, self.visit_date)


# --- Laboratory results -------------------------------------------------------------


# Every lab the study records per visit (codes and names from trialsite.units).
LabAnalyte = units.lab_tests(
    "wbc",
    "neutrophils",
    "lymphocytes",
    "monocytes",
    "eosinophils",
    "basophils",
    "haemoglobin",
    "platelets",
    "igg",
    "iga",
    "igm",
    "c3",
    "c4",
    "beta2_microglobulin",
    "esr",
    "crp",
    "rf",
    "creatinine",
)


@pghistory.track()
class LabResult(ClinicalRecord):
    """One lab value of a participant: as entered and in the canonical unit.

    Tied to a visit when taken at one.  Kept here, below the CRFs, because the treatment
    engine reads it: the EXC10/EXC11 gate before the first belimumab judges IgG, IgA, WBC
    and neutrophils from here; the visit lab panel (crf) writes it.
    """

    participant = models.ForeignKey(
        Participant, verbose_name=_("participant"), on_delete=models.PROTECT, related_name="labs"
    )
    visit = models.ForeignKey(
        Visit,
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        related_name="labs",
        null=True,
        blank=True,
    )
    analyte = models.CharField(_("test"), max_length=30, choices=LabAnalyte.choices)
    value_entered = models.DecimalField(_("value as entered"), max_digits=12, decimal_places=4)
    unit_entered = models.CharField(_("unit as entered"), max_length=20)
    value = models.DecimalField(_("value (canonical unit)"), max_digits=14, decimal_places=6)
    # Issue 19: recorded with the value (the audit trail says who and when); a value judged
    # "expected for the disease" or "not clinically significant" needs no LAB_RANGE query.
    significance = models.CharField(
        _("clinically significant?"),
        max_length=20,
        choices=Significance.choices,
        blank=True,
        help_text=_("For a value outside the reference range only."),
    )
    taken_on = models.DateField(_("date of sample"))
    value_checked = value_checked_field()

    site_field = "participant__site"

    class Meta(ClinicalRecord.Meta):
        ordering = ["participant", "taken_on", "analyte"]
        verbose_name = _("lab result")
        verbose_name_plural = _("lab results")
        indexes = [models.Index(fields=["participant", "analyte", "taken_on"])]

    def __str__(self) -> str:
        return f"{self.get_analyte_display()} {self.value_entered} {self.unit_entered}"

    def as_fact(self) -> engine.LabValue:
        return engine.LabValue(LabTest(self.analyte), self.taken_on, self.value)

    @property
    def reference_flag(self) -> LabFlag:
        """The value against this child's range (age at the sample, sex, site laboratory)."""
        return self.participant.lab_facts(self.taken_on).flag(self.analyte, self.value)


class Premedication(models.TextChoices):
    ANTIPYRETIC = "antipyretic", _("Antipyretic (e.g. paracetamol)")
    ANTIHISTAMINE = "antihistamine", _("Antihistamine")
    GLUCOCORTICOID = "glucocorticoid", _("Glucocorticoid")
    OTHER = "other", _("Other")


@pghistory.track()
class Prescription(ClinicalRecord):
    """An investigator's e-signed prescription for the next infusion (the physician's order).

    A real site works in two steps: the investigator prescribes from the weight and
    height measured within 7 days, seeing the proposed dose and why; the nurse or
    coordinator later records the administration against this prescription
    (``Infusion.prescription``).  Only a role with ``trialsite.sign_data`` can create
    one, and it is signed (meaning "I prescribe this dose") over ``signature_payload``.
    """

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="prescriptions",
    )
    drug = models.CharField(_("drug"), max_length=10, choices=Drug.choices)
    planned_on = models.DateField(_("infusion planned on"))
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=5, decimal_places=1)
    height_cm = models.DecimalField(_("height (cm)"), max_digits=5, decimal_places=1)
    anthropometry_measured_on = models.DateField(_("weight and height measured on"))
    bsa_m2 = models.DecimalField(
        _("body surface area (m²)"), max_digits=4, decimal_places=2, null=True, blank=True
    )
    proposed_dose_mg = models.DecimalField(_("proposed dose (mg)"), max_digits=7, decimal_places=1)
    dose_cap_applied = models.BooleanField(_("dose cap applied"), default=False)
    proposal_explanation = models.TextField(_("how the proposed dose was computed"))
    prescribed_dose_mg = models.DecimalField(
        _("prescribed dose (mg)"), max_digits=7, decimal_places=1
    )
    dose_difference_reason = models.TextField(
        _("reason the dose differs from the proposed dose"), blank=True
    )
    dose_flagged = models.BooleanField(
        _("dose flagged: beyond the tolerance from the proposed dose"),
        default=False,
        editable=False,
    )
    prescribed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("prescribed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    site_field = "participant__site"

    class Meta(ClinicalRecord.Meta):
        ordering = ["participant", "planned_on", "pk"]
        verbose_name = _("prescription")
        verbose_name_plural = _("prescriptions")
        constraints = [
            *ClinicalRecord.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(prescribed_dose_mg__gt=0)
                & models.Q(proposed_dose_mg__gt=0)
                & models.Q(weight_kg__gt=0)
                & models.Q(height_cm__gt=0),
                name="prescription_positive_measures",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} {self.get_drug_display()} {self.prescribed_dose_mg} mg"

    def signature_payload(self) -> dict[str, Any]:
        """What the prescriber saw and signed (trialsite.signatures normalises the values:
        the decimals as stored, 41.0, and as typed, 41, hash the same)."""
        return {
            "participant": self.participant.subject_id,
            "drug": self.drug,
            "planned_on": self.planned_on,
            "weight_kg": self.weight_kg,
            "height_cm": self.height_cm,
            "anthropometry_measured_on": self.anthropometry_measured_on,
            "bsa_m2": self.bsa_m2 or "",
            "proposed_dose_mg": self.proposed_dose_mg,
            "prescribed_dose_mg": self.prescribed_dose_mg,
            "dose_difference_reason": self.dose_difference_reason,
            "voided": self.is_voided,
        }


@pghistory.track()
class Infusion(ClinicalRecord):
    """An infusion actually given (rituximab or belimumab) at an infusion visit.

    The proposed dose and BSA are kept as they were computed when the dose was
    prescribed, so the record shows what the prescriber saw even if the dose
    rules are later amended.
    """

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="infusions",
    )
    visit = models.OneToOneField(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="infusion"
    )
    # The investigator's signed order this administration follows (one infusion each).
    prescription = models.OneToOneField(
        Prescription,
        verbose_name=_("prescription"),
        on_delete=models.PROTECT,
        related_name="infusion",
        null=True,
        blank=True,
    )
    drug = models.CharField(_("drug"), max_length=10, choices=Drug.choices)
    number = models.PositiveSmallIntegerField(_("infusion number"))
    given_on = models.DateField(_("date given"))
    start_time = models.TimeField(_("start time"), null=True, blank=True)
    stop_time = models.TimeField(_("stop time"), null=True, blank=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=5, decimal_places=1)
    height_cm = models.DecimalField(_("height (cm)"), max_digits=5, decimal_places=1)
    anthropometry_measured_on = models.DateField(_("weight and height measured on"))
    bsa_m2 = models.DecimalField(
        _("body surface area (m²)"), max_digits=4, decimal_places=2, null=True, blank=True
    )
    proposed_dose_mg = models.DecimalField(_("proposed dose (mg)"), max_digits=7, decimal_places=1)
    dose_cap_applied = models.BooleanField(_("dose cap applied"), default=False)
    prescribed_dose_mg = models.DecimalField(
        _("prescribed dose (mg)"), max_digits=7, decimal_places=1
    )
    prescribed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("prescribed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    administered_dose_mg = models.DecimalField(
        _("administered dose (mg)"), max_digits=7, decimal_places=1
    )
    dose_difference_reason = models.TextField(
        _("reason the dose differs from the proposed dose"), blank=True
    )
    dose_flagged = models.BooleanField(
        _("dose flagged: beyond the tolerance from the proposed dose"),
        default=False,
        editable=False,
    )
    lot_number = models.CharField(_("lot number"), max_length=50)
    premedication = ArrayField(
        models.CharField(max_length=20, choices=Premedication.choices),
        verbose_name=_("premedication given"),
        default=list,
        blank=True,
    )
    premedication_details = models.CharField(_("premedication details"), max_length=200, blank=True)
    infusion_reaction = models.BooleanField(_("infusion reaction"), default=False)
    reaction_grade = models.PositiveSmallIntegerField(
        _("reaction CTCAE grade"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    reaction_action = models.TextField(_("action taken for the reaction"), blank=True)

    site_field = "participant__site"

    class Meta(ClinicalRecord.Meta):
        ordering = ["participant", "given_on", "pk"]
        verbose_name = _("infusion")
        verbose_name_plural = _("infusions")
        constraints = [
            *ClinicalRecord.Meta.constraints,
            models.UniqueConstraint(
                fields=["participant", "drug", "number"],
                condition=models.Q(voided_at__isnull=True),
                name="infusion_one_current_per_number",
            ),
            models.CheckConstraint(
                condition=models.Q(administered_dose_mg__gt=0)
                & models.Q(prescribed_dose_mg__gt=0)
                & models.Q(weight_kg__gt=0)
                & models.Q(height_cm__gt=0),
                name="infusion_positive_measures",
            ),
            models.CheckConstraint(
                condition=models.Q(infusion_reaction=True) | models.Q(reaction_grade__isnull=True),
                name="infusion_grade_only_with_reaction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} {self.get_drug_display()} {self.number} ({self.given_on})"

    def as_fact(self) -> engine.Infusion:
        return engine.Infusion(Drug(self.drug), self.given_on)


@pghistory.track()
class BCellResult(ClinicalRecord):
    """A CD19⁺ B-cell result (SCH2): percentage and/or absolute count, canonical ×10⁶/L."""

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="b_cell_results",
    )
    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, null=True, blank=True
    )
    taken_on = models.DateField(_("date of sample"))
    cd19_percent = models.DecimalField(
        # xgettext:no-python-format (a percent sign, not a placeholder)
        _("CD19⁺ B cells (% of lymphocytes)"),
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    cd19_absolute_entered = models.DecimalField(
        _("CD19⁺ absolute count as entered"), max_digits=10, decimal_places=3, null=True, blank=True
    )
    cd19_absolute_unit = models.CharField(
        _("unit of the absolute count"),
        max_length=10,
        choices=AbsoluteCountUnit.choices,
        blank=True,
    )
    cd19_absolute = models.DecimalField(
        _("CD19⁺ absolute count (×10⁶/L)"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    lymphocytes_10e9_l = models.DecimalField(
        _("lymphocytes (×10⁹/L)"), max_digits=6, decimal_places=3, null=True, blank=True
    )

    site_field = "participant__site"

    class Meta(ClinicalRecord.Meta):
        ordering = ["participant", "taken_on", "pk"]
        verbose_name = _("B-cell result")
        verbose_name_plural = _("B-cell results")
        constraints = [
            *ClinicalRecord.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(cd19_percent__isnull=False)
                | models.Q(cd19_absolute__isnull=False),
                name="b_cell_result_has_a_measure",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} B cells {self.taken_on}"

    def as_fact(self) -> engine.BCellResult:
        return engine.BCellResult(
            taken_on=self.taken_on,
            cd19_percent=self.cd19_percent,
            cd19_absolute_10e6_l=self.cd19_absolute,
            lymphocytes_10e9_l=self.lymphocytes_10e9_l,
        )


@pghistory.track()
class Day0Confirmation(ClinicalRecord, GeneratedText):
    """EXC5 re-confirmed on Day 0, before the first rituximab infusion."""

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="day_0_confirmations",
    )
    confirmed_on = models.DateField(_("Day 0 (date of confirmation)"))
    chronic_infection_suppressive_therapy = models.BooleanField(
        _("suppressive therapy for a chronic infection")
    )
    infection_hospitalisation_last_date = models.DateField(
        _("last day in hospital for infection, if any"), null=True, blank=True
    )
    parenteral_antimicrobials_last_date = models.DateField(
        _("last day of parenteral antimicrobials, if any"), null=True, blank=True
    )
    live_vaccine_date = models.DateField(
        _("date of the last live-attenuated vaccine, if any"), null=True, blank=True
    )
    high_infection_risk = models.BooleanField(_("investigator judges infection risk high"))
    passed = models.BooleanField(_("EXC5 still passes"), editable=False)
    explanation = models.TextField(_("result"), editable=False)

    site_field = "participant__site"

    class Meta(ClinicalRecord.Meta):
        ordering = ["participant", "confirmed_on", "pk"]
        verbose_name = _("Day 0 re-confirmation")
        verbose_name_plural = _("Day 0 re-confirmations")

    def __str__(self) -> str:
        return f"{self.participant} Day 0 {self.confirmed_on}"


@pghistory.track()
class EventNotDone(ClinicalRecord):
    """An investigator confirms that a scheduled infusion or visit was not given / not done.

    Until then an event whose window closed is only "not recorded": it can still be
    recorded on any date.  The confirmation makes its missed-dose or missed-visit deviation
    final, and lets the course go on past it (the next belimumab, completion).
    """

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="events_not_done",
    )
    visit_code = models.CharField(_("visit"), max_length=10)
    confirmed_on = models.DateField(_("date of the confirmation"))
    reason = models.TextField(_("why it was not given or not done"))
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    site_field = "participant__site"

    class Meta(ClinicalRecord.Meta):
        ordering = ["participant", "confirmed_on", "pk"]
        verbose_name = _("event confirmed not done")
        verbose_name_plural = _("events confirmed not done")
        constraints = [
            *ClinicalRecord.Meta.constraints,
            models.UniqueConstraint(
                fields=["participant", "visit_code"],
                condition=models.Q(voided_at__isnull=True),
                name="event_not_done_one_current_per_code",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} {self.visit_code} not done ({self.confirmed_on})"

    def as_fact(self) -> engine.NotDone:
        return engine.NotDone(self.visit_code, self.confirmed_on, self.reason)


class EventOutcome(models.TextChoices):
    """What the stored course knows of an event whatever today is (issue 14): settled, or
    awaited (due, overdue, not recorded or planned depending on today)."""

    DONE_IN_WINDOW = engine.EventStatus.DONE_IN_WINDOW.value, _("done")
    DONE_OUT_OF_WINDOW = engine.EventStatus.DONE_OUT_OF_WINDOW.value, _("done out of window")
    DONE_NOT_PLANNED = engine.EventStatus.DONE_NOT_PLANNED.value, _("done (not planned)")
    NOT_NEEDED = engine.EventStatus.NOT_NEEDED.value, _("not needed")
    MISSED = engine.EventStatus.MISSED.value, _("missed (confirmed not done)")
    AWAITED = "awaited", _("awaited")


class CourseEvent(models.Model):
    """The participant's course as the engine built it at the last write of its facts: one
    row per planned or actual event (a read model for the pages that list many
    participants: dashboard, due lists, month calendar, iCalendar feed, form status).

    Rebuilt in the transaction of every write that changes the facts (the workflow's COURSE
    step, ``dosing.services.course_changed``); never edited otherwise.  What depends on
    today (due, overdue, not recorded) is computed in the query from the stored dates
    (``dosing.selectors.status_today``), never stored.  ``manage.py check_course`` rebuilds
    every course in memory and lists every difference.  Derived data, not a clinical
    record: it is replaced, not audited.
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="course_events"
    )
    kind = models.CharField(max_length=12, choices=[(k.value, k.value) for k in engine.EventKind])
    visit_code = models.CharField(max_length=10)
    drug = models.CharField(max_length=12, choices=Drug.choices, blank=True)
    number = models.PositiveSmallIntegerField(null=True)
    target = models.DateField()
    window_start = models.DateField()
    window_end = models.DateField()
    target_day = models.IntegerField()
    actual = models.DateField(null=True)
    actual_day = models.IntegerField(null=True)
    outcome = models.CharField(max_length=20, choices=EventOutcome.choices)
    projected = models.BooleanField(default=False)
    moves_with_plan = models.BooleanField(default=False)
    # What decided the target (engine.Event.anchor, anchor_date, clause).
    anchor = models.CharField(max_length=16, blank=True)
    anchor_date = models.DateField(null=True)
    clause = models.CharField(max_length=8, blank=True)

    site_field: ClassVar[str] = "participant__site"

    class Meta:
        ordering = ["participant", "target", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "visit_code"], name="course_event_one_per_code"
            ),
        ]
        indexes = [
            models.Index(fields=["target"], name="course_event_target"),
            models.Index(fields=["actual"], name="course_event_actual"),
            models.Index(fields=["window_end"], name="course_event_window_end"),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id} {self.visit_code} {self.target}"

    @property
    def label(self) -> str:
        return engine.event_label(self.kind, self.drug, self.number, self.visit_code)

    @property
    def is_assessment(self) -> bool:
        return self.kind == engine.EventKind.ASSESSMENT

    @property
    def status(self) -> engine.EventStatus:
        """The status on the day the query was made for (``status_today`` annotation)."""
        return engine.EventStatus(self.status_today)


@pghistory.track()
class Deviation(ClinicalRecord, GeneratedText):
    """A protocol deviation: recorded automatically from the schedule, or by hand."""

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="deviations",
    )
    category = models.CharField(_("category"), max_length=40, choices=DeviationCategory.choices)
    automatic = models.BooleanField(_("recorded automatically"), default=False, editable=False)
    visit_code = models.CharField(_("visit"), max_length=10, blank=True)
    occurred_on = models.DateField(_("date"))
    description = models.TextField(_("description"))
    explanation = models.TextField(_("explanation (by the site)"), blank=True)
    corrective_action = models.TextField(_("corrective action"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by (investigator)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True, editable=False)
    review_comment = models.TextField(_("review comment"), blank=True)

    site_field = "participant__site"

    class Meta(ClinicalRecord.Meta):
        ordering = ["participant", "occurred_on", "pk"]
        verbose_name = _("protocol deviation")
        verbose_name_plural = _("protocol deviations")
        constraints = [
            *ClinicalRecord.Meta.constraints,
            # The schedule records each automatic deviation once.
            models.UniqueConstraint(
                fields=["participant", "category", "visit_code"],
                condition=models.Q(automatic=True, voided_at__isnull=True),
                name="deviation_automatic_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} {self.get_category_display()} {self.occurred_on}"


@pghistory.track(exclude=["token"])
class CalendarFeed(models.Model):
    """A user's secret iCalendar feed address; revoking it makes a new one necessary.

    ``token`` holds the SHA-256 of the secret in the feed's address, never the secret
    itself: a copy of the database does not give anyone the feed.  A new address
    replaces the token of the same row (one feed per user).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="calendar_feed"
    )
    token = models.CharField(_("SHA-256 of the secret token"), max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        triggers = [pgtrigger.Protect(name="forbid_delete", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"calendar feed of {self.user}"
