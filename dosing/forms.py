"""Dosing forms: what a value can be (a date not in the future, a possible measure, a
unit the analyte accepts).  Whether an infusion is due, or a dose is right, is decided
by the services with the schedule engine and the dose module."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.utils import formats
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from dosing.measurements import Measurement
from dosing.models import AbsoluteCountUnit, Deviation, Drug, Infusion, Premedication, Visit
from dosing.services import ASSESSMENT_CODES, MANUAL_CATEGORIES
from eligibility.models import Screening
from trialsite import units
from trialsite.forms import (
    ClinicalDatesMixin,
    ClinicalForm,
    NumberField,
    PlausibilityMixin,
    impossible_error,
    number_input,
    tie_errors_to_widgets,
)
from trialsite.protocol import (
    ANTHROPOMETRY_MAX_AGE_DAYS,
    BASELINE_VISIT_CODE,
    DOSE_TOLERANCE_FRACTION,
    UNSCHEDULED_VISIT_PREFIX,
    WEEK_12_VISIT_CODE,
    WEEK_28_VISIT_CODE,
)
from trialsite.reference_ranges import LabFacts, ReferenceRange

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
YES_NO = [("yes", _("Yes")), ("no", _("No"))]


def _yes_no(label: str, **kwargs: Any) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        **kwargs,
    )


# Labels that name a protocol number take it from trialsite.protocol (an amendment is one line).
DOSE_REASON_LABEL = format_lazy(
    # xgettext:no-python-format (a percent sign, not a placeholder)
    _("Reason if the dose differs more than {percent} % from the proposed dose"),
    percent=int(DOSE_TOLERANCE_FRACTION * 100),
)


class _DatedForm(ClinicalDatesMixin, forms.Form):
    """A plain form checking that its dates are not in the future (``today`` passed in)."""

    past_dates: tuple[str, ...] = ()

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in self.past_dates:
            value = data.get(name)
            if value and value > self.today:
                self.add_error(
                    name, forms.ValidationError(_("This date is in the future."), "future")
                )
        return data


def carried_anthropometry(weight: Measurement | None, height: Measurement | None) -> dict:
    """Initial values from the weight and height still valid (``dosing.measurements``):
    prefilled and editable; their date is the older one's (the one a dose check reads)."""
    initial: dict[str, Any] = {}
    if weight is not None:
        initial["weight_kg"] = weight.value
    if height is not None:
        initial["height_cm"] = height.value
    dates = [m.measured_on for m in (weight, height) if m is not None]
    if dates:
        initial["anthropometry_measured_on"] = min(dates)
    return initial


def show_carried(form: forms.BaseForm, carried: dict[str, Measurement | None]) -> None:
    """Say beside each prefilled field where its value comes from and when it was measured
    ("from baseline vitals, 3 Mar 2026"): a coordinator checks it, or changes it."""
    for name, measurement in carried.items():
        if measurement is None or name not in form.fields:
            continue
        field = form.fields[name]
        field.help_text = format_lazy(
            "{} {}",
            _("Prefilled %(value)s %(unit)s %(note)s: change it if measured again.")
            % {
                "value": units.format_decimal(measurement.value),
                "unit": measurement.unit,
                "note": measurement.note,
            },
            field.help_text or "",
        )
        field.widget.attrs["data-carried-from"] = measurement.measured_on.isoformat()


def _plausible(form: forms.Form, name: str, code: str, unit: str = "") -> None:
    value = form.cleaned_data.get(name)
    if value is None or name in form.errors:
        return
    error = impossible_error(code, value, unit or units.get_analyte(code).canonical_unit.key)
    if error is not None:
        form.add_error(name, error)


# --- Day 0 -------------------------------------------------------------------------------


# EXC5's questions, asked at screening and again on Day 0 (same names on both forms).
EXC5_SCREENING_FIELDS = (
    "chronic_infection_suppressive_therapy",
    "infection_hospitalisation",
    "infection_hospitalisation_last_date",
    "parenteral_antimicrobials",
    "parenteral_antimicrobials_last_date",
    "live_vaccine",
    "live_vaccine_date",
    "high_infection_risk",
)


def exc5_screening_answers(screening: Screening) -> dict[str, Any]:
    """The screening's EXC5 answers as the Day 0 form's initial values: each question
    starts from them and is re-confirmed or changed (an unanswered one stays empty)."""
    initial: dict[str, Any] = {}
    for name in EXC5_SCREENING_FIELDS:
        value = getattr(screening, name)
        if isinstance(value, bool):
            initial[name] = "yes" if value else "no"
        elif value is not None:
            initial[name] = value
    return initial


class Day0ConfirmationForm(_DatedForm):
    """EXC5 asked again on Day 0; a "yes" needs its date, which decides the window."""

    past_dates = (
        "confirmed_on",
        "infection_hospitalisation_last_date",
        "parenteral_antimicrobials_last_date",
        "live_vaccine_date",
    )
    confirmed_on = forms.DateField(
        label=_("Day 0 (today's date if confirming now)"), widget=DATE_INPUT
    )
    chronic_infection_suppressive_therapy = _yes_no(
        _("Suppressive therapy for a chronic infection?")
    )
    infection_hospitalisation = _yes_no(_("Ever hospitalised for an infection?"))
    infection_hospitalisation_last_date = forms.DateField(
        label=_("Last day in hospital for infection"), required=False, widget=DATE_INPUT
    )
    parenteral_antimicrobials = _yes_no(
        _("Ever given parenteral antibiotics, antivirals, antifungals or antiparasitics?")
    )
    parenteral_antimicrobials_last_date = forms.DateField(
        label=_("Last day of parenteral antimicrobials"), required=False, widget=DATE_INPUT
    )
    live_vaccine = _yes_no(_("Ever given a live-attenuated vaccine?"))
    live_vaccine_date = forms.DateField(
        label=_("Date of the last live-attenuated vaccine"), required=False, widget=DATE_INPUT
    )
    high_infection_risk = _yes_no(_("Do you judge the infection risk high?"))

    _PAIRS = (
        ("infection_hospitalisation", "infection_hospitalisation_last_date"),
        ("parenteral_antimicrobials", "parenteral_antimicrobials_last_date"),
        ("live_vaccine", "live_vaccine_date"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        confirmed_on = data.get("confirmed_on")
        for answer, date_name in self._PAIRS:
            when = data.get(date_name)
            if data.get(answer) and when is None:
                self.add_error(date_name, _("Give the date: it decides the EXC5 window."))
            if data.get(answer) is False and when is not None:
                self.add_error(date_name, _("Leave the date empty when the answer is no."))
            if when and confirmed_on and when > confirmed_on:
                self.add_error(date_name, _("This date is after Day 0."))
        return data

    def __init__(self, *args: Any, screened_on: date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if screened_on is None:
            return
        note = _("Answered at screening on %(date)s: confirm it or change it.") % {
            "date": formats.date_format(screened_on, "DATE_FORMAT")
        }
        for name in EXC5_SCREENING_FIELDS:
            if name in self.initial:
                self.fields[name].help_text = note
                self.fields[name].widget.attrs["data-from-screening"] = "1"

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "confirmed_on": data["confirmed_on"],
            "chronic_infection_suppressive_therapy": data["chronic_infection_suppressive_therapy"],
            "infection_hospitalisation_last_date": data["infection_hospitalisation_last_date"],
            "parenteral_antimicrobials_last_date": data["parenteral_antimicrobials_last_date"],
            "live_vaccine_date": data["live_vaccine_date"],
            "high_infection_risk": data["high_infection_risk"],
        }


# --- Prescription and administration ---------------------------------------------------------


class PrescriptionForm(_DatedForm):
    """The investigator's order; "Calculate" shows BSA and the proposed dose without saving."""

    past_dates = ("anthropometry_measured_on",)
    drug = forms.ChoiceField(label=_("Drug"), choices=Drug.choices)
    planned_on = forms.DateField(label=_("Infusion planned on"), widget=DATE_INPUT)
    weight_kg = NumberField(
        label=_("Weight (kg)"), max_digits=5, decimal_places=1, min_value=Decimal("0.1"), unit="kg"
    )
    height_cm = NumberField(
        label=_("Height (cm)"), max_digits=5, decimal_places=1, min_value=Decimal("0.1"), unit="cm"
    )
    anthropometry_measured_on = forms.DateField(
        label=_("Weight and height measured on"),
        widget=DATE_INPUT,
        help_text=format_lazy(
            _("At most {days} days before the infusion."), days=ANTHROPOMETRY_MAX_AGE_DAYS
        ),
    )
    prescribed_dose_mg = NumberField(
        unit="mg",
        label=_("Prescribed dose (mg)"),
        max_digits=7,
        decimal_places=1,
        min_value=Decimal("0.1"),
        required=False,
        help_text=_("Filled with the proposed dose after “Calculate”."),
    )
    dose_difference_reason = forms.CharField(
        label=DOSE_REASON_LABEL,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    password = forms.CharField(
        label=_("Your password (e-signature)"),
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_(
            "Signing records your printed name, the time and the meaning “I prescribe this dose”."
        ),
    )

    def __init__(
        self,
        *args: Any,
        signing: bool = True,
        carried: Sequence[Measurement | None] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.signing = signing
        for name in ("weight_kg", "height_cm"):
            self.fields[name].widget.attrs["data-dose-input"] = "1"
        self.fields["drug"].widget.attrs["data-dose-input"] = "1"
        show_carried(self, dict(zip(("weight_kg", "height_cm"), carried, strict=False)))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        _plausible(self, "weight_kg", "weight")
        _plausible(self, "height_cm", "height")
        if self.signing:
            if data.get("prescribed_dose_mg") is None:
                self.add_error("prescribed_dose_mg", _("Enter the dose you prescribe."))
            if not data.get("password"):
                self.add_error("password", _("Enter your password to sign."))
        return data


class InfusionForm(_DatedForm):
    past_dates = ("given_on",)
    given_on = forms.DateField(label=_("Date given"), widget=DATE_INPUT)
    start_time = forms.TimeField(label=_("Start time"), required=False, widget=TIME_INPUT)
    stop_time = forms.TimeField(label=_("Stop time"), required=False, widget=TIME_INPUT)
    administered_dose_mg = NumberField(
        label=_("Administered dose (mg)"),
        max_digits=7,
        decimal_places=1,
        min_value=Decimal("0.1"),
        unit="mg",
    )
    dose_difference_reason = forms.CharField(
        label=DOSE_REASON_LABEL,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    lot_number = forms.CharField(label=_("Lot number"), max_length=50)
    premedication = forms.MultipleChoiceField(
        label=_("Premedication given"),
        choices=Premedication.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    premedication_details = forms.CharField(
        label=_("Premedication details"), max_length=200, required=False
    )
    infusion_reaction = _yes_no(_("Infusion reaction?"))
    reaction_grade = forms.TypedChoiceField(
        label=_("Reaction CTCAE grade"),
        choices=[("", "—"), *[(str(g), str(g)) for g in range(1, 6)]],
        coerce=int,
        empty_value=None,
        required=False,
    )
    reaction_action = forms.CharField(
        label=_("Action taken for the reaction"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("infusion_reaction"):
            if data.get("reaction_grade") is None:
                self.add_error("reaction_grade", _("Give the CTCAE grade of the reaction."))
            if not (data.get("reaction_action") or "").strip():
                self.add_error("reaction_action", _("Say what was done about the reaction."))
        elif data.get("infusion_reaction") is False and data.get("reaction_grade") is not None:
            self.add_error("reaction_grade", _("A grade is only given with a reaction."))
        start, stop = data.get("start_time"), data.get("stop_time")
        if start and stop and stop < start:
            self.add_error("stop_time", _("The stop time is before the start time."))
        if "other" in (data.get("premedication") or []) and not data.get("premedication_details"):
            self.add_error("premedication_details", _("Say which other premedication."))
        return data


# --- B cells and gate labs -----------------------------------------------------------------------


class BCellResultForm(_DatedForm):
    past_dates = ("taken_on",)
    taken_on = forms.DateField(label=_("Date of sample"), widget=DATE_INPUT)
    cd19_percent = NumberField(
        # xgettext:no-python-format (a percent sign, not a placeholder)
        label=_("CD19⁺ B cells (% of lymphocytes)"),
        max_digits=6,
        decimal_places=3,
        min_value=0,
        required=False,
        unit="%",
    )  # above 100: "a percentage cannot exceed 100 %" (clean)
    cd19_absolute_entered = NumberField(
        label=_("CD19⁺ absolute count"),
        max_digits=10,
        decimal_places=3,
        min_value=0,
        required=False,
    )
    cd19_absolute_unit = forms.ChoiceField(
        label=_("Unit of the absolute count"), choices=AbsoluteCountUnit.choices, required=False
    )
    lymphocytes = NumberField(
        label=_("Lymphocytes (to derive the absolute count)"),
        max_digits=9,
        decimal_places=3,
        min_value=0,
        required=False,
    )
    lymphocytes_unit = forms.ChoiceField(
        label=_("Unit of the lymphocyte count"),
        choices=units.unit_choices("lymphocytes"),
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        _plausible(self, "cd19_percent", "cd19_percent")
        measures = ("cd19_percent", "cd19_absolute_entered")
        # A value typed but refused has its own message: "enter one" would contradict it.
        if not any(data.get(n) is not None or n in self.errors for n in measures):
            self.add_error(None, _("Enter the CD19⁺ percentage, the absolute count, or both."))
        lymphocytes = data.get("lymphocytes")
        data["lymphocytes_10e9_l"] = None
        if lymphocytes is not None:
            canonical = units.to_canonical(
                "lymphocytes", lymphocytes, data.get("lymphocytes_unit") or "10^9/L"
            )
            unit = data.get("lymphocytes_unit") or "10^9/L"
            error = impossible_error("lymphocytes", lymphocytes, unit)
            if error is not None:
                self.add_error("lymphocytes", error)
            elif canonical.as_tuple().exponent < -3:
                self.add_error("lymphocytes", _("At most 3 decimals in ×10⁹/L."))
            else:
                data["lymphocytes_10e9_l"] = canonical
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "taken_on": data["taken_on"],
            "cd19_percent": data["cd19_percent"],
            "cd19_absolute_entered": data["cd19_absolute_entered"],
            "cd19_absolute_unit": data["cd19_absolute_unit"],
            "lymphocytes_10e9_l": data["lymphocytes_10e9_l"],
        }


class GateLabsForm(PlausibilityMixin, _DatedForm):
    """IgG, IgA, WBC and neutrophils, each in the unit the laboratory reports."""

    ANALYTES = ("igg", "iga", "wbc", "neutrophils")

    def __init__(self, *args: Any, facts: LabFacts | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The child's ranges shown beside each input (age today, sex, site laboratory).
        self.facts = facts or LabFacts(age=None, sex=None, site=None)
        for code in self.ANALYTES:
            analyte = units.get_analyte(code)
            self.fields[f"{code}_value"] = NumberField(
                label=analyte.name,
                max_digits=12,
                decimal_places=4,
                min_value=0,
                required=False,
                widget=number_input(**{"class": "form-control", "data-lab-value": ""}),
            )
            self.fields[f"{code}_unit"] = forms.ChoiceField(
                label=_("Unit"),
                choices=units.unit_choices(code),
                required=False,
                widget=forms.Select(attrs={"class": "form-select"}),
            )
            self.fields[f"{code}_date"] = forms.DateField(
                label=_("Date of sample"),
                required=False,
                widget=forms.DateInput(
                    attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"
                ),
            )
            self.add_plausibility(f"{code}_value", code, unit_field=f"{code}_unit")
        self.past_dates = tuple(f"{code}_date" for code in self.ANALYTES)

    def full_clean(self) -> None:
        super().full_clean()
        tie_errors_to_widgets(self)  # the lab table renders widgets by hand

    @property
    def rows(self) -> list[tuple[Any, Any, Any, ReferenceRange]]:
        return [
            (self[f"{c}_value"], self[f"{c}_unit"], self[f"{c}_date"], self.facts.range(c))
            for c in self.ANALYTES
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        entered = 0
        for code in self.ANALYTES:
            value, when = data.get(f"{code}_value"), data.get(f"{code}_date")
            if f"{code}_value" in self.errors:  # refused as typed: one message, its own
                entered += 1
                continue
            if value is None and when is None:
                continue
            entered += 1
            if value is None:
                self.add_error(f"{code}_value", _("Enter the value, or clear the date."))
            if when is None:
                self.add_error(f"{code}_date", _("Give the date of the sample."))
        if not entered and not self.errors:
            # Tied to the first input, where the entry starts (and focus goes).
            self.add_error(f"{self.ANALYTES[0]}_value", _("Enter at least one result."))
        return data

    def entries(self) -> list[Any]:
        from dosing.services import LabEntry

        data = self.cleaned_data
        return [
            LabEntry(
                analyte=code,
                value=data[f"{code}_value"],
                unit=data.get(f"{code}_unit") or units.get_analyte(code).canonical_unit.key,
                taken_on=data[f"{code}_date"],
                checked=f"{code}_value" in self.checked_values,
            )
            for code in self.ANALYTES
            if data.get(f"{code}_value") is not None
        ]


class NotDoneForm(forms.Form):
    """An investigator confirms a scheduled event was not given / not done (issue 15)."""

    reason = forms.CharField(
        label=_("Why it was not given or not done"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "The missed-dose or missed-visit deviation becomes final; the course goes on "
            "without it."
        ),
    )


class GateDiscontinueForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I confirm these labs fail EXC10/EXC11: the participant is discontinued."),
    )


# --- Visits and deviations ------------------------------------------------------------------------


class VisitForm(_DatedForm):
    past_dates = ("visit_date",)
    visit_code = forms.ChoiceField(
        label=_("Visit"),
        choices=[
            (BASELINE_VISIT_CODE, _("Baseline (Day 0)")),
            (WEEK_12_VISIT_CODE, _("Week 12 assessment")),
            (WEEK_28_VISIT_CODE, _("Week 28 assessment (end of treatment)")),
            (UNSCHEDULED_VISIT_PREFIX, _("Unscheduled visit")),
        ],
    )
    visit_date = forms.DateField(label=_("Visit date"), widget=DATE_INPUT)
    out_of_window_explanation = forms.CharField(
        label=_("Explanation if out of window"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the date is outside the visit's window."),
    )

    def clean_visit_code(self) -> str:
        code = self.cleaned_data["visit_code"]
        if code not in (*ASSESSMENT_CODES, UNSCHEDULED_VISIT_PREFIX):
            raise forms.ValidationError(_("Unknown visit."))
        return code


class VisitEditForm(ClinicalForm):
    class Meta:
        model = Visit
        fields = ["visit_date", "out_of_window_explanation"]
        widgets = {
            "visit_date": DATE_INPUT,
            "out_of_window_explanation": forms.Textarea(attrs={"rows": 2}),
        }


class DeviationForm(_DatedForm):
    past_dates = ("occurred_on",)
    category = forms.ChoiceField(
        label=_("Category"), choices=[(c.value, c.label) for c in MANUAL_CATEGORIES]
    )
    occurred_on = forms.DateField(label=_("Date"), widget=DATE_INPUT)
    visit_code = forms.CharField(label=_("Visit (code), if any"), max_length=10, required=False)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}))
    explanation = forms.CharField(
        label=_("Explanation"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    corrective_action = forms.CharField(
        label=_("Corrective action"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class DeviationExplainForm(ClinicalForm):
    class Meta:
        model = Deviation
        fields = ["explanation", "corrective_action"]
        widgets = {
            "explanation": forms.Textarea(attrs={"rows": 3}),
            "corrective_action": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["explanation"].required = True


class DeviationReviewForm(forms.Form):
    review_comment = forms.CharField(
        label=_("Review comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class DeviationFilterForm(forms.Form):
    site = forms.ChoiceField(label=_("Site"), required=False)
    open_only = forms.BooleanField(label=_("Not yet reviewed only"), required=False)

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", _("All your sites"))] + [
            (s.code, s.code) for s in sites
        ]


class InfusionCorrectionForm(ClinicalForm):
    """What may be corrected on a recorded infusion (with a reason)."""

    class Meta:
        model = Infusion
        fields = [
            "start_time",
            "stop_time",
            "lot_number",
            "premedication",
            "premedication_details",
            "infusion_reaction",
            "reaction_grade",
            "reaction_action",
        ]
        widgets = {
            "start_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "stop_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["premedication"] = forms.MultipleChoiceField(
            label=Infusion._meta.get_field("premedication").verbose_name,
            choices=Premedication.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
        self.initial["premedication"] = self.instance.premedication

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("infusion_reaction") and not data.get("reaction_grade"):
            self.add_error("reaction_grade", _("Grade the reaction (CTCAE 1-5)."))
        if not data.get("infusion_reaction") and data.get("reaction_grade"):
            self.add_error("reaction_grade", _("A grade goes with a reaction."))
        return data
