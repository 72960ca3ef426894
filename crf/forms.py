"""CRF forms: they check what a value can be; scores are computed from what is saved.

Every form of a saved record asks for a reason for change (``ClinicalForm``).  A level,
a unit or a value that cannot exist is refused here and again by the model and the
database, so a crafted POST stores nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from crispy_forms.helper import FormHelper
from django import forms
from django.utils.translation import gettext_lazy as _

from crf import essdai
from crf.glucocorticoids import FREQUENCIES, counts_towards_dose
from crf.models import (
    MG_PER_UNIT,
    AdverseEvent,
    AdverseEventUpdate,
    AeOutcome,
    ConcomitantMedication,
    CtcaeGrade,
    EssdaiAssessment,
    EsspriAssessment,
    GlandFunction,
    PhysicianGlobal,
    SafetyReview,
    SeriousCriterion,
    Vitals,
)
from dosing import measurements
from dosing.forms import show_carried
from dosing.models import LabAnalyte, LabResult, Visit
from trialsite import ctcae, protocol, units
from trialsite.forms import (
    ClinicalDatesMixin,
    ClinicalForm,
    NumberField,
    OptimisticLockMixin,
    PlausibilityMixin,
    ReasonForChangeMixin,
    number_input,
    tie_errors_to_widgets,
)
from trialsite.reference_ranges import LabFlag, ReferenceRange, Significance

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

# Messages the tests import.
FUTURE_DATE = _("This date is in the future.")
SERIOUS_NEEDS_CRITERION = _("A serious adverse event needs at least one ICH E2A criterion.")
CRITERIA_ONLY_IF_SERIOUS = _("Seriousness criteria go with a serious event: answer Yes or untick.")
GRADE_5_IFF_FATAL = _(
    "CTCAE grade 5 is death related to the event: grade 5 goes with a fatal outcome."
)
FATAL_NEEDS_DEATH = _("A fatal event is serious: tick “Results in death”.")
GLUCOCORTICOID_NEEDS_MG = _(
    "A glucocorticoid dose is converted to prednisone equivalent: give it in mg, g or µg "
    "with a regular frequency."
)


def yes_no_field(label: Any, help_text: Any = "") -> forms.TypedChoiceField:
    """A required Yes/No answer as radio buttons (an unticked box is not an answer)."""
    return forms.TypedChoiceField(
        label=label,
        help_text=help_text,
        choices=[("True", _("Yes")), ("False", _("No"))],
        coerce=lambda value: value == "True",
        widget=forms.RadioSelect,
    )


def _not_future(form: forms.Form, data: dict[str, Any], names: Iterable[str], today: date) -> None:
    for name in names:
        value = data.get(name)
        if value and value > today:
            form.add_error(name, forms.ValidationError(FUTURE_DATE, code="future"))


# --- Visit CRFs ------------------------------------------------------------------------


class VisitCrfForm(ClinicalForm):
    """A form that belongs to one visit."""

    # {field: measure} a new record starts from, when a value still valid on the visit
    # date was entered before (``dosing.measurements``): prefilled, editable, dated.
    carried_fields: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, visit: Visit, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.visit = visit
        self.today = today
        # A blank CRF (crf.blank) is built on an unsaved visit of no one: nothing to carry.
        if self.carried_fields and not self.is_edit and visit.participant_id is not None:
            self._carry_forward()

    def _carry_forward(self) -> None:
        carried = {
            name: measurements.latest_valid_measurement(
                self.visit.participant, measure, self.visit.visit_date
            )
            for name, measure in self.carried_fields.items()
        }
        for name, measurement in carried.items():
            if measurement is not None:
                self.initial[name] = measurement.value
        show_carried(self, carried)


class EssdaiForm(VisitCrfForm):
    """The 12 domains, each offering only its own levels, each level with its description."""

    class Meta:
        model = EssdaiAssessment
        fields = list(essdai.DOMAIN_CODES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for domain in essdai.DOMAINS:
            self.fields[domain.code] = forms.TypedChoiceField(
                label=domain.name,
                choices=essdai.level_choices(domain.code),
                coerce=int,
                empty_value=None,
                widget=forms.RadioSelect(
                    attrs={"class": "form-check-input", "data-essdai-level": domain.code}
                ),
            )

    @property
    def domain_rows(self) -> list[tuple[essdai.EssdaiDomain, forms.BoundField]]:
        return [(domain, self[domain.code]) for domain in essdai.DOMAINS]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        levels = {code: data.get(code) for code in essdai.DOMAIN_CODES}
        if None not in levels.values():
            try:
                essdai.score_essdai(levels)
            except essdai.EssdaiError as exc:
                self.add_error(None, forms.ValidationError(str(exc), code=exc.code))
        return data


class EsspriForm(VisitCrfForm):
    class Meta:
        model = EsspriAssessment
        fields = ["dryness", "fatigue", "pain"]
        labels = {
            "dryness": _("How severe has your dryness been during the last 2 weeks?"),
            "fatigue": _("How severe has your fatigue been during the last 2 weeks?"),
            "pain": _(
                "How severe has your pain (joint or muscular pain in your arms or legs) been "
                "during the last 2 weeks?"
            ),
        }
        help_texts = dict.fromkeys(
            ["dryness", "fatigue", "pain"], _("0 = no symptom, 10 = the worst imaginable.")
        )
        widgets = dict.fromkeys(
            ["dryness", "fatigue", "pain"],
            forms.NumberInput(attrs={"min": 0, "max": 10, "step": 1}),
        )


class PhysicianGlobalForm(VisitCrfForm):
    class Meta:
        model = PhysicianGlobal
        fields = ["score"]
        help_texts = {"score": _("0 = no disease activity, 10 = maximal disease activity.")}


class GlandFunctionForm(VisitCrfForm):
    # Baseline from screening within SCR1's window (GLAND_FUNCTION_VALID_DAYS).
    carried_fields: ClassVar[dict[str, str]] = {
        "schirmer_mm_5min": measurements.SCHIRMER,
        "unstimulated_saliva_ml_15min": measurements.SALIVARY_FLOW,
    }

    class Meta:
        model = GlandFunction
        fields = ["schirmer_mm_5min", "unstimulated_saliva_ml_15min", "not_done_reason"]
        widgets = {"not_done_reason": forms.Textarea(attrs={"rows": 2})}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        missing = [
            name
            for name in ("schirmer_mm_5min", "unstimulated_saliva_ml_15min")
            if data.get(name) is None and name not in self.errors
        ]
        if missing and not (data.get("not_done_reason") or "").strip():
            self.add_error(
                "not_done_reason", _("Say why a test was not done, or enter its result.")
            )
        return data


class VitalsForm(VisitCrfForm):
    # An infusion's vitals start from the weight and height measured within 7 days.
    carried_fields: ClassVar[dict[str, str]] = {
        "weight_kg": measurements.WEIGHT,
        "height_cm": measurements.HEIGHT,
    }

    class Meta:
        model = Vitals
        fields = [
            "weight_kg",
            "height_cm",
            "temperature_c",
            "heart_rate_bpm",
            "respiratory_rate",
            "systolic_mmhg",
            "diastolic_mmhg",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        systolic, diastolic = data.get("systolic_mmhg"), data.get("diastolic_mmhg")
        if systolic is not None and diastolic is not None and diastolic >= systolic:
            self.add_error(
                "diastolic_mmhg", _("The diastolic pressure must be below the systolic.")
            )
        return data


class SafetyReviewForm(VisitCrfForm):
    class Meta:
        model = SafetyReview
        fields = ["new_adverse_events", "medication_changes", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("new_adverse_events", "medication_changes"):
            field = SafetyReview._meta.get_field(name)
            self.fields[name] = yes_no_field(field.verbose_name, field.help_text)


# --- Labs of a visit -------------------------------------------------------------------


_FINGERPRINT_PREFIX = "labs:"


def labs_fingerprint(labs: Iterable[LabResult]) -> str:
    """The stored state of a visit's labs (each result's id and version), posted with the
    panel for optimistic locking: the service compares it with the stored state and
    names the tests that changed meanwhile."""
    state = ",".join(f"{lab.pk}:{lab.version}" for lab in sorted(labs, key=lambda lab: lab.pk))
    return _FINGERPRINT_PREFIX + state


def parse_labs_fingerprint(value: str) -> dict[int, int]:
    """``labs_fingerprint``'s text back to {result id: version}; ValueError if unreadable."""
    if not value.startswith(_FINGERPRINT_PREFIX):
        raise ValueError(value)
    state: dict[int, int] = {}
    for item in filter(None, value.removeprefix(_FINGERPRINT_PREFIX).split(",")):
        pk, version = item.split(":")
        state[int(pk)] = int(version)
    return state


def significance_field(test: Any) -> forms.ChoiceField:
    """ "Clinically significant?" for a value outside the child's range (issue 19)."""
    return forms.ChoiceField(
        label=_("%(test)s: clinically significant?") % {"test": test},
        choices=[("", _("Not judged yet")), *Significance.choices],
        required=False,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )


@dataclass(frozen=True)
class LabEntryRow:
    """One test of the lab panel as the entry page shows it."""

    value: forms.BoundField
    unit: forms.BoundField
    significance: forms.BoundField
    range: ReferenceRange
    flag: LabFlag | None  # the stored value's

    @property
    def grade(self) -> ctcae.LabGrade | None:
        """The stored value's CTCAE v5 grade, where CTCAE grades this test's value."""
        if self.flag is None:
            return None
        return ctcae.lab_grade(self.range.code, self.flag.value, self.flag.range)

    @property
    def factors(self) -> str:
        """{unit key: factor to the canonical unit}, for the flag computed as one types."""
        analyte = units.get_analyte(self.range.code)
        return json.dumps({unit.key: str(unit.factor) for unit in analyte.units})

    @property
    def lower(self) -> str:
        return "" if self.range.lower is None else str(self.range.lower)

    @property
    def upper(self) -> str:
        return "" if self.range.upper is None else str(self.range.upper)


class VisitLabsForm(
    PlausibilityMixin, ClinicalDatesMixin, OptimisticLockMixin, ReasonForChangeMixin, forms.Form
):
    """The visit's lab panel: a value and its unit per test, one date of sample.

    Stored as entered and in the canonical unit; an impossible value is refused with the
    test named.  Clearing a saved value voids it (with the reason for change).
    """

    taken_on = forms.DateField(label=_("Date of sample"), required=False, widget=DATE_INPUT)
    fingerprint = forms.CharField(widget=forms.HiddenInput, required=False, max_length=2000)
    lock_field = "fingerprint"

    def __init__(
        self, *args: Any, visit: Visit, existing: dict[str, LabResult], today: date, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.visit = visit
        self.today = today
        self.existing = existing
        self.helper = FormHelper()
        self.helper.form_tag = False
        for analyte in LabAnalyte:
            lab = existing.get(analyte.value)
            self.fields[f"{analyte}_value"] = NumberField(
                label=analyte.label,
                required=False,
                max_digits=12,
                decimal_places=4,
                widget=number_input(**{"class": "form-control", "data-lab-value": ""}),
            )
            self.fields[f"{analyte}_unit"] = forms.ChoiceField(
                label=_("%(test)s unit") % {"test": analyte.label},
                choices=units.unit_choices(analyte.value),
                required=False,
                widget=forms.Select(attrs={"class": "form-select", "data-lab-unit": ""}),
            )
            self.fields[f"{analyte}_significance"] = significance_field(analyte.label)
            if lab is not None:
                # 6.2, not 6.2000 (the column keeps 4 places); equal as a Decimal.
                self.initial[f"{analyte}_value"] = Decimal(units.format_decimal(lab.value_entered))
                self.initial[f"{analyte}_unit"] = lab.unit_entered
                self.initial[f"{analyte}_significance"] = lab.significance
            self.add_plausibility(
                f"{analyte}_value",
                analyte.value,
                unit_field=f"{analyte}_unit",
                checked=bool(lab and lab.value_checked),
            )
        dates = sorted(lab.taken_on for lab in existing.values())
        self.initial["taken_on"] = dates[-1] if dates else visit.visit_date
        self.initial["fingerprint"] = labs_fingerprint(existing.values())
        if existing:
            self.add_reason_field()

    def full_clean(self) -> None:
        super().full_clean()
        tie_errors_to_widgets(self)  # the lab table renders widgets by hand

    @property
    def analyte_rows(self) -> list[LabEntryRow]:
        """Per test: its value, unit and judgement inputs, this child's range on the visit
        date and the stored result's flag and CTCAE grade."""
        participant = self.visit.participant
        facts = participant.lab_facts(self.visit_taken_on())
        rows = []
        for a in LabAnalyte:
            lab = self.existing.get(a.value)
            rows.append(
                LabEntryRow(
                    value=self[f"{a}_value"],
                    unit=self[f"{a}_unit"],
                    significance=self[f"{a}_significance"],
                    range=facts.range(a.value),
                    flag=participant.lab_facts(lab.taken_on).flag(a.value, lab.value)
                    if lab
                    else None,
                )
            )
        return rows

    def visit_taken_on(self) -> date:
        """The date of sample the ranges are for: the one entered, else the stored one."""
        value = self.data.get("taken_on") if self.is_bound else None
        try:
            return date.fromisoformat(value) if value else self.initial["taken_on"]
        except ValueError:
            return self.initial["taken_on"]

    def clean_fingerprint(self) -> dict[int, int] | None:
        try:
            return parse_labs_fingerprint(self.cleaned_data.get("fingerprint") or "")
        except ValueError:
            return None  # OptimisticLockMixin: a form error, nothing saved

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        taken_on = data.get("taken_on")
        self.lab_values: dict[str, tuple[Decimal, str, Decimal, str] | None] = {}
        facts = self.visit.participant.lab_facts(taken_on or self.visit.visit_date)
        for analyte in LabAnalyte:
            value = data.get(f"{analyte}_value")
            unit = data.get(f"{analyte}_unit") or units.get_analyte(analyte).canonical_unit.key
            if value is None:
                self.lab_values[analyte] = None
                continue
            try:
                canonical = units.to_canonical(analyte, value, unit)
            except (units.UnitError, InvalidOperation):
                self.add_error(f"{analyte}_value", _("This value cannot be read."))
                continue
            # Possible and plausible: PlausibilityMixin, after this clean.  A judgement
            # belongs to a value outside the child's range; within it, none.
            flagged = canonical >= 0 and facts.flag(analyte, canonical).flag is not None
            significance = data.get(f"{analyte}_significance", "") if flagged else ""
            self.lab_values[analyte] = (value, unit, canonical, significance)
        if any(self.lab_values.values()) and taken_on is None:
            self.add_error("taken_on", _("Enter the date of sample."))
        if taken_on and taken_on > self.today:
            self.add_error("taken_on", forms.ValidationError(FUTURE_DATE, code="future"))
        if self.existing:  # a first entry needs no reason (and has no reason field)
            self.check_reason()
        return data

    @property
    def reason(self) -> str:
        return (self.cleaned_data.get(self.reason_field) or "").strip()


# --- Adverse events -------------------------------------------------------------------


# What a link may prefill on a new adverse event (the lab panel's CTCAE prompt, issue 19).
AE_PREFILL_FIELDS = ("term", "onset_date", "grade")


def ae_prefill(query: Mapping[str, str]) -> dict[str, str]:
    """The AE form's initial values from a link's query string; anything else is ignored
    (the form validates what is posted, as always)."""
    return {name: query[name][:200] for name in AE_PREFILL_FIELDS if query.get(name)}


class AdverseEventForm(ClinicalForm):
    class Meta:
        model = AdverseEvent
        fields = [
            "term",
            "onset_date",
            "end_date",
            "grade",
            "serious",
            "serious_criteria",
            "related_rituximab",
            "related_belimumab",
            "action_taken",
            "outcome",
            "description",
        ]
        widgets = {
            "onset_date": DATE_INPUT,
            "end_date": DATE_INPUT,
            "grade": forms.RadioSelect,
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "grade": protocol.CTCAE_VERSION,
            "end_date": _("Leave empty while the event is ongoing."),
        }

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["serious"] = yes_no_field(
            _("Serious (ICH E2A)"),
            _("“Severe” is an intensity (the grade); “serious” is one of the criteria below."),
        )
        self.fields["serious_criteria"] = forms.MultipleChoiceField(
            label=_("Seriousness criteria (ICH E2A)"),
            choices=SeriousCriterion.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
        self.fields["grade"].choices = CtcaeGrade.choices
        self.fields["term"].widget.attrs["autocomplete"] = "off"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        _not_future(self, data, ("onset_date", "end_date"), self.today)
        onset, end = data.get("onset_date"), data.get("end_date")
        if onset and end and end < onset:
            self.add_error("end_date", _("The end date is before the onset date."))
        serious, criteria = data.get("serious"), data.get("serious_criteria") or []
        if serious is True and not criteria:
            self.add_error(
                "serious_criteria",
                forms.ValidationError(SERIOUS_NEEDS_CRITERION, code="criterion_needed"),
            )
        if serious is False and criteria:
            self.add_error(
                "serious_criteria",
                forms.ValidationError(CRITERIA_ONLY_IF_SERIOUS, code="not_serious"),
            )
        grade, outcome = data.get("grade"), data.get("outcome")
        fatal = outcome == AeOutcome.FATAL
        if grade is not None and outcome and (grade == CtcaeGrade.DEATH) != fatal:
            self.add_error("outcome", forms.ValidationError(GRADE_5_IFF_FATAL, code="grade_5"))
        if fatal and SeriousCriterion.DEATH not in criteria:
            self.add_error(
                "serious_criteria", forms.ValidationError(FATAL_NEEDS_DEATH, code="fatal")
            )
        resolved = {AeOutcome.RECOVERED, AeOutcome.SEQUELAE, AeOutcome.FATAL}
        if outcome in resolved and end is None and "end_date" not in self.errors:
            self.add_error("end_date", _("Give the end date of a resolved or fatal event."))
        if outcome in {AeOutcome.RECOVERING, AeOutcome.NOT_RECOVERED} and end is not None:
            self.add_error(
                "end_date", _("An ongoing event has no end date: clear it or change the outcome.")
            )
        return data


class AdverseEventUpdateForm(ClinicalForm):
    """A follow-up: the grade, outcome and seriousness now, checked like the event itself
    (grade 5 iff fatal, a fatal event is serious by the death criterion)."""

    class Meta:
        model = AdverseEventUpdate
        fields = ["reported_on", "grade", "outcome", "serious_criteria", "notes"]
        widgets = {"reported_on": DATE_INPUT, "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, adverse_event: AdverseEvent, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.adverse_event = adverse_event
        self.today = today
        met = set(adverse_event.serious_criteria)
        self.fields["serious_criteria"] = forms.MultipleChoiceField(
            label=_("Seriousness criteria met now (ICH E2A)"),
            # Those the event already meets are not asked again.
            choices=[(c, label) for c, label in SeriousCriterion.choices if c not in met],
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text=_("Tick what the event now meets: it becomes serious and the alert is sent."),
        )

    def _current(self) -> tuple[int, str]:
        """The event's grade and outcome as its earlier follow-ups left them."""
        grade, outcome = self.adverse_event.grade, self.adverse_event.outcome
        earlier = self.adverse_event.updates.active().order_by("reported_on", "pk")
        if self.instance.pk:
            earlier = earlier.exclude(pk=self.instance.pk)
        for update in earlier:
            grade = update.grade if update.grade is not None else grade
            outcome = update.outcome or outcome
        return grade, outcome

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        _not_future(self, data, ("reported_on",), self.today)
        reported = data.get("reported_on")
        if reported and reported < self.adverse_event.onset_date:
            self.add_error("reported_on", _("The follow-up is dated before the event's onset."))
        grade, outcome = data.get("grade"), data.get("outcome")
        if grade is None and not outcome:
            return data  # neither changes: nothing to reconcile
        current_grade, current_outcome = self._current()
        grade_now = grade if grade is not None else current_grade
        fatal = (outcome or current_outcome) == AeOutcome.FATAL
        if (grade_now == CtcaeGrade.DEATH) != fatal:
            self.add_error(
                "outcome" if outcome else "grade",
                forms.ValidationError(GRADE_5_IFF_FATAL, code="grade_5"),
            )
        criteria = set(self.adverse_event.serious_criteria) | set(
            data.get("serious_criteria") or []
        )
        if fatal and SeriousCriterion.DEATH not in criteria:
            self.add_error(
                "serious_criteria", forms.ValidationError(FATAL_NEEDS_DEATH, code="fatal")
            )
        return data


# --- Concomitant medication ------------------------------------------------------------


class ConMedForm(ClinicalForm):
    class Meta:
        model = ConcomitantMedication
        fields = [
            "drug",
            "dose",
            "dose_unit",
            "route",
            "frequency",
            "start_date",
            "stop_date",
            "indication",
        ]
        widgets = {"start_date": DATE_INPUT, "stop_date": DATE_INPUT}

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["drug"].widget.attrs.update({"list": "known-drugs", "autocomplete": "off"})

    def clean_drug(self) -> str:
        return " ".join(self.cleaned_data["drug"].split())

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        _not_future(self, data, ("start_date", "stop_date"), self.today)
        start, stop = data.get("start_date"), data.get("stop_date")
        if start and stop and stop < start:
            self.add_error("stop_date", _("The stop date is before the start date."))
        drug = data.get("drug") or ""
        # Only a systemic glucocorticoid is converted; eye drops or a cream are recorded in
        # the units they come in (mL, drops: "other").
        if counts_towards_dose(drug, data.get("route") or "") and (
            data.get("dose_unit") not in MG_PER_UNIT or data.get("frequency") not in FREQUENCIES
        ):
            self.add_error(None, forms.ValidationError(GLUCOCORTICOID_NEEDS_MG, code="gc_units"))
        return data


def known_drugs() -> list[str]:
    """Suggestions for the drug field: the protocol's lists, glucocorticoids first."""
    return sorted(protocol.GLUCOCORTICOIDS) + sorted(
        protocol.IMMUNOSUPPRESSANTS | protocol.NOT_COUNTED
    )


# The form of each one-per-visit CRF (labs have their own panel form; B cells are dosing's).
VISIT_FORMS: dict[str, type[VisitCrfForm]] = {
    "vitals": VitalsForm,
    "essdai": EssdaiForm,
    "esspri": EsspriForm,
    "physician_global": PhysicianGlobalForm,
    "glands": GlandFunctionForm,
    "safety_review": SafetyReviewForm,
}
