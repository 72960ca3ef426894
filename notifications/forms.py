from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from notifications.models import DigestChoice, NotificationKind, NotificationStatus


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language of your e-mails"),
        choices=[("", _("Both languages (alerts); English (reminders)")), *settings.LANGUAGES],
        required=False,
    )
    digest = forms.ChoiceField(
        label=_("Reminders"),
        choices=DigestChoice.choices,
        widget=forms.RadioSelect,
        help_text=_("Serious adverse event alerts are always sent; they cannot be turned off."),
    )


class LogFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any")), *NotificationStatus.choices], required=False
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("Any")), *NotificationKind.choices], required=False
    )
