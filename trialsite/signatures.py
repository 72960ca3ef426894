"""The reusable e-signature: password re-entry, printed name, meaning, bound to a hash.

A model that can be signed provides ``signature_payload() -> dict`` of plain
values (what the signer saw).  The hash of that payload is stored with the
signature; recomputing it later tells whether the data still is what was signed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from django.contrib.auth import authenticate
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialsite import roles
from trialsite.audit import audit_context
from trialsite.models import Signature, SignatureMeaning, User

WRONG_PASSWORD = gettext_lazy("The password is not correct: the data was not signed.")
STALE_REAUTHENTICATION = gettext_lazy("Re-enter your password to sign.")
# A password re-entry is good for one signing within this many seconds.
REAUTHENTICATION_SECONDS = 300


class Signable(Protocol):
    pk: Any

    def signature_payload(self) -> dict[str, Any]: ...


def payload_hash(payload: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``payload`` (sorted keys, no whitespace)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class SignatureState:
    signature: Signature
    valid: bool
    reason: str  # why it is void, when it is


def signatures_of(obj: models.Model) -> models.QuerySet[Signature]:
    return Signature.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    ).select_related("signer")


def _state(signature: Signature, current_hash: str) -> SignatureState:
    if signature.voided_at is not None:
        return SignatureState(signature, False, signature.void_reason)
    if signature.data_hash != current_hash:
        return SignatureState(signature, False, _("The data changed after it was signed."))
    return SignatureState(signature, True, "")


def signature_states(obj: Signable) -> list[SignatureState]:
    """Every signature over ``obj`` with whether it still holds, oldest first."""
    current = payload_hash(obj.signature_payload())
    return [_state(signature, current) for signature in signatures_of(obj)]


def latest_valid_signatures(
    model: type[models.Model], object_ids: Iterable[int]
) -> dict[int, Signature]:
    """The latest signature that still holds over each of ``object_ids`` (one query for the
    signatures; the payload is computed only for the objects that have one not voided)."""
    if not hasattr(model, "signature_payload"):
        return {}
    candidates: dict[int, list[Signature]] = {}
    for signature in (
        Signature.objects.filter(
            content_type=ContentType.objects.get_for_model(model),
            object_id__in=list(object_ids),
            voided_at__isnull=True,
        )
        .select_related("signer")
        .order_by("signed_at", "pk")
    ):
        candidates.setdefault(signature.object_id, []).append(signature)
    objects = model._base_manager.in_bulk(list(candidates))
    latest = {}
    for pk, found in candidates.items():
        current = payload_hash(objects[pk].signature_payload())
        valid = [s for s in found if _state(s, current).valid]
        if valid:
            latest[pk] = valid[-1]
    return latest


def valid_signature(obj: Signable, meaning: SignatureMeaning) -> Signature | None:
    """The latest signature with ``meaning`` that still matches the data, if any."""
    valid = [
        state.signature
        for state in signature_states(obj)
        if state.valid and state.signature.meaning == meaning
    ]
    return valid[-1] if valid else None


@dataclass(frozen=True)
class Reauthentication:
    """Proof that the signer has just re-entered the password."""

    user_pk: int
    at: datetime


def reauthenticate(
    *, user: User, password: str, request: HttpRequest | None = None
) -> Reauthentication:
    """Check the signer's password before signing.

    Call it *before* opening the signing transaction: a wrong password is recorded
    by django-axes and must count towards the lockout even though nothing is signed
    (inside the transaction the record would be rolled back with it).
    """
    if not user.has_perm(roles.SIGN):
        raise PermissionDenied(_("Only an investigator can sign."))
    if request is None:
        # Outside a web request (demo data, scripts) there is no client to lock out.
        password_ok = user.check_password(password)
    else:
        password_ok = authenticate(request, username=user.get_username(), password=password) == user
    if not password_ok:
        raise ValidationError(WRONG_PASSWORD, code="wrong_password")
    return Reauthentication(user_pk=user.pk, at=timezone.now())


@transaction.atomic
def sign(
    *,
    obj: Signable,
    user: User,
    reauth: Reauthentication,
    meaning: SignatureMeaning,
    source_signed_on: date | None = None,
) -> Signature:
    """Sign ``obj``: printed name, time and meaning, bound to the hash of its payload.

    ``source_signed_on``: for data entered after the fact, the day the paper source was
    signed (kept beside the e-signature's own time stamp, never instead of it)."""
    if not user.has_perm(roles.SIGN):
        raise PermissionDenied(_("Only an investigator can sign."))
    age = (timezone.now() - reauth.at).total_seconds()
    if reauth.user_pk != user.pk or not 0 <= age <= REAUTHENTICATION_SECONDS:
        raise ValidationError(STALE_REAUTHENTICATION, code="reauthenticate")
    with audit_context(user, _("e-signature: %(meaning)s") % {"meaning": meaning.label}):
        return Signature.objects.create(
            content_type=ContentType.objects.get_for_model(obj),
            object_id=obj.pk,
            signer=user,
            printed_name=user.printed_name,
            meaning=meaning,
            signed_at=timezone.now(),
            data_hash=payload_hash(obj.signature_payload()),
            source_signed_on=source_signed_on,
        )


def void_stale_signatures(obj: Signable, *, user: User | None, reason: str = "") -> int:
    """Record as void every signature whose data changed; returns how many.

    Called by the services that change signed data, in their transaction.
    """
    count = 0
    for state in signature_states(obj):
        if not state.valid and state.signature.voided_at is None:
            state.signature.voided_at = timezone.now()
            state.signature.void_reason = reason or state.reason
            with audit_context(user, state.signature.void_reason):
                state.signature.save(update_fields=["voided_at", "void_reason"])
            count += 1
    return count


def void_signatures(obj: Signable, *, user: User, reason: str) -> int:
    """Void every still-valid signature over ``obj`` (e.g. on unlocking), with a reason."""
    count = 0
    with audit_context(user, reason):
        for state in signature_states(obj):
            if state.signature.voided_at is None:
                state.signature.voided_at = timezone.now()
                state.signature.void_reason = reason
                state.signature.save(update_fields=["voided_at", "void_reason"])
                count += 1
    return count
