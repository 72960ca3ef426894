"""The e-mails an account change sends to its user (in the language active when sent)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from trialsite.models import User


def one_time_link(user: User) -> str:
    """A link that sets the password once: the token is bound to the current password hash
    and last login (Django's PasswordResetTokenGenerator), so using it voids it."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse("accounts:password_set", args=[uidb64, token])


def _send(user: User, subject: str, body: str) -> None:
    if user.email:
        send_mail(subject, body, None, [user.email])


def send_invitation(user: User) -> None:
    _send(
        user,
        _("Your account for the trial"),
        _(
            "An account was opened for you (user name: %(username)s).\n"
            "Choose your password with this link; it works once:\n%(link)s\n"
        )
        % {"username": user.get_username(), "link": one_time_link(user)},
    )


def send_password_reset(user: User) -> None:
    _send(
        user,
        _("Your password was reset"),
        _(
            "Your password was reset by a data manager; the old one no longer works.\n"
            "Choose a new password with this link; it works once:\n%(link)s\n"
            "If you did not ask for this, tell your data manager.\n"
        )
        % {"link": one_time_link(user)},
    )


def send_role_change(user: User, *, granted: str, revoked: str) -> None:
    change = (
        _("You were given the role %(role)s.") % {"role": granted}
        if granted
        else _("The role %(role)s was taken from you.") % {"role": revoked}
    )
    _send(
        user,
        _("Your role in the trial changed"),
        change + "\n" + _("If you did not expect this, tell your data manager.") + "\n",
    )
