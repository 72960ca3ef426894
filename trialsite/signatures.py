"""The reusable e-signature: password re-entry, printed name, meaning, bound to a hash.

A model that can be signed provides ``signature_payload() -> dict`` of its values
(what the signer saw).  The hash of that payload is stored with the signature;
recomputing it later tells whether the data still is what was signed.

The payload is always computed from the record *as stored*, reloaded from the
database (``stored``), at signing and at every verification, and its values are
normalised (``canonical``): a decimal typed as "41" and read back as 41.0 is one
value, dates are ISO 8601.  Otherwise a signature would differ from its own data
the moment it is reloaded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from django.conf import settings
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
DATA_CHANGED = gettext_lazy("The data changed after it was signed.")
RECORD_MISSING = gettext_lazy("The signed record cannot be found.")
# The key id of a signature made before keyed hashes (trialsite.models.Signature.key_id).
LEGACY_KEY_ID = ""
# A password re-entry is good for one signing within this many seconds.
REAUTHENTICATION_SECONDS = 300


class Signable(Protocol):
    pk: Any

    def signature_payload(self) -> dict[str, Any]: ...


S = TypeVar("S", bound=models.Model)


def canonical(value: Any) -> Any:
    """``value`` as plain JSON values that do not depend on how it was typed or read.

    Decimals lose their trailing zeros (``Decimal("41")`` and ``Decimal("41.0")`` are
    both "41"), date-times are ISO 8601 in UTC, dates and times ISO 8601; booleans and
    None stay JSON booleans and null; mappings and sequences are normalised item by item.
    """
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, float):
        return canonical(Decimal(repr(value)))
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): canonical(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((canonical(item) for item in value), key=json.dumps)
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    return str(value)


def canonical_json(payload: dict[str, Any]) -> bytes:
    """The one text a payload is hashed as: normalised values, sorted keys, no whitespace."""
    return json.dumps(canonical(payload), sort_keys=True, separators=(",", ":")).encode()


def payload_hash(payload: dict[str, Any]) -> str:
    """Plain SHA-256 of the canonical JSON of ``payload``: a fingerprint, not a seal (source
    data verification uses it; signatures use ``keyed_hash``)."""
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def legacy_hash(payload: dict[str, Any]) -> str:
    """The unkeyed SHA-256 that signatures held before keyed hashes (migration 0003): the
    JSON of ``payload`` with ``str()`` of every value JSON does not know."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def signing_keys() -> dict[str, str]:
    """Every key a signature may be verified with, by id (the current one and the old ones)."""
    return {**settings.SIGNATURE_OLD_KEYS, settings.SIGNATURE_KEY_ID: settings.SIGNATURE_KEY}


def keyed_hash(payload: dict[str, Any], key_id: str) -> str:
    """HMAC-SHA256 of the canonical JSON of ``payload`` under the signing key ``key_id``."""
    key = signing_keys()[key_id]
    return hmac.new(key.encode(), canonical_json(payload), hashlib.sha256).hexdigest()


def seal(payload: dict[str, Any]) -> tuple[str, str]:
    """(key id, hash) of ``payload`` under the current signing key: what a signature stores."""
    key_id = settings.SIGNATURE_KEY_ID
    return key_id, keyed_hash(payload, key_id)


def stored_records(model: type[models.Model]) -> models.QuerySet:
    """Records of ``model`` as the database holds them, with what their payload reads
    (``signature_prefetch``) fetched once, not once per use."""
    return model._base_manager.prefetch_related(*getattr(model, "signature_prefetch", ()))


def stored(obj: S) -> S:
    """``obj`` as the database holds it now (a fresh query: no unsaved value, no cache)."""
    return stored_records(type(obj)).get(pk=obj.pk)


def stored_payload(obj: Signable) -> dict[str, Any]:
    """The payload of ``obj`` as stored: what signing and verifying hash."""
    return stored(obj).signature_payload()


@dataclass(frozen=True)
class SignatureState:
    signature: Signature
    valid: bool
    reason: str  # why it is void, when it is


def signatures_of(obj: models.Model) -> models.QuerySet[Signature]:
    return Signature.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    ).select_related("signer")


def why_void(signature: Signature, payload: dict[str, Any]) -> str:
    """Why ``signature`` does not hold over ``payload`` (the data as stored); "" if it does."""
    if signature.voided_at is not None:
        return signature.void_reason or _("The signature was voided.")
    if signature.key_id == LEGACY_KEY_ID:
        current = legacy_hash(payload)
    elif signature.key_id in signing_keys():
        current = keyed_hash(payload, signature.key_id)
    else:
        return _("The signing key %(key)s is not configured: the signature cannot be verified.") % {
            "key": signature.key_id
        }
    if not hmac.compare_digest(signature.data_hash, current):
        return str(DATA_CHANGED)
    return ""


def _state(signature: Signature, payload: dict[str, Any]) -> SignatureState:
    reason = why_void(signature, payload)
    return SignatureState(signature, not reason, reason)


def holds(signature: Signature, payload: dict[str, Any]) -> bool:
    """Whether ``signature`` is not voided and still matches ``payload``."""
    return not why_void(signature, payload)


def signature_states(obj: Signable, *, reload: bool = True) -> list[SignatureState]:
    """Every signature over ``obj`` with whether it still holds, oldest first.

    ``reload=False`` when ``obj`` was itself just read through ``stored_records``."""
    payload = stored_payload(obj) if reload else obj.signature_payload()
    return [_state(signature, payload) for signature in signatures_of(obj)]


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
    objects = stored_records(model).in_bulk(list(candidates))
    latest = {}
    for pk, found in candidates.items():
        payload = objects[pk].signature_payload()
        valid = [s for s in found if holds(s, payload)]
        if valid:
            latest[pk] = valid[-1]
    return latest


def verify_all() -> list[SignatureState]:
    """Every signature, in signing order, with whether it holds over its record as the
    database holds it now, and why not (``manage.py verify_signatures``).  One query for
    the signatures and one per signed model."""
    every = list(
        Signature.objects.select_related("content_type", "signer").order_by("signed_at", "pk")
    )
    wanted: dict[int, set[int]] = {}
    for signature in every:
        wanted.setdefault(signature.content_type_id, set()).add(signature.object_id)
    payloads: dict[tuple[int, int], dict[str, Any]] = {}
    for content_type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is None or not hasattr(model, "signature_payload"):
            continue
        for pk, obj in stored_records(model).in_bulk(list(ids)).items():
            payloads[(content_type_id, pk)] = obj.signature_payload()
    states = []
    for signature in every:
        payload = payloads.get((signature.content_type_id, signature.object_id))
        if payload is None:
            states.append(SignatureState(signature, False, str(RECORD_MISSING)))
        else:
            states.append(_state(signature, payload))
    return states


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
    # Reloaded: the values as the database holds them, never the form's.
    key_id, data_hash = seal(stored_payload(obj))
    with audit_context(user, _("e-signature: %(meaning)s") % {"meaning": meaning.label}):
        return Signature.objects.create(
            content_type=ContentType.objects.get_for_model(obj),
            object_id=obj.pk,
            signer=user,
            printed_name=user.printed_name,
            meaning=meaning,
            signed_at=timezone.now(),
            data_hash=data_hash,
            key_id=key_id,
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
