"""Monitoring forms: each validates what a person types; the rules are in the services."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.utils.translation import gettext_lazy as _

from monitoring.models import QueryStatus
from monitoring.targets import data_fields


def _helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    return helper


def _text(
    label: Any, *, required: bool = True, rows: int = 3, help_text: Any = ""
) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=2000,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class QueryOpenForm(forms.Form):
    """A question on one field of a record, or on the whole form."""

    field_name = forms.ChoiceField(label=_("Field"), required=False)
    question = _text(_("Question to the site"))

    def __init__(self, *args: Any, model: type, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        self.fields["field_name"].choices = [("", _("The whole form"))] + [
            (f.name, str(f.verbose_name).capitalize()) for f in data_fields(model)
        ]


class QueryAnswerForm(forms.Form):
    response = _text(
        _("Response"),
        help_text=_(
            "If the value is wrong, correct it instead with “Correct the value”: the "
            "correction answers the query."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class QueryCloseForm(forms.Form):
    note = _text(_("Note (optional)"), required=False, rows=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class QueryReopenForm(forms.Form):
    reason = _text(_("Why the query is re-opened"), rows=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class QueryFilterForm(forms.Form):
    site = forms.ChoiceField(label=_("Site"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("unresolved", _("open or answered")),
            (QueryStatus.OPEN, QueryStatus.OPEN.label),
            (QueryStatus.ANSWERED, QueryStatus.ANSWERED.label),
            (QueryStatus.CLOSED, QueryStatus.CLOSED.label),
            ("all", _("all")),
        ],
    )

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", _("All my sites"))] + [(s.code, s.code) for s in sites]


class VerifyFieldsForm(forms.Form):
    """The fields of one record a monitor checked against the source document."""

    fields_verified = forms.MultipleChoiceField(
        label=_("Fields verified against source"),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fields_verified"].choices = choices
        self.helper = _helper()


class LockForm(forms.Form):
    reason = _text(_("Reason for locking (optional)"), required=False, rows=2)


class UnlockForm(forms.Form):
    reason = _text(
        _("Reason for unlocking"),
        rows=2,
        help_text=_("Unlocking voids the investigator's signatures over this data."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()
