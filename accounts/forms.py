from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from trialsite.models import Site, User
from trialsite.roles import Role

USERNAME_TAKEN = _("This user name is taken.")


def reason_field() -> forms.CharField:
    return forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the user's account history."),
    )


class ReasonForm(forms.Form):
    reason = reason_field()


class InviteForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), help_text=_("The one-time link goes here."))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    sites = forms.ModelMultipleChoiceField(
        label=_("Sites"),
        queryset=Site.objects.filter(is_active=True).order_by("code"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reason = reason_field()

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(USERNAME_TAKEN, code="taken")
        return username


class RoleChangeForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    action = forms.ChoiceField(
        choices=[("grant", _("Grant")), ("revoke", _("Revoke"))], widget=forms.HiddenInput
    )
    reason = reason_field()


class SiteChangeForm(forms.Form):
    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.order_by("code"))
    action = forms.ChoiceField(
        choices=[("grant", _("Grant")), ("revoke", _("Revoke"))], widget=forms.HiddenInput
    )
    reason = reason_field()


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        help_text=_("The 6 digits your authenticator app shows, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )
