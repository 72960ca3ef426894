"""Form pieces every clinical form shares: reason for change and optimistic locking."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordChangeForm
from django.core.validators import RegexValidator
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trialsite import workflow
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
            if name not in (self.reason_field, "version") and not _is_empty(self.initial.get(name))
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


class ClinicalForm(ClinicalDatesMixin, OptimisticLockMixin, ReasonForChangeMixin, forms.ModelForm):
    """A ModelForm for a ``ClinicalRecord``.

    It carries the version it was loaded at, so a concurrent edit is detected
    instead of silently overwritten, and asks for a reason for change.
    """

    version = version_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
