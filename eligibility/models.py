"""Screening records: the source items the eligibility criteria are computed from.

Nothing here is a verdict tick box: the coordinator enters what the chart says
(AECG/Japanese items and measurements, therapy periods, labs with units and
dates, yes/no answers with dates) and ``eligibility.criteria`` decides.
``None`` in a nullable field means "not entered yet".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pghistory
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from eligibility.classification import (
    ITEM_LABELS,
    BiopsySite,
    CriteriaSet,
    Serology,
    SialographyStage,
    SourceTest,
)
from eligibility.criteria import FIELD_LABELS, BCellActivation, DrugClass, SystemicInvolvement
from trialsite import units
from trialsite.dates import age_in_completed_years
from trialsite.models import (
    ClinicalRecord,
    RecordKind,
    Site,
    value_checked_field,
    values_checked_field,
)
from trialsite.reference_ranges import UNITS, LabFacts, LabFlag


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


class ScreeningStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    ELIGIBLE = "eligible", _("Eligible")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")
    SCREEN_FAILED = "screen_failed", _("Screen failed")
    ENROLLED = "enrolled", _("Enrolled")


# Screenings in these states can no longer be edited.
CLOSED_STATUSES = frozenset({ScreeningStatus.SCREEN_FAILED, ScreeningStatus.ENROLLED})


def _yes_no(name: str, labels: dict = FIELD_LABELS) -> models.BooleanField:
    return models.BooleanField(labels[name], null=True, blank=True)


def _serology(name: str, labels: dict = FIELD_LABELS) -> models.CharField:
    # None = not entered yet, like the yes/no items (and the fields these replaced: the
    # audit tables keep their old rows, which a NOT NULL change would have to rewrite).
    return models.CharField(  # noqa: DJ001
        labels[name], max_length=10, choices=Serology.choices, null=True, blank=True
    )


def _date(name: str) -> models.DateField:
    return models.DateField(FIELD_LABELS[name], null=True, blank=True)


def _measure(name: str, digits: int, places: int, maximum: str) -> models.DecimalField:
    # ``maximum`` is a physical limit that catches typing errors, not a protocol threshold.
    return models.DecimalField(
        ITEM_LABELS[name],
        max_digits=digits,
        decimal_places=places,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(maximum))],
    )


@pghistory.track()
class Screening(ClinicalRecord):
    """One candidate's screening at one site, entered over one or several sittings."""

    # What signature_payload reads (its rows and its assessment): fetched once per reload.
    signature_prefetch = ("labs", "prior_therapies")

    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.PROTECT)
    sequence = models.PositiveIntegerField(_("sequence at site"), editable=False)
    number = models.CharField(_("screening number"), max_length=20, unique=True, editable=False)
    screening_date = models.DateField(_("screening date"))
    date_of_birth = models.DateField(_("date of birth"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    planned_day_0 = models.DateField(
        _("planned Day 0"),
        null=True,
        blank=True,
        help_text=_("Planned date of the first rituximab infusion."),
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ScreeningStatus.choices,
        default=ScreeningStatus.IN_PROGRESS,
        editable=False,
    )
    # The latest assessment, kept for the screening log (recomputed on every save).
    failed_codes = ArrayField(
        models.CharField(max_length=10),
        verbose_name=_("failed criteria"),
        default=list,
        blank=True,
        editable=False,
    )
    missing_items = models.JSONField(_("missing items"), default=list, blank=True, editable=False)
    criteria_sets_met = ArrayField(
        models.CharField(max_length=20),
        verbose_name=_("SS criteria met"),
        default=list,
        blank=True,
        editable=False,
    )
    screen_failure_reason = models.TextField(_("reason for screen failure"), blank=True)

    # --- INC2: AECG 2002 / Japanese 1999 source items ---------------------------------
    dry_eyes_daily_over_3_months = _yes_no("dry_eyes_daily_over_3_months", ITEM_LABELS)
    recurrent_sand_or_gravel_in_eyes = _yes_no("recurrent_sand_or_gravel_in_eyes", ITEM_LABELS)
    tear_substitutes_over_3_times_daily = _yes_no(
        "tear_substitutes_over_3_times_daily", ITEM_LABELS
    )
    dry_mouth_daily_over_3_months = _yes_no("dry_mouth_daily_over_3_months", ITEM_LABELS)
    recurrent_salivary_gland_swelling = _yes_no("recurrent_salivary_gland_swelling", ITEM_LABELS)
    drinks_liquids_to_swallow_dry_food = _yes_no("drinks_liquids_to_swallow_dry_food", ITEM_LABELS)
    schirmer_mm_5min = _measure("schirmer_mm_5min", 4, 1, "40")
    van_bijsterveld_score = models.PositiveSmallIntegerField(
        ITEM_LABELS["van_bijsterveld_score"],
        null=True,
        blank=True,
        validators=[MaxValueValidator(9)],  # the van Bijsterveld scale is 0-9
    )
    fluorescein_staining_positive = _yes_no("fluorescein_staining_positive", ITEM_LABELS)
    biopsy_site = models.CharField(
        ITEM_LABELS["biopsy_site"], max_length=10, choices=BiopsySite.choices, blank=True
    )
    focus_score_per_4mm2 = _measure("focus_score_per_4mm2", 4, 1, "20")
    unstimulated_saliva_ml_15min = _measure("unstimulated_saliva_ml_15min", 5, 2, "30")
    diffuse_sialectasis_on_sialography = _yes_no("diffuse_sialectasis_on_sialography", ITEM_LABELS)
    sialography_stage = models.PositiveSmallIntegerField(
        ITEM_LABELS["sialography_stage"], choices=SialographyStage.choices, null=True, blank=True
    )
    scintigraphy_reduced_function = _yes_no("scintigraphy_reduced_function", ITEM_LABELS)
    gum_test_ml_10min = _measure("gum_test_ml_10min", 5, 2, "60")
    saxon_test_g_2min = _measure("saxon_test_g_2min", 5, 2, "20")
    anti_ssa_ro = _serology("anti_ssa_ro", ITEM_LABELS)
    anti_ssb_la = _serology("anti_ssb_la", ITEM_LABELS)
    past_head_neck_radiation = _yes_no("past_head_neck_radiation", ITEM_LABELS)
    hepatitis_c = _yes_no("hepatitis_c", ITEM_LABELS)
    aids = _yes_no("aids", ITEM_LABELS)
    pre_existing_lymphoma = _yes_no("pre_existing_lymphoma", ITEM_LABELS)
    sarcoidosis = _yes_no("sarcoidosis", ITEM_LABELS)
    graft_versus_host_disease = _yes_no("graft_versus_host_disease", ITEM_LABELS)
    anticholinergic_drugs = _yes_no("anticholinergic_drugs", ITEM_LABELS)
    tests_not_performed = ArrayField(
        models.CharField(max_length=30, choices=SourceTest.choices),
        verbose_name=_("tests not performed"),
        default=list,
        blank=True,
    )

    # --- INC3(a): prior therapy rows live in PriorTherapy --------------------------------
    no_prior_therapy = models.BooleanField(
        _("no prior immunosuppressive, glucocorticoid or biologic therapy"), default=False
    )

    # --- INC3(b): disease features still present (null = not answered, [] = none) ---------
    systemic_involvement = ArrayField(
        models.CharField(max_length=30, choices=SystemicInvolvement.choices),
        verbose_name=FIELD_LABELS["systemic_involvement"],
        null=True,
        blank=True,
    )
    b_cell_activation = ArrayField(
        models.CharField(max_length=30, choices=BCellActivation.choices),
        verbose_name=FIELD_LABELS["b_cell_activation"],
        null=True,
        blank=True,
    )
    esr_persistently_raised = _yes_no("esr_persistently_raised")

    # --- EXC4 serology (numeric labs live in ScreeningLab) -----------------------------
    hbsag = _serology("hbsag")
    hbsab = _serology("hbsab")
    hbcab = _serology("hbcab")
    hcv_ab = _serology("hcv_ab")
    hiv_ever = _yes_no("hiv_ever")
    active_tb = _yes_no("active_tb")
    serology_date = models.DateField(_("date of serology"), null=True, blank=True)

    # --- EXC2, EXC5-EXC9 ------------------------------------------------------------------
    other_trial = _yes_no("other_trial")
    other_trial_last_date = _date("other_trial_last_date")
    chronic_infection_suppressive_therapy = _yes_no("chronic_infection_suppressive_therapy")
    infection_hospitalisation = _yes_no("infection_hospitalisation")
    infection_hospitalisation_last_date = _date("infection_hospitalisation_last_date")
    parenteral_antimicrobials = _yes_no("parenteral_antimicrobials")
    parenteral_antimicrobials_last_date = _date("parenteral_antimicrobials_last_date")
    live_vaccine = _yes_no("live_vaccine")
    live_vaccine_date = _date("live_vaccine_date")
    high_infection_risk = _yes_no("high_infection_risk")
    primary_immunodeficiency = _yes_no("primary_immunodeficiency")
    malignancy_history = _yes_no("malignancy_history")
    severe_uncontrolled_other_disease = _yes_no("severe_uncontrolled_other_disease")
    other_disease_needing_systemic_corticosteroids = _yes_no(
        "other_disease_needing_systemic_corticosteroids"
    )

    # --- INC4 ---------------------------------------------------------------------------
    guardian_agrees = _yes_no("guardian_agrees")
    child_agrees = _yes_no("child_agrees")
    values_checked = values_checked_field()

    record_kind = RecordKind.SCREENING

    class Meta(ClinicalRecord.Meta):
        ordering = ["site__code", "sequence"]
        verbose_name = _("screening")
        verbose_name_plural = _("screenings")
        constraints = [
            *ClinicalRecord.Meta.constraints,
            models.UniqueConstraint(fields=["site", "sequence"], name="screening_unique_sequence"),
            models.CheckConstraint(
                condition=models.Q(date_of_birth__lte=models.F("screening_date")),
                name="screening_born_before_screening",
            ),
        ]
        indexes = [models.Index(fields=["site", "status"])]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("eligibility:detail", args=[self.number])

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def criteria_sets_met_labels(self) -> list[str]:
        """The classification criteria met, as people read them (the field holds codes)."""
        return [str(CriteriaSet(code).label) for code in self.criteria_sets_met]

    @property
    def age_at_screening(self) -> int:
        """INC1 age: completed years on the screening date."""
        return age_in_completed_years(self.date_of_birth, self.screening_date)

    def lab_facts(self, taken_on: date, *, site: str | None = None) -> LabFacts:
        """What picks this child's reference range for a sample of ``taken_on`` (the one
        conversion; ``trialsite.reference_ranges.reference_range`` decides).  ``site``: the
        site's code when the caller has it (saves reading the site again)."""
        return LabFacts(
            age=age_in_completed_years(self.date_of_birth, taken_on),
            sex=self.sex,
            site=site or self.site.code,
        )

    def signature_payload(self) -> dict:
        """What an investigator signs: every source item and the assessment."""
        from eligibility.selectors import signature_payload

        return signature_payload(self)


@pghistory.track()
class PriorTherapy(ClinicalRecord):
    """One period of one drug in the candidate's history (INC3(a), EXC1)."""

    screening = models.ForeignKey(
        Screening, on_delete=models.PROTECT, related_name="prior_therapies"
    )
    drug_name = models.CharField(_("drug"), max_length=100)
    drug_class = models.CharField(_("drug class"), max_length=20, choices=DrugClass.choices)
    start = models.DateField(_("start"))
    stop = models.DateField(_("stop"), null=True, blank=True, help_text=_("Empty if ongoing."))

    site_field = "screening__site"

    class Meta(ClinicalRecord.Meta):
        ordering = ["start", "pk"]
        verbose_name = _("prior therapy")
        verbose_name_plural = _("prior therapies")
        constraints = [
            *ClinicalRecord.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(stop__isnull=True) | models.Q(stop__gte=models.F("start")),
                name="prior_therapy_stops_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drug_name} {self.start}–{self.stop or '…'}"


# The screening labs (codes and names from trialsite.units).
ScreeningAnalyte = units.lab_tests(
    "creatinine", "egfr", "height", "igg", "iga", "wbc", "neutrophils"
)


@pghistory.track()
class ScreeningLab(ClinicalRecord):
    """A screening lab value: as entered (value + unit) and in the canonical unit."""

    screening = models.ForeignKey(Screening, on_delete=models.PROTECT, related_name="labs")
    analyte = models.CharField(_("test"), max_length=20, choices=ScreeningAnalyte.choices)
    value_entered = models.DecimalField(_("value as entered"), max_digits=12, decimal_places=4)
    unit_entered = models.CharField(_("unit as entered"), max_length=20)
    value = models.DecimalField(_("value (canonical unit)"), max_digits=14, decimal_places=6)
    taken_on = models.DateField(_("date of sample"))
    value_checked = value_checked_field()

    site_field = "screening__site"

    class Meta(ClinicalRecord.Meta):
        ordering = ["analyte"]
        verbose_name = _("screening lab")
        verbose_name_plural = _("screening labs")
        constraints = [
            *ClinicalRecord.Meta.constraints,
            # One current value per test; a voided one stays beside its replacement.
            models.UniqueConstraint(
                fields=["screening", "analyte"],
                condition=models.Q(voided_at__isnull=True),
                name="screening_lab_one_current_value",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_analyte_display()} {self.value_entered} {self.unit_entered}"

    @property
    def unit_entered_label(self) -> str:
        return str(units.get_analyte(self.analyte).unit(self.unit_entered).label)

    @property
    def reference_flag(self) -> LabFlag | None:
        """The value against the child's range (None for a test without one: eGFR, height)."""
        if self.analyte not in UNITS:
            return None
        return self.screening.lab_facts(self.taken_on).flag(self.analyte, self.value)

    @property
    def canonical_display(self) -> str:
        return units.format_measure(self.value, units.canonical_unit_label(self.analyte))
