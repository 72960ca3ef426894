"""The export request form."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from exports.models import ExportKind

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ExportRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Format"),
        choices=[(kind, kind.label) for kind in (ExportKind.CSV, ExportKind.ODM, ExportKind.STATS)],
        widget=forms.RadioSelect,
        initial=ExportKind.CSV,
    )
    sites = forms.MultipleChoiceField(
        label=_("Sites"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every site."),
    )
    participants = forms.CharField(
        label=_("Participants"),
        required=False,
        help_text=_("Subject IDs separated by spaces or commas; empty: every participant."),
    )
    date_from = forms.DateField(label=_("Records dated from"), required=False, widget=DATE_INPUT)
    date_to = forms.DateField(label=_("Records dated to"), required=False, widget=DATE_INPUT)
    labels = forms.BooleanField(label=_("Add the label beside each coded value"), required=False)
    excel = forms.BooleanField(
        label=_("CSV files for Excel (UTF-8 with a byte order mark)"),
        required=False,
        help_text=_("Excel then shows Chinese text and units such as ×10⁹/L correctly."),
    )
    full_history = forms.BooleanField(
        label=_("ODM: the full history (every audited change, not only the latest)"),
        required=False,
        help_text=_("A transactional ODM file: one entry per change, with who, when and why."),
    )
    drop_date_of_birth = forms.BooleanField(label=_("Remove dates of birth"), required=False)
    shift_dates = forms.BooleanField(
        label=_("De-identify: shift every date by a secret per-participant offset"),
        required=False,
        help_text=_(
            "Intervals between a participant's dates are kept; candidates never "
            "enrolled are left out."
        ),
    )

    def __init__(self, *args: Any, site_codes: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sites"].choices = [(code, code) for code in site_codes]

    def clean_participants(self) -> list[str]:
        text = self.cleaned_data.get("participants", "")
        ids = [token.upper() for token in re.split(r"[\s,;]+", text) if token]
        bad = [token for token in ids if not re.fullmatch(r"[A-Z0-9]+-\d{3,}", token)]
        if bad:
            raise forms.ValidationError(
                _("Not a subject ID: %(ids)s"), params={"ids": ", ".join(bad)}, code="bad_id"
            )
        return ids

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date is before the start date."))
        return data
