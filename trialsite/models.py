"""Cross-cutting models: sites, users, the audited clinical-record base, e-signatures."""

from __future__ import annotations

from typing import ClassVar

import pghistory
import pghistory.models
import pgtrigger
from django.conf import settings
from django.contrib.auth.models import AbstractUser, Permission
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Now
from django.utils.functional import cached_property
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from trialsite import texts, workflow
from trialsite.roles import CAPABILITIES, Role


class SessionUser(models.Func):
    """SQL ``SESSION_USER``: the database role that opened the connection."""

    template = "SESSION_USER"
    output_field = models.TextField()


class AuditEvent(pghistory.models.Event):
    """Base of every audit event table (PGHISTORY_BASE_MODEL).

    Besides pghistory's server timestamp, label and context (user, URL,
    reason), every event records the database role that made the change, so
    a change made outside the app (a raw SQL client) is attributed too.
    """

    audit_db_user = models.TextField(db_default=SessionUser(), editable=False)

    class Meta:
        abstract = True


def values_checked_field() -> models.Field:
    """The measure fields of a record whose implausible value the person entering it
    confirmed ("I have checked this value", trialsite/plausibility.py): on the record, so
    the audit trail keeps who confirmed what and when."""
    from django.contrib.postgres.fields import ArrayField

    return ArrayField(
        models.CharField(max_length=50),
        verbose_name=_("implausible values confirmed"),
        default=list,
        blank=True,
        editable=False,
    )


def value_checked_field() -> models.BooleanField:
    """A lab row's "I have checked this value" for an implausible value (audited)."""
    return models.BooleanField(_("implausible value confirmed"), default=False, editable=False)


class ClinicalQuerySet(models.QuerySet):
    def active(self) -> ClinicalQuerySet:
        """Records that have not been voided."""
        return self.filter(voided_at__isnull=True)


class RecordKind(models.TextChoices):
    """The three records every other clinical record hangs on (trialsite/records.py)."""

    SCREENING = "screening"
    PARTICIPANT = "participant"
    VISIT = "visit"


class GeneratedText(models.Model):
    """A text the system wrote by itself, kept as a code with parameters (trialsite.texts)
    beside its English text, so each reader sees it in their own language."""

    text_code = models.CharField(_("text code"), max_length=60, blank=True, editable=False)
    text_params = models.JSONField(_("text parameters"), default=dict, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def stored_text(self) -> texts.Text | None:
        return texts.Text(self.text_code, self.text_params) if self.text_code else None

    def set_text(self, text: texts.Text | None) -> str:
        """Keep ``text``'s code and parameters; returns its English text (the stored column)."""
        if text is None:
            return ""
        self.text_code, self.text_params = text.code, text.json_params()
        return text.english()


class ClinicalRecord(models.Model):
    """Base of every participant-level record.

    * audited by database triggers (each concrete model is decorated with
      ``@pghistory.track()``; ``tests/test_audit.py`` checks that none is missed);
    * never deleted: a trigger refuses ``DELETE``; records are voided with a reason;
    * ``version`` is the optimistic-locking counter the edit forms post back.
    """

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True, editable=False)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("voided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    void_reason = models.TextField(_("reason for voiding"), blank=True, editable=False)

    objects = ClinicalQuerySet.as_manager()

    # Lookup path from this model to its Site; the access layer filters on it.
    site_field: ClassVar[str] = "site"
    # Set on the screening, the participant and the visit (RecordKind), "" on the others.
    record_kind: ClassVar[str] = ""

    class Meta:
        abstract = True
        triggers = [
            # No clinical record is ever hard-deleted, not even by a raw SQL client.
            pgtrigger.Protect(name="forbid_delete", operation=pgtrigger.Delete),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(voided_at__isnull=True) | ~models.Q(void_reason=""),
                name="%(app_label)s_%(class)s_void_needs_reason",
            ),
        ]

    def save(self, *args, **kwargs) -> None:
        # Guards only: locked data is refused here, whatever the path (trialsite/workflow.py).
        # What follows a write is the writing service's own ``workflow.record_changed`` call.
        workflow.guard(self)
        super().save(*args, **kwargs)
        workflow.note_saved(self)

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


@pghistory.track()
class Site(models.Model):
    """One of the trial's hospitals."""

    code = models.SlugField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("name in Chinese"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        # Capabilities the role groups are made of (trialsite/roles.py).
        permissions = [
            ("view_clinical_data", _("Can view clinical data at own sites")),
            ("enter_data", _("Can enter and edit clinical data at own sites")),
            ("sign_data", _("Can confirm eligibility, prescribe and sign")),
            ("view_all_sites", _("Can view every site")),
            ("export_data", _("Can export data")),
            ("manage_queries", _("Can raise and close data queries")),
            ("verify_source", _("Can mark data as verified against source")),
            ("lock_data", _("Can lock and unlock data")),
        ]
        triggers = [pgtrigger.Protect(name="forbid_delete", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.code} – {self.display_name}"

    @property
    def display_name(self) -> str:
        """The name in the reader's language (the English one when no Chinese is known)."""
        if self.name_zh and (get_language() or "").lower().startswith("zh"):
            return self.name_zh
        return self.name


@pghistory.track(exclude=["password", "last_login"])
class User(AbstractUser):
    """A member of the trial staff; belongs to one or more sites, has one role."""

    sites = models.ManyToManyField(Site, verbose_name=_("sites"), blank=True, related_name="staff")

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        # Users who took part in the trial are deactivated, never deleted: the
        # audit trail and signatures refer to them.
        triggers = [pgtrigger.Protect(name="forbid_delete", operation=pgtrigger.Delete)]

    @property
    def printed_name(self) -> str:
        """The name printed under the user's signatures."""
        return self.get_full_name() or self.username

    @cached_property
    def roles(self) -> set[Role]:
        names = {group.name for group in self.groups.all()}
        return {role for role in Role if role.group_name in names}

    def has_perm(self, perm: str, obj: object = None) -> bool:
        # Superusers administer the system; clinical capabilities come only
        # from a role group, so a superuser account cannot enter trial data.
        if self.is_superuser and perm in CAPABILITIES:
            app_label, codename = perm.split(".")
            return (
                self.is_active
                and Permission.objects.filter(
                    group__user=self, content_type__app_label=app_label, codename=codename
                ).exists()
            )
        return super().has_perm(perm, obj)

    def has_role(self, role: Role) -> bool:
        return role in self.roles


class SignatureMeaning(models.TextChoices):
    """What a signature attests (21 CFR 11.50: the meaning is part of the signature)."""

    ELIGIBILITY = "eligibility", _("I confirm this candidate meets all eligibility criteria.")
    VISIT = "visit", _("I have reviewed the data of this visit and confirm it is accurate.")
    CASEBOOK = (
        "casebook",
        _("I have reviewed this casebook and confirm it is complete and accurate."),
    )
    PRESCRIPTION = "prescription", _("I prescribe this dose.")


# Every column of a signature but its voiding (voided_at, void_reason).
_SEALED_COLUMNS = (
    "id",
    "content_type_id",
    "object_id",
    "signer_id",
    "printed_name",
    "meaning",
    "signed_at",
    "data_hash",
    "key_id",
    "source_signed_on",
)


@pghistory.track()
class Signature(models.Model):
    """An investigator's e-signature over the exact data it signed.

    ``data_hash`` is the HMAC-SHA256, under the signing key ``key_id`` (settings
    SIGNATURE_KEY), of the signed record's payload as stored at signing time
    (trialsite/signatures.py); any later change (through the app or raw SQL) makes the
    hash differ, and the signature is then shown, and recorded, as void.  Without the
    key, which only the app's environment holds, nobody can compute a hash that
    re-seals changed data.

    Once written, a signature only ever changes to be voided: the triggers refuse a
    change of what it seals, an "un-voiding", and a new row without a key.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    signed_object = GenericForeignKey("content_type", "object_id")
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("signer"), on_delete=models.PROTECT
    )
    printed_name = models.CharField(_("printed name"), max_length=200)
    meaning = models.CharField(_("meaning"), max_length=20, choices=SignatureMeaning.choices)
    signed_at = models.DateTimeField(_("signed at"))
    data_hash = models.CharField(_("hash of the signed data"), max_length=64)
    # The id of the signing key (settings SIGNATURE_KEY_ID, or one of SIGNATURE_OLD_KEYS
    # after a rotation). Empty: signed before keyed hashes (migration 0003), a plain
    # SHA-256 that is verified as such ("legacy"); no new row may be written without a key.
    key_id = models.CharField(_("signing key"), max_length=32, blank=True, editable=False)
    # Data entered after the fact: the day the paper source document was signed, beside
    # the e-signature's own time stamp (signed_at).  Empty when signed at the time.
    source_signed_on = models.DateField(
        _("paper source signed on"), null=True, blank=True, editable=False
    )
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    void_reason = models.TextField(_("reason the signature is void"), blank=True)

    class Meta:
        ordering = ["signed_at"]
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        indexes = [models.Index(fields=["content_type", "object_id"])]
        triggers = [
            pgtrigger.Protect(name="forbid_delete", operation=pgtrigger.Delete),
            # Only a keyed hash is written from now on (an empty key id is a legacy row).
            pgtrigger.Protect(
                name="forbid_unkeyed_insert",
                operation=pgtrigger.Insert,
                condition=pgtrigger.Q(new__key_id=""),
            ),
            # What a signature seals never changes, and a void signature stays void.
            pgtrigger.Protect(
                name="forbid_change",
                operation=pgtrigger.Update,
                condition=pgtrigger.Condition(
                    "OLD.voided_at IS NOT NULL OR ("
                    + ", ".join(f"OLD.{c}" for c in _SEALED_COLUMNS)
                    + ") IS DISTINCT FROM ("
                    + ", ".join(f"NEW.{c}" for c in _SEALED_COLUMNS)
                    + ")"
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.printed_name} ({self.get_meaning_display()}) {self.signed_at:%Y-%m-%d %H:%M}"


class FormToken(models.Model):
    """A create form's one-time token (issue 16: a double click or a second tab posted the
    new-AE form twice and made two events).

    Each create form carries a fresh token in a hidden field; the service saving the new
    record inserts it here in the same transaction. The unique index lets only one
    transaction insert it (a simultaneous second one waits, then fails), so the second
    post finds the token used and is sent to the record made by the first.
    """

    token = models.CharField(_("token"), max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    used_at = models.DateTimeField(_("used at"), auto_now_add=True)
    # The record the first post made (set in the same transaction).
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, null=True)
    object_id = models.PositiveBigIntegerField(null=True)
    record = GenericForeignKey("content_type", "object_id")

    class Meta:
        verbose_name = _("form token")
        verbose_name_plural = _("form tokens")

    def __str__(self) -> str:
        return f"{self.token[:8]}… {self.used_at:%Y-%m-%d %H:%M}"


class LinkTable(models.TextChoices):
    """The link tables whose rows decide who may do what, and where."""

    USER_SITES = "trialsite_user_sites", _("user–site")
    USER_GROUPS = "trialsite_user_groups", _("user–role")
    GROUP_PERMISSIONS = "auth_group_permissions", _("role–permission")


class LinkOperation(models.TextChoices):
    INSERT = "INSERT", _("Granted")
    UPDATE = "UPDATE", _("Changed")
    DELETE = "DELETE", _("Removed")


class LinkEvent(models.Model):
    """One INSERT, UPDATE or DELETE of a user–site, user–role or role–permission link
    (issue 16), written by a database trigger whoever makes the change (migration
    trialsite 0006): the app through its audited path, or a raw SQL client.

    ``left_id`` is the user (the group for a role–permission link), ``right_id`` the site,
    group or permission. The pghistory context (who and why) is copied when the change was
    made inside one; an empty context means a change made outside the application. Never
    changed or removed: a trigger refuses UPDATE and DELETE, and the app role may only read
    (its "append_only" trigger, trialsite/dbroles.py).
    """

    at = models.DateTimeField(_("when"), db_default=Now(), editable=False)
    operation = models.CharField(_("change"), max_length=6, choices=LinkOperation.choices)
    link = models.CharField(_("link"), max_length=40, choices=LinkTable.choices)
    row_id = models.BigIntegerField(_("link row"))
    left_id = models.BigIntegerField(_("user or role"))
    right_id = models.BigIntegerField(_("site, role or permission"))
    previous = models.JSONField(_("previous row"), null=True, blank=True)
    db_user = models.TextField(_("database role"))
    context_id = models.UUIDField(_("audit context"), null=True, blank=True)
    context_metadata = models.JSONField(_("audit context metadata"), null=True, blank=True)

    class Meta:
        verbose_name = _("link event")
        verbose_name_plural = _("link events")
        ordering = ("at", "pk")
        indexes = [models.Index(fields=["link", "left_id"], name="trialsite_linkevent_left")]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.link} {self.left_id}-{self.right_id}"

    @property
    def who(self) -> str:
        return (self.context_metadata or {}).get("username", "")

    @property
    def reason(self) -> str:
        return (self.context_metadata or {}).get("reason", "")
