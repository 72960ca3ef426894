"""Forms for consent, enrolment, status changes and withdrawal."""

from __future__ import annotations

from datetime import date
from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from enrollment.models import Consent, ConsentFormVersion, ConsentKind
from enrollment.rules import DiscontinuationReason, ParticipantStatus
from enrollment.selectors import latest_consent_form_version
from enrollment.services import VERSION_NOT_NEWER, WITHDRAWAL_BEFORE_ENROLMENT
from trialsite.forms import ClinicalDatesMixin, ClinicalForm, OptimisticLockMixin, version_field
from trialsite.models import Site, User

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _not_in_future(value: date, today: date, label: str) -> None:
    if value > today:
        raise forms.ValidationError(
            _("%(label)s cannot be in the future."), code="future", params={"label": label}
        )


class ConsentForm(ClinicalForm):
    class Meta:
        model = Consent
        fields = ["kind", "form_version", "signed_on", "guardian_relationship", "obtained_by"]
        widgets = {"signed_on": DATE_INPUT}

    def __init__(self, *args: Any, staff: Any = None, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["form_version"].queryset = ConsentFormVersion.objects.order_by(
            "kind", "-effective_from"
        )
        if staff is not None:
            self.fields["obtained_by"].queryset = staff
        self.fields["obtained_by"].label_from_instance = lambda user: user.printed_name
        self.fields["guardian_relationship"].help_text = _(
            "For guardian consent only. Never enter a name: the guardian is identified by "
            "relationship."
        )

    def clean_signed_on(self) -> date:
        signed_on = self.cleaned_data["signed_on"]
        _not_in_future(signed_on, self.today, _("The consent date"))
        return signed_on

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind, version = data.get("kind"), data.get("form_version")
        if kind and version and version.kind != kind:
            self.add_error("form_version", _("This version belongs to the other form."))
        if kind == ConsentKind.GUARDIAN_CONSENT and not data.get("guardian_relationship"):
            self.add_error(
                "guardian_relationship", _("Say how the guardian is related to the child.")
            )
        if kind == ConsentKind.CHILD_ASSENT and data.get("guardian_relationship"):
            self.add_error("guardian_relationship", _("Leave this empty for child assent."))
        signed_on = data.get("signed_on")
        if version and signed_on and signed_on < version.effective_from:
            self.add_error(
                "form_version",
                _("Version %(version)s was not in use before %(date)s.")
                % {"version": version.version, "date": version.effective_from},
            )
        return data


class EnrolForm(ClinicalDatesMixin, forms.Form):
    enrolled_on = forms.DateField(label=_("Enrolment date"), widget=DATE_INPUT)

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["enrolled_on"].initial = today

    def clean_enrolled_on(self) -> date:
        value = self.cleaned_data["enrolled_on"]
        _not_in_future(value, self.today, _("The enrolment date"))
        return value


class StatusChangeForm(ClinicalDatesMixin, forms.Form):
    to_status = forms.ChoiceField(label=_("New status"))
    changed_on = forms.DateField(label=_("Date"), widget=DATE_INPUT)
    discontinuation_reason = forms.ChoiceField(
        label=_("Reason for discontinuation"),
        choices=[("", "—"), *DiscontinuationReason.choices],
        required=False,
    )
    reason = forms.CharField(label=_("Explanation"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, allowed: list[str], today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(ParticipantStatus.choices)
        # Withdrawal has its own form: it records what may be kept.
        self.fields["to_status"].choices = [
            (s, labels[s]) for s in allowed if s != ParticipantStatus.WITHDRAWN
        ]
        self.fields["changed_on"].initial = today
        self.today = today

    def clean_changed_on(self) -> date:
        value = self.cleaned_data["changed_on"]
        _not_in_future(value, self.today, _("The date"))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("to_status") == ParticipantStatus.DISCONTINUED and not data.get(
            "discontinuation_reason"
        ):
            self.add_error("discontinuation_reason", _("Choose the reason for discontinuation."))
        return data


class WithdrawalForm(ClinicalDatesMixin, forms.Form):
    withdrawn_on = forms.DateField(label=_("Date of withdrawal"), widget=DATE_INPUT)
    data_may_be_kept = forms.TypedChoiceField(
        label=_("May the data collected so far be kept?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, today: date, enrolled_on: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.enrolled_on = enrolled_on
        self.fields["withdrawn_on"].initial = today

    def clean_withdrawn_on(self) -> date:
        value = self.cleaned_data["withdrawn_on"]
        _not_in_future(value, self.today, _("The date of withdrawal"))
        if value < self.enrolled_on:
            raise forms.ValidationError(
                WITHDRAWAL_BEFORE_ENROLMENT,
                code="before_enrolment",
                params={"date": self.enrolled_on},
            )
        return value


class ParticipantFilterForm(forms.Form):
    q = forms.CharField(label=_("Subject ID"), required=False)
    site = forms.ModelChoiceField(
        label=_("Site"),
        queryset=Site.objects.none(),
        to_field_name="code",
        required=False,
        empty_label=_("All my sites"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *ParticipantStatus.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    reconsent = forms.BooleanField(
        label=_("Awaiting re-consent"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args: Any, sites: QuerySet[Site], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the user's own sites are offered (all of them for data managers).
        self.fields["site"].queryset = sites.order_by("code")
        self.fields["site"].label_from_instance = lambda site: f"{site.code} · {site.display_name}"


class ConsentFormVersionForm(forms.ModelForm):
    """A newly approved version of the consent or assent form (data managers)."""

    class Meta:
        model = ConsentFormVersion
        fields = ["kind", "version", "effective_from", "requires_reconsent"]
        widgets = {"effective_from": DATE_INPUT}
        help_texts = {
            "requires_reconsent": _(
                "Tick when the ethics committee requires participants to sign the new "
                "version: every active participant whose consent (or assent) is on an older "
                "version is then flagged until re-consent on this one is recorded."
            )
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind, effective_from = data.get("kind"), data.get("effective_from")
        if kind and effective_from:
            latest = latest_consent_form_version(kind)
            if latest is not None and effective_from <= latest.effective_from:
                self.add_error(
                    "effective_from",
                    forms.ValidationError(
                        VERSION_NOT_NEWER,
                        code="not_newer",
                        params={"version": latest.version, "date": latest.effective_from},
                    ),
                )
        return data


def staff_choices(site) -> Any:
    return User.objects.filter(sites=site, is_active=True).order_by("last_name", "first_name")


class RescheduleForm(ClinicalDatesMixin, OptimisticLockMixin, forms.Form):
    """A move of the planned Day 0, with the participant's version it was loaded at
    (posted back by templates/enrollment/reschedule_form.html)."""

    planned_day_0 = forms.DateField(label=_("New planned Day 0"), widget=DATE_INPUT)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
    version = version_field()
