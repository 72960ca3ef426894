"""Clinical CRFs: vitals, ESSDAI/ESSPRI, adverse events, con-meds, serious-AE alerts.

Every participant-level record is a ``ClinicalRecord`` (audited by database triggers, never
deleted, optimistic locking).  Scores that can be computed (ESSDAI total and category,
ESSPRI mean, prednisone equivalents) are computed from what is stored, never stored
themselves, so a correction can never leave a stale total behind.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crf import essdai
from crf.adverse_events import AeState, FollowUp, ae_state
from crf.expected import CrfKind
from crf.glucocorticoids import DoseFrequency
from crf.outcomes import EsspriScore, esspri_score
from dosing.models import Visit
from enrollment.models import Participant
from trialsite import units
from trialsite.models import ClinicalRecord, values_checked_field

# --- Forms that belong to one visit ------------------------------------------------


class VisitCrf(ClinicalRecord):
    """A form filled once per visit (a correction edits it; a wrong one is voided)."""

    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="+"
    )

    site_field = "visit__participant__site"
    kind: ClassVar[CrfKind]

    class Meta(ClinicalRecord.Meta):
        abstract = True
        constraints = [
            *ClinicalRecord.Meta.constraints,
            models.UniqueConstraint(
                fields=["visit"],
                condition=models.Q(voided_at__isnull=True),
                name="%(app_label)s_%(class)s_one_per_visit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind.label} {self.visit.visit_code}"

    @property
    def participant(self) -> Participant:
        return self.visit.participant


def _essdai_level(code: str) -> models.PositiveSmallIntegerField:
    domain = essdai.get_domain(code)
    return models.PositiveSmallIntegerField(
        domain.name,
        # Only the levels the domain has: a level it does not have (constitutional high,
        # CNS low, ...) is refused by the form, by full_clean and by a CHECK constraint.
        choices=[(level.value, level.label) for level in domain.levels],
    )


def _essdai_constraints() -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            condition=models.Q(**{f"{domain.code}__in": sorted(domain.allowed_levels)}),
            name=f"essdai_{domain.code}_level_exists",
        )
        for domain in essdai.DOMAINS
    ]


@pghistory.track()
class EssdaiAssessment(VisitCrf):
    """The 12 ESSDAI domain levels as rated at a visit; the score is computed from them."""

    # One field per domain, named by the domain code of crf.essdai (a test checks).
    constitutional = _essdai_level("constitutional")
    lymphadenopathy = _essdai_level("lymphadenopathy")
    glandular = _essdai_level("glandular")
    articular = _essdai_level("articular")
    cutaneous = _essdai_level("cutaneous")
    pulmonary = _essdai_level("pulmonary")
    renal = _essdai_level("renal")
    muscular = _essdai_level("muscular")
    pns = _essdai_level("pns")
    cns = _essdai_level("cns")
    haematological = _essdai_level("haematological")
    biological = _essdai_level("biological")
    instrument_version = models.CharField(
        _("instrument version"), max_length=100, editable=False, default=""
    )

    kind = CrfKind.ESSDAI

    class Meta(VisitCrf.Meta):
        verbose_name = _("ESSDAI assessment")
        verbose_name_plural = _("ESSDAI assessments")
        constraints = [*VisitCrf.Meta.constraints, *_essdai_constraints()]

    def levels(self) -> dict[str, int]:
        return {code: getattr(self, code) for code in essdai.DOMAIN_CODES}

    @property
    def score(self) -> essdai.EssdaiScore:
        return essdai.score_essdai(self.levels())


def _nrs(label: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        label, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )


@pghistory.track()
class EsspriAssessment(VisitCrf):
    """The three ESSPRI 0-10 scales the patient rated; the ESSPRI is their mean."""

    dryness = _nrs(_("dryness (0-10)"))
    fatigue = _nrs(_("fatigue (0-10)"))
    pain = _nrs(_("pain in arms or legs (0-10)"))
    instrument_version = models.CharField(
        _("instrument version"), max_length=100, editable=False, default=""
    )

    kind = CrfKind.ESSPRI

    class Meta(VisitCrf.Meta):
        verbose_name = _("ESSPRI assessment")
        verbose_name_plural = _("ESSPRI assessments")
        constraints = [
            *VisitCrf.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(dryness__lte=10, fatigue__lte=10, pain__lte=10),
                name="esspri_scales_0_to_10",
            ),
        ]

    @property
    def score(self) -> EsspriScore:
        return esspri_score(dryness=self.dryness, fatigue=self.fatigue, pain=self.pain)


@pghistory.track()
class PhysicianGlobal(VisitCrf):
    """The physician's global assessment of disease activity, 0 (none) to 10 (maximal)."""

    score = models.DecimalField(
        _("physician global assessment (0-10)"),
        max_digits=3,
        decimal_places=1,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(10))],
    )

    kind = CrfKind.PHYSICIAN_GLOBAL

    class Meta(VisitCrf.Meta):
        verbose_name = _("physician global assessment")
        verbose_name_plural = _("physician global assessments")
        constraints = [
            *VisitCrf.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=10), name="physician_global_0_to_10"
            ),
        ]


@pghistory.track()
class GlandFunction(VisitCrf):
    """Schirmer I test and unstimulated whole salivary flow (composite response items)."""

    # The limits are physical (a Schirmer strip is 35-40 mm), they catch typing errors.
    schirmer_mm_5min = models.DecimalField(
        _("Schirmer I test without anaesthesia (mm/5 min)"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(40))],
    )
    unstimulated_saliva_ml_15min = models.DecimalField(
        _("unstimulated whole salivary flow (mL/15 min)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(30))],
    )
    not_done_reason = models.TextField(_("reason a test was not done"), blank=True)
    values_checked = values_checked_field()

    kind = CrfKind.GLANDS

    class Meta(VisitCrf.Meta):
        verbose_name = _("Schirmer test and salivary flow")
        verbose_name_plural = _("Schirmer tests and salivary flows")
        constraints = [
            *VisitCrf.Meta.constraints,
            models.CheckConstraint(
                condition=(
                    models.Q(schirmer_mm_5min__isnull=False)
                    & models.Q(unstimulated_saliva_ml_15min__isnull=False)
                )
                | ~models.Q(not_done_reason=""),
                name="glands_missing_test_needs_reason",
            ),
        ]


@pghistory.track()
class Vitals(VisitCrf):
    """Weight, height and vital signs at a visit.

    The limits are what is physically possible in a child, to catch typing errors.
    """

    weight_kg = models.DecimalField(
        _("weight (kg)"),
        max_digits=5,
        decimal_places=1,
        validators=[
            MinValueValidator(units.get_analyte("weight").plausible_min),
            MaxValueValidator(units.get_analyte("weight").plausible_max),
        ],
    )
    height_cm = models.DecimalField(
        _("height (cm)"),
        max_digits=5,
        decimal_places=1,
        validators=[
            MinValueValidator(units.get_analyte("height").plausible_min),
            MaxValueValidator(units.get_analyte("height").plausible_max),
        ],
    )
    temperature_c = models.DecimalField(
        _("temperature (°C)"),
        max_digits=3,
        decimal_places=1,
        validators=[MinValueValidator(Decimal(30)), MaxValueValidator(Decimal(45))],
    )
    heart_rate_bpm = models.PositiveSmallIntegerField(
        _("heart rate (/min)"), validators=[MinValueValidator(20), MaxValueValidator(300)]
    )
    respiratory_rate = models.PositiveSmallIntegerField(
        _("respiratory rate (/min)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(5), MaxValueValidator(120)],
    )
    systolic_mmhg = models.PositiveSmallIntegerField(
        _("systolic blood pressure (mmHg)"),
        validators=[MinValueValidator(40), MaxValueValidator(300)],
    )
    diastolic_mmhg = models.PositiveSmallIntegerField(
        _("diastolic blood pressure (mmHg)"),
        validators=[MinValueValidator(20), MaxValueValidator(200)],
    )
    values_checked = values_checked_field()

    kind = CrfKind.VITALS

    class Meta(VisitCrf.Meta):
        verbose_name = _("vitals")
        verbose_name_plural = _("vitals")
        constraints = [
            *VisitCrf.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(weight_kg__gt=0, height_cm__gt=0),
                name="vitals_positive_weight_and_height",
            ),
            models.CheckConstraint(
                condition=models.Q(diastolic_mmhg__lt=models.F("systolic_mmhg")),
                name="vitals_diastolic_below_systolic",
            ),
        ]


@pghistory.track()
class SafetyReview(VisitCrf):
    """The adverse-event and concomitant-medication logs were reviewed at this visit."""

    new_adverse_events = models.BooleanField(
        _("new or changed adverse events since the last visit"),
        help_text=_("If yes, record them in the adverse-event log."),
    )
    medication_changes = models.BooleanField(
        _("new or changed concomitant medication since the last visit"),
        help_text=_("If yes, record them in the concomitant-medication log."),
    )
    notes = models.TextField(_("notes"), blank=True)

    kind = CrfKind.SAFETY_REVIEW

    class Meta(VisitCrf.Meta):
        verbose_name = _("adverse-event and medication review")
        verbose_name_plural = _("adverse-event and medication reviews")


# --- Adverse events ----------------------------------------------------------------


class CtcaeGrade(models.IntegerChoices):
    # CTCAE v5.0 general grade definitions (REFERENCE.md "Adverse events").
    MILD = 1, _("1 – mild")
    MODERATE = 2, _("2 – moderate: minimal, local or non-invasive intervention")
    SEVERE = 3, _("3 – severe or medically significant; hospitalisation")
    LIFE_THREATENING = 4, _("4 – life-threatening")
    DEATH = 5, _("5 – death related to the adverse event")


class SeriousCriterion(models.TextChoices):
    # ICH E2A: "severe" (intensity) is not "serious".
    DEATH = "death", _("Results in death")
    LIFE_THREATENING = "life_threatening", _("Is life-threatening")
    HOSPITALISATION = "hospitalisation", _("Requires or prolongs inpatient hospitalisation")
    DISABILITY = "disability", _("Results in persistent or significant disability or incapacity")
    CONGENITAL_ANOMALY = "congenital_anomaly", _("Is a congenital anomaly or birth defect")
    IMPORTANT_MEDICAL_EVENT = "important_medical_event", _("Is an important medical event")


class Relatedness(models.TextChoices):
    NOT_APPLICABLE = "not_applicable", _("not applicable (drug not yet given)")
    NOT_RELATED = "not_related", _("not related")
    UNLIKELY = "unlikely", _("unlikely")
    POSSIBLE = "possible", _("possible")
    PROBABLE = "probable", _("probable")
    DEFINITE = "definite", _("definite")


class ActionTaken(models.TextChoices):
    NONE = "none", _("none")
    INFUSION_INTERRUPTED = "infusion_interrupted", _("infusion interrupted or slowed")
    DOSE_DELAYED = "dose_delayed", _("dose delayed")
    DOSE_REDUCED = "dose_reduced", _("dose reduced")
    DRUG_WITHDRAWN = "drug_withdrawn", _("study treatment withdrawn")
    NOT_APPLICABLE = "not_applicable", _("not applicable")


class AeOutcome(models.TextChoices):
    RECOVERED = "recovered", _("recovered / resolved")
    RECOVERING = "recovering", _("recovering / resolving")
    NOT_RECOVERED = "not_recovered", _("not recovered / not resolved")
    SEQUELAE = "sequelae", _("recovered with sequelae")
    FATAL = "fatal", _("fatal")
    UNKNOWN = "unknown", _("unknown")


@pghistory.track()
class AdverseEvent(ClinicalRecord):
    """An adverse event of a participant, in the log that runs across the whole study."""

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="adverse_events",
    )
    term = models.CharField(
        _("adverse event term"), max_length=200, help_text=_("CTCAE v5.0 term where one fits.")
    )
    onset_date = models.DateField(_("onset date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    grade = models.PositiveSmallIntegerField(_("CTCAE grade"), choices=CtcaeGrade.choices)
    serious = models.BooleanField(_("serious (ICH E2A)"))
    serious_criteria = ArrayField(
        models.CharField(max_length=30, choices=SeriousCriterion.choices),
        verbose_name=_("seriousness criteria"),
        default=list,
        blank=True,
    )
    related_rituximab = models.CharField(
        _("relatedness to rituximab"), max_length=20, choices=Relatedness.choices
    )
    related_belimumab = models.CharField(
        _("relatedness to belimumab"), max_length=20, choices=Relatedness.choices
    )
    action_taken = models.CharField(
        _("action taken with study treatment"), max_length=30, choices=ActionTaken.choices
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=AeOutcome.choices)
    description = models.TextField(_("description"), blank=True)
    # Over the follow-ups (crf/adverse_events.py ``ae_state``, kept by the workflow's SAFETY
    # step after every write of the event or a follow-up): what the lists, alerts, outcome
    # tables and exports show.
    current_grade = models.PositiveSmallIntegerField(
        _("CTCAE grade now"), choices=CtcaeGrade.choices, null=True, editable=False
    )
    current_outcome = models.CharField(
        _("outcome now"), max_length=20, choices=AeOutcome.choices, blank=True, editable=False
    )
    worst_grade = models.PositiveSmallIntegerField(
        _("worst CTCAE grade"), choices=CtcaeGrade.choices, null=True, editable=False
    )

    site_field = "participant__site"

    class Meta(ClinicalRecord.Meta):
        ordering = ["participant", "onset_date", "pk"]
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")
        constraints = [
            *ClinicalRecord.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(grade__gte=1, grade__lte=5), name="ae_grade_1_to_5"
            ),
            # ICH E2A: a serious AE names at least one criterion; a non-serious one none.
            models.CheckConstraint(
                condition=models.Q(serious=True, serious_criteria__len__gte=1)
                | models.Q(serious=False, serious_criteria=[]),
                name="ae_serious_iff_criteria",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("onset_date")),
                name="ae_end_not_before_onset",
            ),
            # CTCAE grade 5 is death related to the AE, i.e. a fatal outcome.
            models.CheckConstraint(
                condition=models.Q(grade=5, outcome=AeOutcome.FATAL)
                | (~models.Q(grade=5) & ~models.Q(outcome=AeOutcome.FATAL)),
                name="ae_grade_5_iff_fatal",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} {self.term} ({self.onset_date})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("crf:ae_detail", args=[self.pk])

    def get_serious_criteria_display(self) -> list[str]:
        labels = dict(SeriousCriterion.choices)
        return [str(labels.get(code, code)) for code in self.serious_criteria]

    def state(self) -> AeState:
        """The current grade and outcome and the worst grade over the active follow-ups."""
        follow_ups = [
            FollowUp(u.reported_on, u.pk, u.grade, u.outcome)
            for u in self.updates.filter(voided_at__isnull=True)
        ]
        return ae_state(self.grade, self.outcome, follow_ups)


@pghistory.track()
class AdverseEventUpdate(ClinicalRecord):
    """A follow-up of an adverse event: what changed, as reported on a date."""

    adverse_event = models.ForeignKey(
        AdverseEvent,
        verbose_name=_("adverse event"),
        on_delete=models.PROTECT,
        related_name="updates",
    )
    reported_on = models.DateField(_("date of the follow-up"))
    grade = models.PositiveSmallIntegerField(
        _("CTCAE grade now"), choices=CtcaeGrade.choices, null=True, blank=True
    )
    outcome = models.CharField(
        _("outcome now"), max_length=20, choices=AeOutcome.choices, blank=True
    )
    # Criteria met since the event was reported: the event becomes serious (and the alert
    # goes out) through the follow-up (crf.services.adverse_event_update_add).
    serious_criteria = ArrayField(
        models.CharField(max_length=30, choices=SeriousCriterion.choices),
        verbose_name=_("seriousness criteria met now"),
        default=list,
        blank=True,
    )
    notes = models.TextField(_("follow-up information"))

    site_field = "adverse_event__participant__site"

    class Meta(ClinicalRecord.Meta):
        ordering = ["adverse_event", "reported_on", "pk"]
        verbose_name = _("adverse-event follow-up")
        verbose_name_plural = _("adverse-event follow-ups")

    def __str__(self) -> str:
        return f"{self.adverse_event.term} follow-up {self.reported_on}"

    def get_serious_criteria_display(self) -> list[str]:
        labels = dict(SeriousCriterion.choices)
        return [str(labels.get(code, code)) for code in self.serious_criteria]


class VisitFormsState(models.Model):
    """A read model: one row per visit, how many of its expected CRFs are complete and which
    are missing (``crf.expected``, judged by ``crf.selectors.visit_forms``).

    Rebuilt by the workflow's CRF step after every write of a visit, its forms, its labs or
    a B-cell result of its day (``crf.services.visit_forms_follow``), so the dashboard counts
    thousands of visits in SQL; whether a visit is overdue depends on today and is computed
    in the query (``crf.selectors.visit_cells``).  Derived data: replaced, not audited.
    """

    visit = models.OneToOneField(
        Visit, on_delete=models.CASCADE, primary_key=True, related_name="forms_state"
    )
    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="visit_forms_states"
    )
    visit_code = models.CharField(max_length=10)
    visit_date = models.DateField()
    n_expected = models.PositiveSmallIntegerField()
    n_complete = models.PositiveSmallIntegerField()
    missing = ArrayField(models.CharField(max_length=20), default=list)

    site_field: ClassVar[str] = "participant__site"

    class Meta:
        indexes = [models.Index(fields=["visit_date"], name="visit_forms_state_date")]

    def __str__(self) -> str:
        return f"{self.visit_id}: {self.n_complete}/{self.n_expected}"


class OutcomeState(models.Model):
    """A read model: one row per participant, the numbers the outcome review summarises
    over the whole trial (ESSDAI totals and ESSPRI scale sums at baseline, week 12 and week
    28, and the week-28 composite response), so its trial summary reads one row per
    participant instead of rebuilding every participant's time points on every view.

    Written by the workflow's CRF step after every write of an outcome visit, its ESSDAI,
    ESSPRI, physician global, gland function or outcome labs
    (``crf.services.outcome_state_follows``) with the very function the review's table uses
    (``crf.selectors.outcome_rows``).  Derived data: replaced, not audited.
    """

    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, primary_key=True, related_name="outcome_state"
    )
    essdai_baseline = models.PositiveSmallIntegerField(null=True)
    essdai_w12 = models.PositiveSmallIntegerField(null=True)
    essdai_w28 = models.PositiveSmallIntegerField(null=True)
    # The sum of the three 0-10 scales: exact, where the mean (sum / 3) is not.
    esspri_sum_baseline = models.PositiveSmallIntegerField(null=True)
    esspri_sum_w12 = models.PositiveSmallIntegerField(null=True)
    esspri_sum_w28 = models.PositiveSmallIntegerField(null=True)
    # A ``crf.outcomes.ResponseOutcome``; blank: no baseline and week-28 visits (not assessed).
    composite = models.CharField(max_length=20, blank=True, default="")

    site_field: ClassVar[str] = "participant__site"

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.composite or '-'}"


@pghistory.track()
class SeriousAeAlert(models.Model):
    """The one alert raised when an adverse event is first saved as serious.

    ``recipients`` are the site's investigators and the data managers at that moment;
    each sees it on the dashboard until they acknowledge it themselves.
    """

    adverse_event = models.OneToOneField(
        AdverseEvent,
        verbose_name=_("adverse event"),
        on_delete=models.PROTECT,
        related_name="alert",
    )
    raised_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("recipients"), related_name="sae_alerts"
    )
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    site_field: ClassVar[str] = "adverse_event__participant__site"

    class Meta:
        ordering = ["-raised_at"]
        verbose_name = _("serious adverse event alert")
        verbose_name_plural = _("serious adverse event alerts")
        triggers = [pgtrigger.Protect(name="forbid_delete", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"SAE alert {self.adverse_event}"


@pghistory.track()
class SaeAcknowledgement(models.Model):
    """A recipient has seen a serious-AE alert."""

    alert = models.ForeignKey(
        SeriousAeAlert,
        verbose_name=_("alert"),
        on_delete=models.PROTECT,
        related_name="acknowledgements",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), auto_now_add=True)

    site_field: ClassVar[str] = "alert__adverse_event__participant__site"

    class Meta:
        ordering = ["acknowledged_at"]
        verbose_name = _("serious adverse event acknowledgement")
        verbose_name_plural = _("serious adverse event acknowledgements")
        constraints = [
            models.UniqueConstraint(fields=["alert", "user"], name="sae_acknowledged_once")
        ]
        triggers = [pgtrigger.Protect(name="forbid_delete", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.user} acknowledged {self.alert}"


# --- Concomitant medication ----------------------------------------------------------


class DoseUnit(models.TextChoices):
    MG = "mg", "mg"
    G = "g", "g"
    MICROGRAM = "ug", "µg"
    IU = "IU", _("IU")
    ML = "mL", "mL"
    DROPS = "drops", _("drops")  # eye or ear drops: a local preparation, not converted
    OTHER = "other", _("other (say in the indication)")


# Mass units a glucocorticoid dose can be converted from, as a factor to mg.
MG_PER_UNIT: dict[str, Decimal] = {
    DoseUnit.MG: Decimal(1),
    DoseUnit.G: Decimal(1000),
    DoseUnit.MICROGRAM: Decimal("0.001"),
}


class Route(models.TextChoices):
    ORAL = "oral", _("oral")
    IV = "iv", _("intravenous")
    SC = "sc", _("subcutaneous")
    IM = "im", _("intramuscular")
    TOPICAL = "topical", _("topical")
    INHALED = "inhaled", _("inhaled")
    OPHTHALMIC = "ophthalmic", _("eye drops")
    OTHER = "other", _("other")


class ConMedFrequency(models.TextChoices):
    # The regular ones are those crf.glucocorticoids converts to a daily dose.
    ONCE_DAILY = DoseFrequency.ONCE_DAILY.value, DoseFrequency.ONCE_DAILY.label
    TWICE_DAILY = DoseFrequency.TWICE_DAILY.value, DoseFrequency.TWICE_DAILY.label
    THREE_TIMES_DAILY = DoseFrequency.THREE_TIMES_DAILY.value, DoseFrequency.THREE_TIMES_DAILY.label
    EVERY_OTHER_DAY = DoseFrequency.EVERY_OTHER_DAY.value, DoseFrequency.EVERY_OTHER_DAY.label
    WEEKLY = DoseFrequency.WEEKLY.value, DoseFrequency.WEEKLY.label
    ONCE = DoseFrequency.ONCE.value, DoseFrequency.ONCE.label
    AS_NEEDED = "prn", _("as needed")
    OTHER = "other", _("other")


@pghistory.track()
class ConcomitantMedication(ClinicalRecord):
    """A medication taken during the study (a dose change is a new row: stop the old one)."""

    participant = models.ForeignKey(
        Participant,
        verbose_name=_("participant"),
        on_delete=models.PROTECT,
        related_name="concomitant_medications",
    )
    drug = models.CharField(_("drug (generic name)"), max_length=100)
    dose = models.DecimalField(
        _("dose per administration"),
        max_digits=9,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0.001"))],
    )
    dose_unit = models.CharField(_("unit"), max_length=10, choices=DoseUnit.choices)
    route = models.CharField(_("route"), max_length=12, choices=Route.choices)
    frequency = models.CharField(_("frequency"), max_length=10, choices=ConMedFrequency.choices)
    start_date = models.DateField(_("start date"))
    stop_date = models.DateField(
        _("stop date"), null=True, blank=True, help_text=_("Leave empty while it is ongoing.")
    )
    indication = models.CharField(_("indication"), max_length=200)

    site_field = "participant__site"

    class Meta(ClinicalRecord.Meta):
        ordering = ["participant", "start_date", "pk"]
        verbose_name = _("concomitant medication")
        verbose_name_plural = _("concomitant medications")
        constraints = [
            *ClinicalRecord.Meta.constraints,
            models.CheckConstraint(condition=models.Q(dose__gt=0), name="conmed_positive_dose"),
            models.CheckConstraint(
                condition=models.Q(stop_date__isnull=True)
                | models.Q(stop_date__gte=models.F("start_date")),
                name="conmed_stop_not_before_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drug} {self.dose} {self.get_dose_unit_display()} {self.frequency}"

    def taken_on(self, day) -> bool:
        return self.start_date <= day and (self.stop_date is None or day <= self.stop_date)

    @property
    def dose_mg(self) -> Decimal | None:
        factor = MG_PER_UNIT.get(self.dose_unit)
        return None if factor is None else self.dose * factor
