"""Form pieces every clinical form shares: reason for change and optimistic locking."""

from __future__ import annotations

import re
import secrets
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordChangeForm
from django.core import validators
from django.core.validators import DecimalValidator, RegexValidator
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trialsite import plausibility, workflow
from trialsite.dates import DateKind, date_bounds

REASON_REQUIRED = _("Give a reason for changing saved data.")
# Messages the tests import.
VERSION_MISSING = _(
    "This form came back without a valid version of the record it was loaded at, so a "
    "change made meanwhile by someone else could not be detected: nothing was saved. "
    "Reload the page and enter your change again."
)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def tie_errors_to_widgets(form: forms.Form) -> None:
    """For a form whose template renders bare widgets (a lab table): mark each input in
    error invalid and point it at its message (``id_<name>_error``), as crispy does."""
    for name in form.errors:
        if name in form.fields:
            widget = form.fields[name].widget
            widget.attrs["aria-invalid"] = "true"
            widget.attrs["aria-describedby"] = f"id_{name}_error"
            widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"


# --- Numbers (issue 19: a number field never drops a character silently) ---------------
NOT_A_NUMBER = _("“%(value)s” is not a number: use digits and one decimal point or comma.")
NOT_A_WHOLE_NUMBER = _("“%(value)s” is not a whole number: use digits only.")
ABOVE_POSSIBLE = _(
    "%(value)s%(unit)s is above %(limit)s%(unit)s, the highest possible value: "
    "check the value and its unit."
)
BELOW_POSSIBLE = _(
    "%(value)s%(unit)s is below %(limit)s%(unit)s, the lowest possible value: "
    "check the value and its unit."
)
TOO_MANY_WHOLE_DIGITS = _(
    "%(value)s%(unit)s has too many digits before the decimal point: at most %(limit)s."
)
TOO_MANY_DECIMALS = _(
    "%(value)s%(unit)s has too many decimals: at most %(limit)s after the decimal point."
)
# Plausibility (trialsite/plausibility.py): a soft limit asks for a confirmation.
ABOVE_PLAUSIBLE = _(
    "%(measure)s %(value)s%(unit)s is above %(limit)s%(unit)s, the highest plausible value: "
    "check the value and its unit, or confirm it."
)
BELOW_PLAUSIBLE = _(
    "%(measure)s %(value)s%(unit)s is below %(limit)s%(unit)s, the lowest plausible value: "
    "check the value and its unit, or confirm it."
)
ABOVE_HARD_LIMIT = _(
    "%(measure)s %(value)s%(unit)s is above %(limit)s%(unit)s, the highest possible value: "
    "check the value and its unit."
)
BELOW_HARD_LIMIT = _(
    "%(measure)s %(value)s%(unit)s is below %(limit)s%(unit)s, the lowest possible value: "
    "check the value and its unit."
)
PERCENT_OVER_100 = _("%(value)s %%: a percentage cannot exceed 100 %%.")
CHECKED_LABEL = _("I have checked this value")
CHECKED_SUFFIX = "_checked"

_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
_WHOLE = re.compile(r"^[+-]?\d+$")


def _with_unit(unit: Any) -> str:
    return f" {unit}" if unit else ""


def _shown(value: Decimal | int) -> str:
    from trialsite.units import format_decimal

    return format_decimal(Decimal(value))


def number_input(**attrs: Any) -> forms.TextInput:
    """A text input with the decimal keyboard: ``type=number`` would let the browser
    drop what it cannot read ("5,6x" posted as "" or "56") without a word."""
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", **attrs})


class NumberField(forms.DecimalField):
    """A decimal clinical input: a comma or a point as separator ("5,6" is 5.6), spaces
    trimmed, anything else refused naming what was typed; a value out of range or with too
    many digits is refused once, naming the value, the limit and the unit."""

    def __init__(self, *args: Any, unit: Any = "", **kwargs: Any) -> None:
        self.unit = unit
        kwargs.setdefault("widget", number_input())
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> Decimal | None:
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal | int) and not isinstance(value, bool):
            return Decimal(value)
        text = str(value).strip().replace(" ", "")
        params = {"value": str(value).strip()}
        if not _NUMBER.match(text):
            raise forms.ValidationError(NOT_A_NUMBER, code="invalid", params=params)
        try:
            return Decimal(text.replace(",", "."))
        except InvalidOperation:
            raise forms.ValidationError(NOT_A_NUMBER, code="invalid", params=params) from None

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return {} if not isinstance(widget, forms.NumberInput) else super().widget_attrs(widget)

    def run_validators(self, value: Any) -> None:
        if value in self.empty_values:
            return
        params = {"value": _shown(value), "unit": _with_unit(self.unit)}
        for limit, too_far, message, code in (
            (self.max_value, lambda v, lim: v > lim, ABOVE_POSSIBLE, "max_value"),
            (self.min_value, lambda v, lim: v < lim, BELOW_POSSIBLE, "min_value"),
        ):
            if limit is not None and too_far(value, limit):
                params["limit"] = _shown(Decimal(limit))
                raise forms.ValidationError(message, code=code, params=params)
        self._check_digits(value, params)
        others = [
            v
            for v in self.validators
            if not isinstance(
                v, DecimalValidator | validators.MinValueValidator | validators.MaxValueValidator
            )
        ]
        for validator in others:
            validator(value)

    def _check_digits(self, value: Decimal, params: dict[str, Any]) -> None:
        digits, exponent = value.normalize().as_tuple()[1:]
        places = max(0, -exponent)
        whole = max(0, len(digits) + exponent)
        if self.decimal_places is not None and places > self.decimal_places:
            params["limit"] = self.decimal_places
            raise forms.ValidationError(TOO_MANY_DECIMALS, code="max_decimal_places", params=params)
        if self.max_digits is not None:
            allowed = self.max_digits - (self.decimal_places or 0)
            if whole > allowed:
                params["limit"] = allowed
                raise forms.ValidationError(
                    TOO_MANY_WHOLE_DIGITS, code="max_whole_digits", params=params
                )


class WholeNumberField(forms.IntegerField):
    """A whole-number clinical input (a heart rate): digits only, spaces trimmed, refused
    naming what was typed; out of range refused naming the value, the limit and the unit."""

    def __init__(self, *args: Any, unit: Any = "", **kwargs: Any) -> None:
        self.unit = unit
        kwargs.setdefault("widget", number_input(inputmode="numeric"))
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip().replace(" ", "")
        if not _WHOLE.match(text):
            raise forms.ValidationError(
                NOT_A_WHOLE_NUMBER, code="invalid", params={"value": str(value).strip()}
            )
        return int(text)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return {} if not isinstance(widget, forms.NumberInput) else super().widget_attrs(widget)

    def run_validators(self, value: Any) -> None:
        NumberField.run_validators(self, value)  # the same range messages

    def _check_digits(self, value: int, params: dict[str, Any]) -> None:
        return None


def _model_limits(model_field: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for validator in getattr(model_field, "validators", ()):
        if isinstance(validator, validators.MaxValueValidator):
            found["max_value"] = validator.limit_value
        elif isinstance(validator, validators.MinValueValidator):
            found["min_value"] = validator.limit_value
    return found


def clinical_number_field(field: forms.Field, model_field: Any = None, unit: Any = "") -> Any:
    """``field`` (a DecimalField or IntegerField a ModelForm made) as a NumberField or a
    WholeNumberField with the same label, help, requiredness, digits and model limits."""
    kwargs: dict[str, Any] = {
        "label": field.label,
        "required": field.required,
        "help_text": field.help_text,
        "initial": field.initial,
        "unit": unit,
        "min_value": field.min_value,
        "max_value": field.max_value,
        **_model_limits(model_field),
    }
    if isinstance(field, forms.DecimalField):
        return NumberField(
            max_digits=field.max_digits, decimal_places=field.decimal_places, **kwargs
        )
    return WholeNumberField(**kwargs)


def use_number_fields(form: forms.BaseForm) -> None:
    """Every decimal or integer input of a ModelForm made a clinical number field."""
    model = getattr(getattr(form, "_meta", None), "model", None)
    for name, field in list(form.fields.items()):
        if type(field) not in (forms.DecimalField, forms.IntegerField):
            continue
        if isinstance(field.widget, forms.HiddenInput):
            continue
        model_field = _model_field(model, name)
        measure = plausibility.FIELD_MEASURES.get(name)
        unit = plausibility.LIMITS[measure].unit_label if measure else ""
        form.fields[name] = clinical_number_field(field, model_field, unit)


def _model_field(model: Any, name: str) -> Any:
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - a form field without a model field
        return None


def _plausibility_error(
    measure: str, value: Decimal, unit: str, result: plausibility.Plausibility
) -> forms.ValidationError:
    if isinstance(result, plausibility.Impossible) and measure == "cd19_percent" and result.above:
        return forms.ValidationError(
            PERCENT_OVER_100, code="percent_over_100", params={"value": _shown(value)}
        )
    if isinstance(result, plausibility.Impossible):
        message = ABOVE_HARD_LIMIT if result.above else BELOW_HARD_LIMIT
        code = "impossible"
    else:
        message = ABOVE_PLAUSIBLE if result.above else BELOW_PLAUSIBLE
        code = "implausible"
    params = {
        "measure": plausibility.LIMITS[measure].name,
        "value": _shown(value),
        "unit": _with_unit(plausibility.unit_label(measure, unit)),
        "limit": _shown(result.limit),
    }
    return forms.ValidationError(message, code=code, params=params)


def impossible_error(measure: str, value: Decimal, unit: str) -> forms.ValidationError | None:
    """The error of a value outside its measure's hard limits (None when possible): for a
    form whose record keeps no confirmation, so only the hard limits apply."""
    result = plausibility.plausibility(measure, value, unit)
    if isinstance(result, plausibility.Impossible):
        return _plausibility_error(measure, value, unit, result)
    return None


class PlausibilityMixin:
    """Measures checked against their hard and soft limits (trialsite/plausibility.py).

    An impossible value is refused on its field; an implausible one is refused unless the
    "I have checked this value" tick beside it (shown only then, or when a saved value was
    confirmed) is ticked. ``checked_values`` names the fields whose implausible value was
    confirmed: the service keeps it on the record, so the audit trail has it.
    """

    def add_plausibility(
        self, name: str, measure: str, *, unit_field: str = "", checked: bool = False
    ) -> None:
        if not hasattr(self, "_plausible"):
            self._plausible: dict[str, tuple[str, str]] = {}
        self._plausible[name] = (measure, unit_field)
        widget = forms.CheckboxInput() if checked else forms.HiddenInput()
        tick = forms.BooleanField(
            label=CHECKED_LABEL, required=False, initial=checked, widget=widget
        )
        fields = list(self.fields.items())
        at = [key for key, _field in fields].index(name) + 1 if name in self.fields else len(fields)
        fields.insert(at, (name + CHECKED_SUFFIX, tick))
        self.fields = dict(fields)

    def full_clean(self) -> None:
        super().full_clean()
        self.checked_values: set[str] = set()
        if not self.is_bound or not hasattr(self, "cleaned_data"):
            return
        for name, (measure, unit_field) in getattr(self, "_plausible", {}).items():
            value = self.cleaned_data.get(name)
            if value is None or name in self._errors:
                continue
            unit = (self.cleaned_data.get(unit_field) if unit_field else "") or (
                plausibility.LIMITS[measure].unit
            )
            try:
                result = plausibility.plausibility(measure, value, unit)
            except Exception:  # noqa: BLE001 - an unknown unit is the unit field's error
                continue
            ticked = bool(self.cleaned_data.get(name + CHECKED_SUFFIX))
            if isinstance(result, plausibility.Ok):
                continue
            if isinstance(result, plausibility.Implausible):
                self.fields[name + CHECKED_SUFFIX].widget = forms.CheckboxInput()
                if ticked:
                    self.checked_values.add(name)
                    continue
            self.add_error(name, _plausibility_error(measure, value, unit, result))


def checked_fields(form: forms.BaseForm) -> list[str]:
    """The measure fields whose implausible value was confirmed, sorted (for a record)."""
    return sorted(getattr(form, "checked_values", ()))


DATE_TOO_EARLY = _("This date is before %(earliest)s: check the year.")
DATE_TOO_LATE = _("This date is after %(latest)s: check the year.")
BIRTH_IMPLAUSIBLE = _(
    "A child born on this date could not be screened for this trial (aged %(min)s to "
    "%(max)s at screening): check the year."
)

# Dates of the trial's own events (DATE1); a date of birth (DATE2); every other date
# field is history (DATE3: prior therapy, medication, past infections, serology).
TRIAL_EVENT_DATES = frozenset(
    {
        "screening_date",
        "planned_day_0",
        "signed_on",
        "enrolled_on",
        "changed_on",
        "withdrawn_on",
        "confirmed_on",
        "visit_date",
        "taken_on",
        "planned_on",
        "anthropometry_measured_on",
        "given_on",
        "occurred_on",
        "onset_date",
        "end_date",
        "reported_on",
        "source_signed_on",
    }
)
BIRTH_DATES = frozenset({"date_of_birth"})


def date_kind(name: str) -> DateKind:
    if name in BIRTH_DATES:
        return DateKind.BIRTH
    return DateKind.TRIAL if name in TRIAL_EVENT_DATES else DateKind.HISTORY


class ClinicalDatesMixin:
    """Every date field of the form within plausible bounds (trialsite/protocol.py
    DATE1-3), refused on its field otherwise: a typo such as 0001-01-01 or 9999-12-31
    never reaches a rule or the database (issue 16). Date fields added in ``__init__``
    (a lab panel's) are covered too: the check runs after the fields are cleaned."""

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound or not hasattr(self, "cleaned_data"):
            return
        today = getattr(self, "today", None) or timezone.localdate()
        screened_on = self.cleaned_data.get("screening_date") or getattr(
            getattr(self, "instance", None), "screening_date", None
        )
        for name, field in self.fields.items():
            value = self.cleaned_data.get(name)
            if isinstance(field, forms.DateField) and isinstance(value, date):
                error = _date_error(date_kind(name), value, today, screened_on)
                if error is not None:
                    self.add_error(name, error)


def _date_error(
    kind: DateKind, value: date, today: date, screened_on: date | None
) -> forms.ValidationError | None:
    from trialsite import protocol

    earliest, latest = date_bounds(kind, today, screened_on=screened_on)
    if earliest <= value <= latest:
        return None
    if kind is DateKind.BIRTH:
        margin = protocol.BIRTH_DATE_MARGIN_YEARS
        ages = {"min": protocol.MIN_AGE_YEARS - margin, "max": protocol.MAX_AGE_YEARS + margin}
        return forms.ValidationError(BIRTH_IMPLAUSIBLE % ages, code="implausible_birth")
    if value < earliest:
        return forms.ValidationError(
            DATE_TOO_EARLY % {"earliest": earliest.isoformat()}, code="date_too_early"
        )
    return forms.ValidationError(
        DATE_TOO_LATE % {"latest": latest.isoformat()}, code="date_too_late"
    )


class ReasonForChangeMixin:
    """Editing saved data needs a reason; entering a value for the first time does not.

    "Saved data" is any field whose value before this edit was not empty, so a
    coordinator completing a draft over several sittings is not asked for a
    reason, but changing what was entered is.
    """

    reason_field = "reason_for_change"

    def add_reason_field(self) -> None:
        self.fields[self.reason_field] = forms.CharField(
            label=_("Reason for change"),
            required=False,
            max_length=500,
            widget=forms.Textarea(attrs={"rows": 2}),
            help_text=_("Required when you change data that was already saved."),
        )
        # What other apps show on an edit form (trialsite/workflow.py): monitoring's query
        # badges, a locked form read-only, the reason prefilled when answering a query.
        workflow.annotate_form(self)

    def saved_fields_changed(self) -> list[str]:
        return [
            name
            for name in self.changed_data
            if name not in (self.reason_field, "version")
            and not name.endswith(CHECKED_SUFFIX)  # a confirmation is not a change of data
            and not _is_empty(self.initial.get(name))
        ]

    def check_reason(self) -> str:
        reason = (self.cleaned_data.get(self.reason_field) or "").strip()
        if self.saved_fields_changed() and not reason:
            self.add_error(
                self.reason_field, forms.ValidationError(REASON_REQUIRED, code="reason_required")
            )
        return reason


class OptimisticLockMixin:
    """An edit of saved data must come back with the version it was loaded at.

    The version (or a lab panel's fingerprint) travels in a hidden field; the
    service compares it with the stored one and refuses the save on a mismatch.
    Without it a save could not tell a concurrent change from none, so a missing or
    unreadable value is a form error (never "assume the current version"). A hidden
    field's error is invisible beside the inputs, so it is reported for the form.
    """

    lock_field = "version"

    @property
    def requires_lock(self) -> bool:
        return True

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound or not self.requires_lock or not hasattr(self, "cleaned_data"):
            return
        name = self.lock_field
        if name in self._errors or self.cleaned_data.get(name) in (None, ""):
            self._errors.pop(name, None)
            self.add_error(None, forms.ValidationError(VERSION_MISSING, code="version_missing"))


# The hidden one-time token of a create form (trialsite.models.FormToken).
FORM_TOKEN_FIELD = "form_token"


def form_token_field() -> forms.CharField:
    """A fresh token for a create form; posted back, it lets the service save the record
    once however many times the form is posted (trialsite.services.form_token_use)."""
    return forms.CharField(
        widget=forms.HiddenInput,
        required=False,
        max_length=64,
        initial=secrets.token_urlsafe(32),
        validators=[RegexValidator(r"^[A-Za-z0-9_-]*$")],
    )


def version_field() -> forms.IntegerField:
    return forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)


class ClinicalForm(
    PlausibilityMixin,
    ClinicalDatesMixin,
    OptimisticLockMixin,
    ReasonForChangeMixin,
    forms.ModelForm,
):
    """A ModelForm for a ``ClinicalRecord``.

    It carries the version it was loaded at, so a concurrent edit is detected
    instead of silently overwritten, and asks for a reason for change. Its numbers are
    clinical number fields; a record with ``values_checked`` has its measures checked
    against their plausibility limits, the confirmations kept in that field.
    """

    version = version_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        use_number_fields(self)
        if hasattr(self.instance, "values_checked"):
            saved = set(self.instance.values_checked or ())
            for name in [n for n in self.fields if n in plausibility.FIELD_MEASURES]:
                measure = plausibility.FIELD_MEASURES[name]
                self.add_plausibility(name, measure, checked=name in saved)
        self.helper = FormHelper()
        self.helper.form_tag = False
        if self.is_edit:
            self.fields["version"].initial = self.instance.version
            self.initial["version"] = self.instance.version
            self.add_reason_field()
        else:
            self.fields[FORM_TOKEN_FIELD] = form_token_field()

    @property
    def is_edit(self) -> bool:
        return self.instance.pk is not None

    def full_clean(self) -> None:
        super().full_clean()
        if hasattr(self.instance, "values_checked") and hasattr(self, "cleaned_data"):
            # Only this form's measures: a screening is entered section by section.
            others = set(self.instance.values_checked or ()) - set(self.fields)
            self.instance.values_checked = sorted(others | set(checked_fields(self)))

    @property
    def requires_lock(self) -> bool:
        return self.is_edit  # a first entry has nothing to overwrite

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.is_edit:
            self.check_reason()
        return data

    @property
    def reason(self) -> str:
        return (self.cleaned_data.get(self.reason_field) or "").strip() if self.is_edit else ""


class VoidForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for voiding"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SignatureForm(ClinicalDatesMixin, forms.Form):
    """Password re-entry for an e-signature; the meaning is shown above it."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_(
            "Re-enter your password to sign. Your printed name, the time and the "
            "meaning are recorded with a fingerprint of the data you sign."
        ),
    )
    source_signed_on = forms.DateField(
        label=_("Paper source signed on (if entered later)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_(
            "When you sign data entered after the fact, the date the paper source document "
            "was signed; the e-signature keeps its own time stamp."
        ),
    )

    def clean_source_signed_on(self):
        from django.utils import timezone

        value = self.cleaned_data.get("source_signed_on")
        if value is not None and value > timezone.localdate():
            raise forms.ValidationError(_("This date cannot be in the future."), code="future")
        return value


class LockoutPasswordChangeForm(PasswordChangeForm):
    """The password change, with the old password checked through ``authenticate`` so a
    wrong one is counted by django-axes like a failed login (issue 16): after
    AXES_FAILURE_LIMIT wrong old passwords the user is locked out (the view logs out)."""

    def __init__(self, user: Any, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        found = authenticate(self.request, username=self.user.get_username(), password=old_password)
        if found is None or found.pk != self.user.pk:
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password
