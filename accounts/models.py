"""The account trail: every change to an account, its roles, sites and MFA, append-only."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


class AccountEventKind(models.TextChoices):
    INVITED = "invited", _("Invited")
    PASSWORD_RESET = "password_reset", _("Password reset link sent")
    PASSWORD_SET = "password_set", _("Password set through a one-time link")
    DEACTIVATED = "deactivated", _("Deactivated")
    ROLE_GRANTED = "role_granted", _("Role granted")
    ROLE_REVOKED = "role_revoked", _("Role revoked")
    SITE_GRANTED = "site_granted", _("Site granted")
    SITE_REVOKED = "site_revoked", _("Site revoked")
    MFA_ENROLLED = "mfa_enrolled", _("Authenticator enrolled")
    MFA_RESET = "mfa_reset", _("Authenticator reset")


# What the users do for themselves; every other change is made by someone else, with a reason.
SELF_SERVICE_KINDS = (AccountEventKind.PASSWORD_SET, AccountEventKind.MFA_ENROLLED)


class AccountEvent(models.Model):
    """One change to an account (who, when, whom, what, why). Never changed or removed: a
    trigger refuses UPDATE and DELETE, even from a raw SQL client."""

    at = models.DateTimeField(_("when"), db_default=Now(), editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="account_events",
    )
    kind = models.CharField(_("change"), max_length=20, choices=AccountEventKind.choices)
    detail = models.TextField(_("detail"), blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("account event")
        verbose_name_plural = _("account events")
        ordering = ("-at", "-pk")
        triggers = [
            # "forbid_change": the app role may insert (trialsite/dbroles.py), never rewrite.
            pgtrigger.Protect(name="forbid_change", operation=pgtrigger.Update | pgtrigger.Delete),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reason="")
                | models.Q(kind__in=[k.value for k in SELF_SERVICE_KINDS]),
                name="accounts_accountevent_reason_required",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.user} by {self.actor}"
