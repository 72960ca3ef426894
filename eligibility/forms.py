"""Screening forms, one per section so a screening can be completed over several sittings.

Forms check what a value can be (a date not in the future, a possible lab
value, a unit the analyte accepts); whether the candidate is eligible is
decided by ``eligibility.criteria`` from what was saved.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.utils.translation import gettext_lazy as _

from eligibility.classification import SEROLOGY_FIELDS as SEROLOGY_RESULTS
from eligibility.classification import Serology, SourceTest
from eligibility.criteria import BCellActivation, DrugClass, SystemicInvolvement, classify_drug
from eligibility.models import PriorTherapy, Screening, ScreeningAnalyte, ScreeningLab
from trialsite import protocol, units
from trialsite.forms import (
    ClinicalDatesMixin,
    ClinicalForm,
    NumberField,
    OptimisticLockMixin,
    PlausibilityMixin,
    ReasonForChangeMixin,
    number_input,
    tie_errors_to_widgets,
    version_field,
)
from trialsite.reference_ranges import UNITS, ReferenceRange

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class YesNoUnknown(forms.RadioSelect):
    """Yes / No / Not known yet as radio buttons (a nullable boolean)."""

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(
            attrs,
            choices=[("unknown", _("Not known yet")), ("true", _("Yes")), ("false", _("No"))],
        )

    def format_value(self, value: Any) -> list[str]:
        return [
            {True: "true", False: "false", "true": "true", "false": "false"}.get(value, "unknown")
        ]

    def value_from_datadict(self, data, files, name) -> bool | None:
        return {"true": True, "false": False}.get(data.get(name))


def serology_field(label: Any) -> forms.TypedChoiceField:
    """Positive / Negative / Not done (issue 19), or not known yet (stored as None)."""
    return forms.TypedChoiceField(
        label=label,
        choices=[("", _("Not known yet")), *Serology.choices],
        required=False,
        empty_value=None,
        widget=forms.RadioSelect,
    )


def _yes_no_widgets(model: type, fields: list[str]) -> dict[str, forms.Widget]:
    widgets: dict[str, forms.Widget] = {}
    for name in fields:
        field = model._meta.get_field(name)
        if field.get_internal_type() == "BooleanField" and field.null:
            widgets[name] = YesNoUnknown()
        elif field.get_internal_type() == "DateField":
            widgets[name] = DATE_INPUT
    return widgets


class ScreeningSectionForm(ClinicalForm):
    """A section of the screening; ``today`` is passed in to check dates."""

    # (field, label) pairs of dates that cannot be in the future.
    past_dates: tuple[str, ...] = ()

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        for name in SEROLOGY_RESULTS:
            if name in self.fields:
                self.fields[name] = serology_field(self.fields[name].label)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in self.past_dates:
            value = data.get(name)
            if value and value > self.today:
                self.add_error(name, _("This date is in the future."))
            born = self.instance.date_of_birth if self.instance.pk else data.get("date_of_birth")
            if value and born and value < born and name != "date_of_birth":
                self.add_error(name, _("This date is before the candidate's date of birth."))
        return data


class CandidateForm(ScreeningSectionForm):
    past_dates = ("screening_date", "date_of_birth")

    class Meta:
        model = Screening
        fields = ["screening_date", "date_of_birth", "sex", "planned_day_0"]
        widgets = {
            "screening_date": DATE_INPUT,
            "date_of_birth": DATE_INPUT,
            "planned_day_0": DATE_INPUT,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        screening_date, planned = data.get("screening_date"), data.get("planned_day_0")
        if screening_date and planned and planned < screening_date:
            self.add_error("planned_day_0", _("Day 0 cannot be before the screening date."))
        born = data.get("date_of_birth")
        if born and screening_date and born > screening_date:
            self.add_error("date_of_birth", _("The date of birth is after the screening date."))
        return data


class NewScreeningForm(CandidateForm):
    site = forms.ModelChoiceField(queryset=None, label=_("Site"), empty_label=None)

    class Meta(CandidateForm.Meta):
        fields = ["site", *CandidateForm.Meta.fields]

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        if sites.count() == 1:
            self.fields["site"].widget = forms.HiddenInput()
            self.fields["site"].initial = sites.first()


SJOGREN_FIELDS = [
    "dry_eyes_daily_over_3_months",
    "recurrent_sand_or_gravel_in_eyes",
    "tear_substitutes_over_3_times_daily",
    "dry_mouth_daily_over_3_months",
    "recurrent_salivary_gland_swelling",
    "drinks_liquids_to_swallow_dry_food",
    "schirmer_mm_5min",
    "van_bijsterveld_score",
    "fluorescein_staining_positive",
    "biopsy_site",
    "focus_score_per_4mm2",
    "unstimulated_saliva_ml_15min",
    "diffuse_sialectasis_on_sialography",
    "sialography_stage",
    "scintigraphy_reduced_function",
    "gum_test_ml_10min",
    "saxon_test_g_2min",
    "anti_ssa_ro",
    "anti_ssb_la",
    "tests_not_performed",
    "past_head_neck_radiation",
    "hepatitis_c",
    "aids",
    "pre_existing_lymphoma",
    "sarcoidosis",
    "graft_versus_host_disease",
    "anticholinergic_drugs",
]

# Headings that group the Sjögren items on screen, as the criteria number them.
SJOGREN_GROUPS = [
    (_("AECG I – ocular symptoms"), SJOGREN_FIELDS[0:3]),
    (_("AECG II – oral symptoms"), SJOGREN_FIELDS[3:6]),
    (_("AECG III / Japanese 3 – ocular signs"), SJOGREN_FIELDS[6:9]),
    (_("AECG IV / Japanese 1 – histopathology"), SJOGREN_FIELDS[9:11]),
    (_("AECG V / Japanese 2 – salivary glands"), SJOGREN_FIELDS[11:17]),
    (_("AECG VI / Japanese 4 – autoantibodies"), SJOGREN_FIELDS[17:19]),
    (_("Tests not performed"), SJOGREN_FIELDS[19:20]),
    (_("AECG exclusion conditions"), SJOGREN_FIELDS[20:]),
]


class SjogrenForm(ScreeningSectionForm):
    class Meta:
        model = Screening
        fields = SJOGREN_FIELDS
        widgets = _yes_no_widgets(Screening, SJOGREN_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tests_not_performed"] = forms.MultipleChoiceField(
            label=_("Tests not performed"),
            choices=SourceTest.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            initial=self.instance.tests_not_performed,
            help_text=_("A test not performed counts as negative instead of missing."),
        )
        self.initial["tests_not_performed"] = self.instance.tests_not_performed

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("focus_score_per_4mm2") is not None and not data.get("biopsy_site"):
            self.add_error("biopsy_site", _("Say which gland the biopsy was taken from."))
        return data


class DiseaseFeaturesForm(ScreeningSectionForm):
    """INC3(b): each list can be left unanswered, answered "none", or ticked."""

    systemic_involvement = forms.MultipleChoiceField(
        label=_("Systemic involvement still present"),
        choices=SystemicInvolvement.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    systemic_none = forms.BooleanField(label=_("None of these"), required=False)
    b_cell_activation = forms.MultipleChoiceField(
        label=_("B-cell activation still present"),
        choices=BCellActivation.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    b_cell_none = forms.BooleanField(label=_("None of these"), required=False)

    class Meta:
        model = Screening
        fields = ["esr_persistently_raised"]
        widgets = {"esr_persistently_raised": YesNoUnknown()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, none_name in (
            ("systemic_involvement", "systemic_none"),
            ("b_cell_activation", "b_cell_none"),
        ):
            value = getattr(self.instance, name)
            self.initial[name] = value
            self.initial[none_name] = value == []

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name, none_name in (
            ("systemic_involvement", "systemic_none"),
            ("b_cell_activation", "b_cell_none"),
        ):
            if data.get(name) and data.get(none_name):
                self.add_error(none_name, _("Tick “none” or some items, not both."))
        return data

    def save(self, commit: bool = True) -> Screening:
        screening = super().save(commit=False)
        for name, none_name in (
            ("systemic_involvement", "systemic_none"),
            ("b_cell_activation", "b_cell_none"),
        ):
            chosen = self.cleaned_data.get(name) or []
            none = self.cleaned_data.get(none_name)
            setattr(screening, name, chosen if chosen else ([] if none else None))
        if commit:
            screening.save()
        return screening

    def saved_fields_changed(self) -> list[str]:
        # "None of these" toggling is a change of the list it belongs to.
        changed = super().saved_fields_changed()
        return [name for name in changed if name not in ("systemic_none", "b_cell_none")]


EXCLUSION_FIELDS = [
    "other_trial",
    "other_trial_last_date",
    "chronic_infection_suppressive_therapy",
    "infection_hospitalisation",
    "infection_hospitalisation_last_date",
    "parenteral_antimicrobials",
    "parenteral_antimicrobials_last_date",
    "live_vaccine",
    "live_vaccine_date",
    "high_infection_risk",
    "primary_immunodeficiency",
    "malignancy_history",
    "severe_uncontrolled_other_disease",
    "other_disease_needing_systemic_corticosteroids",
]

# A date belongs to a "yes" answer: (answer field, date field).
_DATED_ANSWERS = (
    ("other_trial", "other_trial_last_date"),
    ("infection_hospitalisation", "infection_hospitalisation_last_date"),
    ("parenteral_antimicrobials", "parenteral_antimicrobials_last_date"),
    ("live_vaccine", "live_vaccine_date"),
)


class ExclusionsForm(ScreeningSectionForm):
    past_dates = tuple(date_field for _answer, date_field in _DATED_ANSWERS)

    class Meta:
        model = Screening
        fields = EXCLUSION_FIELDS
        widgets = _yes_no_widgets(Screening, EXCLUSION_FIELDS)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for answer, date_field in _DATED_ANSWERS:
            if data.get(date_field) and data.get(answer) is not True:
                self.add_error(
                    date_field, _("A date goes with a “Yes” answer: answer Yes or clear the date.")
                )
        return data


class AgreementForm(ScreeningSectionForm):
    class Meta:
        model = Screening
        fields = ["guardian_agrees", "child_agrees"]
        widgets = _yes_no_widgets(Screening, ["guardian_agrees", "child_agrees"])
        help_texts = {
            "child_agrees": _("Child assent is required from age %(age)s.")
            % {"age": protocol.ASSENT_MIN_AGE_YEARS},
        }


class NoPriorTherapyForm(ScreeningSectionForm):
    class Meta:
        model = Screening
        fields = ["no_prior_therapy"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        has_rows = self.instance.prior_therapies.filter(voided_at__isnull=True).exists()
        if data.get("no_prior_therapy") and has_rows:
            self.add_error(
                "no_prior_therapy",
                _("Therapy periods are recorded: void them first if they were entered in error."),
            )
        return data


class PriorTherapyForm(ClinicalForm):
    class Meta:
        model = PriorTherapy
        fields = ["drug_name", "drug_class", "start", "stop"]
        widgets = {"start": DATE_INPUT, "stop": DATE_INPUT}

    def __init__(self, *args: Any, screening: Screening, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.screening = screening
        self.today = today
        self.fields["drug_class"].required = False
        self.fields["drug_class"].help_text = _(
            "Filled in from the protocol's drug lists when left empty."
        )
        self.fields["drug_name"].widget.attrs["list"] = "known-drugs"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        name, chosen = data.get("drug_name", ""), data.get("drug_class")
        known = classify_drug(name) if name else None
        if not chosen:
            if known is None:
                self.add_error(
                    "drug_class", _("This drug is on no protocol list: choose its class.")
                )
            else:
                data["drug_class"] = known
        elif known is not None and chosen != known:
            self.add_error(
                "drug_class",
                _("The protocol classes %(drug)s as “%(known)s”.")
                % {"drug": name, "known": DrugClass(known).label},
            )
        start, stop = data.get("start"), data.get("stop")
        for field_name, value in (("start", start), ("stop", stop)):
            if value and value > self.today:
                self.add_error(field_name, _("This date is in the future."))
            if value and value < self.screening.date_of_birth:
                self.add_error(field_name, _("This date is before the candidate's date of birth."))
        if start and stop and stop < start:
            self.add_error("stop", _("The stop date is before the start date."))
        return data

    def save(self, commit: bool = True) -> PriorTherapy:
        therapy = super().save(commit=False)
        therapy.drug_class = self.cleaned_data["drug_class"]
        if commit:
            therapy.save()
        return therapy


SEROLOGY_FIELDS = ["hbsag", "hbsab", "hbcab", "hcv_ab", "hiv_ever", "active_tb", "serology_date"]


class LabsForm(
    PlausibilityMixin, ClinicalDatesMixin, OptimisticLockMixin, ReasonForChangeMixin, forms.Form
):
    """The screening labs (value, unit, date each) and serology, on one page.

    Values are stored as entered and in the analyte's canonical unit; an
    impossible value is refused with the field named.
    """

    def __init__(self, *args: Any, screening: Screening, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.screening = screening
        self.today = today
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.existing = {lab.analyte: lab for lab in screening.labs.all() if not lab.is_voided}
        for analyte in ScreeningAnalyte:
            name = str(analyte.label)
            lab = self.existing.get(analyte.value)
            self.fields[f"{analyte}_value"] = NumberField(
                label=name,
                required=False,
                max_digits=12,
                decimal_places=4,
                widget=number_input(**{"class": "form-control", "data-lab-value": ""}),
            )
            self.fields[f"{analyte}_unit"] = forms.ChoiceField(
                label=_("%(test)s unit") % {"test": name},
                choices=units.unit_choices(analyte.value),
                required=False,
                widget=forms.Select(attrs={"class": "form-select"}),
            )
            self.fields[f"{analyte}_date"] = forms.DateField(
                label=_("%(test)s date") % {"test": name},
                required=False,
                widget=forms.DateInput(
                    attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"
                ),
            )
            if lab:
                self.initial[f"{analyte}_value"] = lab.value_entered
                self.initial[f"{analyte}_unit"] = lab.unit_entered
                self.initial[f"{analyte}_date"] = lab.taken_on
            self.add_plausibility(
                f"{analyte}_value",
                analyte.value,
                unit_field=f"{analyte}_unit",
                checked=bool(lab and lab.value_checked),
            )
        for name in SEROLOGY_FIELDS:
            model_field = Screening._meta.get_field(name)
            if name == "serology_date":
                self.fields[name] = forms.DateField(
                    label=model_field.verbose_name, required=False, widget=DATE_INPUT
                )
            elif name in SEROLOGY_RESULTS:
                self.fields[name] = serology_field(model_field.verbose_name)
            else:
                self.fields[name] = forms.NullBooleanField(
                    label=model_field.verbose_name, required=False, widget=YesNoUnknown()
                )
            self.initial[name] = getattr(screening, name)
        # The screening's version: the labs page edits the screening and its lab rows.
        self.fields["version"] = version_field()
        self.initial["version"] = screening.version
        self.add_reason_field()

    def full_clean(self) -> None:
        super().full_clean()
        tie_errors_to_widgets(self)  # the lab table renders widgets by hand

    @property
    def analyte_rows(self) -> list[tuple[Any, Any, Any, ReferenceRange | None]]:
        """Per test its inputs and the child's range at screening (None: no range, e.g.
        eGFR and height), shown beside the input with the H/L flag as it is typed."""
        facts = self.screening.lab_facts(self.screening.screening_date)
        return [
            (
                self[f"{a}_value"],
                self[f"{a}_unit"],
                self[f"{a}_date"],
                facts.range(a.value) if a.value in UNITS else None,
            )
            for a in ScreeningAnalyte
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.lab_values: dict[str, tuple[Decimal, str, Decimal, date] | None] = {}
        for analyte in ScreeningAnalyte:
            value = data.get(f"{analyte}_value")
            unit = data.get(f"{analyte}_unit") or units.get_analyte(analyte).canonical_unit.key
            taken_on = data.get(f"{analyte}_date")
            if f"{analyte}_value" in self.errors:  # refused as typed: one message, its own
                continue
            if value is None and taken_on is None:
                self.lab_values[analyte] = None
                continue
            if value is None:
                self.add_error(f"{analyte}_value", _("Enter the value or clear the date."))
                continue
            if taken_on is None:
                self.add_error(f"{analyte}_date", _("Enter the date of the sample."))
                continue
            try:
                canonical = units.to_canonical(analyte, value, unit)
            except (units.UnitError, InvalidOperation):
                self.add_error(f"{analyte}_value", _("This value cannot be read."))
                continue
            # Possible and plausible: PlausibilityMixin, after this clean.
            if taken_on > self.today:
                self.add_error(f"{analyte}_date", _("This date is in the future."))
                continue
            if taken_on < self.screening.date_of_birth:
                self.add_error(
                    f"{analyte}_date", _("This date is before the candidate's date of birth.")
                )
                continue
            self.lab_values[analyte] = (value, unit, canonical, taken_on)
        serology_date = data.get("serology_date")
        if serology_date and serology_date > self.today:
            self.add_error("serology_date", _("This date is in the future."))
        elif serology_date and serology_date < self.screening.date_of_birth:
            self.add_error("serology_date", _("This date is before the candidate's date of birth."))
        self.check_reason()
        return data

    @property
    def reason(self) -> str:
        return (self.cleaned_data.get(self.reason_field) or "").strip()


def lab_is_unchanged(
    lab: ScreeningLab, value: Decimal, unit: str, taken_on: date, checked: bool = False
) -> bool:
    return (
        lab.value_entered == value
        and lab.unit_entered == unit
        and lab.taken_on == taken_on
        and lab.value_checked == checked
    )


class ScreenFailForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for screen failure"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The failed criteria are recorded automatically; add what else happened."),
    )


class LogFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)
    site = forms.ChoiceField(label=_("Site"), required=False)

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from eligibility.models import ScreeningStatus

        self.fields["status"].choices = [("", _("All")), *ScreeningStatus.choices]
        self.fields["site"].choices = [("", _("All my sites"))] + [(s.code, s.code) for s in sites]


# The screening's sections in the order a coordinator fills them in.
SECTIONS = {
    "candidate": (CandidateForm, _("Candidate")),
    "sjogren": (SjogrenForm, _("Sjögren's classification items (AECG 2002 / Japanese 1999)")),
    "therapy": (NoPriorTherapyForm, _("Prior therapy (INC3a, EXC1)")),
    "disease": (DiseaseFeaturesForm, _("Disease features still present (INC3b)")),
    "exclusions": (ExclusionsForm, _("Other trials, infections and other conditions")),
    "agreement": (AgreementForm, _("Agreement to the treatment (INC4)")),
}
SECTION_ORDER = ["candidate", "sjogren", "therapy", "disease", "labs", "exclusions", "agreement"]
