"""Monitoring writes: queries, source data verification, locks and sign-offs.

Each public service is keyword-only, runs in one transaction and records who and why
(pghistory context).  The ``*_stale``/``*_by_correction``/``edit_check_sync`` functions are
called from the save path (``monitoring.hooks``) inside the saving transaction and enter no
audit context of their own (see ``monitoring.hooks``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from monitoring.edit_checks import Finding, Judged
from monitoring.models import (
    UNRESOLVED,
    DataQuery,
    Lock,
    LockScope,
    MessageKind,
    QueryMessage,
    QueryStatus,
    Signoff,
    SignoffKind,
    Verification,
)
from monitoring.targets import Position, data_field, data_fields, display_value, position
from trialsite import access, roles, signatures, texts
from trialsite.audit import audit_context
from trialsite.models import ClinicalRecord, Signature, User
from trialsite.roles import Role

# Messages the tests import.
QUESTION_NEEDED = gettext_lazy("Write the question.")
UNKNOWN_FIELD = gettext_lazy("%(model)s has no field %(field)s.")
RESPONSE_NEEDED = gettext_lazy("Write the response.")
REASON_NEEDED = gettext_lazy("Give a reason.")
NOT_OPEN = gettext_lazy("Only an open query can be answered (this one is %(status)s).")
ALREADY_CLOSED = gettext_lazy("This query is already closed.")
NOT_REOPENABLE = gettext_lazy("Only an answered or closed query can be re-opened.")
# Who takes each monitoring step (issue 19): a refusal names the role, then whom to ask
# (``access.who_can``).
RAISES_QUERY = gettext_lazy("The monitor or the data manager raises a query")
ANSWERS_QUERY = gettext_lazy("The site's coordinator or investigator answers a query")
CLOSES_QUERY = gettext_lazy("The monitor or the data manager closes a query")
REOPENS_QUERY = gettext_lazy("The monitor or the data manager re-opens a query")
VERIFIES_SOURCE = gettext_lazy("The monitor verifies data against source")
LOCKS_DATA = gettext_lazy("The data manager locks data")
UNLOCKS_DATA = gettext_lazy("The data manager unlocks data")
SIGNS_VISIT = gettext_lazy("The investigator signs off the visit")
SIGNS_CASEBOOK = gettext_lazy("The investigator signs off the casebook")
ONLY_SITE_ANSWERS = gettext_lazy("Queries are answered by the site (coordinator or investigator).")
DUPLICATE_AUTOMATIC = gettext_lazy(
    "The automatic check has opened a newer query on the same data: work on that one."
)
VOIDED_RECORD = gettext_lazy("This record is voided: there is nothing to verify.")
ALREADY_LOCKED = gettext_lazy("This data is already locked.")
NOT_LOCKED = gettext_lazy("This lock was already released.")
ALREADY_SIGNED = gettext_lazy("This is already signed, and the signature still holds.")
MISSING_FORMS = gettext_lazy("Required forms are missing: %(forms)s.")
MISSING_FORMS_AT = gettext_lazy("Required forms are missing at %(visit)s: %(forms)s.")
NOT_ENDED = gettext_lazy("The casebook is signed at study end: %(subject)s is still %(status)s.")
VISIT_IS_VOIDED = gettext_lazy("This visit is voided.")


def _now() -> datetime:
    return timezone.now()


@dataclass(frozen=True)
class Place:
    site_id: int
    participant_id: int | None
    screening_id: int | None
    visit_id: int | None


def _place(record: ClinicalRecord, pos: Position | None = None) -> Place:
    from eligibility.models import Screening
    from enrollment.models import Participant

    pos = pos or position(record)
    if pos.participant_id is not None:
        site_id = Participant.objects.values_list("site_id", flat=True).get(pk=pos.participant_id)
    else:
        site_id = Screening.objects.values_list("site_id", flat=True).get(pk=pos.screening_id)
    return Place(site_id, pos.participant_id, pos.screening_id, pos.visit_id)


def _require_site(user: User, site_id: int) -> None:
    if not access.user_sites(user).filter(pk=site_id).exists():
        raise PermissionDenied(_("This data is not at one of your sites."))


# --- Queries -------------------------------------------------------------------------------


@transaction.atomic
def query_open(
    *, record: ClinicalRecord, user: User, question: str, field_name: str = ""
) -> DataQuery:
    """A monitor or data manager asks the site about a field of a record (or the whole form)."""
    access.require(user, roles.QUERIES)
    question = question.strip()
    if not question:
        raise ValidationError(QUESTION_NEEDED, code="question_needed")
    if field_name and data_field(type(record), field_name) is None:
        raise ValidationError(
            UNKNOWN_FIELD % {"model": record._meta.verbose_name, "field": field_name},
            code="unknown_field",
        )
    place = _place(record)
    _require_site(user, place.site_id)
    with audit_context(user, _("query opened")):
        query = DataQuery.objects.create(
            site_id=place.site_id,
            participant_id=place.participant_id,
            screening_id=place.screening_id,
            visit_id=place.visit_id,
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            field_name=field_name,
            question=question,
            opened_by=user,
        )
        QueryMessage.objects.create(
            query=query, kind=MessageKind.QUESTION, text=question, author=user
        )
    return query


def _locked(query: DataQuery) -> DataQuery:
    return DataQuery.objects.select_for_update().get(pk=query.pk)


@transaction.atomic
def query_answer(*, query: DataQuery, user: User, response: str) -> DataQuery:
    """The site answers in words (a value that is right as entered, an explanation).

    A wrong value is corrected through the record's own edit form instead
    (``monitoring.views.query_correct``), which answers the query with the change.
    """
    if not access.can_write(user):
        raise PermissionDenied(ONLY_SITE_ANSWERS)
    _require_site(user, query.site_id)
    query = _locked(query)
    if query.status != QueryStatus.OPEN:
        raise ValidationError(NOT_OPEN % {"status": query.get_status_display()}, code="not_open")
    response = response.strip()
    if not response:
        raise ValidationError(RESPONSE_NEEDED, code="response_needed")
    with audit_context(user, _("query answered")):
        query.status, query.answered_at = QueryStatus.ANSWERED, _now()
        query.save()
        QueryMessage.objects.create(
            query=query, kind=MessageKind.ANSWER, text=response, author=user
        )
    return query


def query_answer_by_correction(
    *, query: DataQuery, record: ClinicalRecord, user: User | None, reason: str, now: datetime
) -> DataQuery | None:
    """The queried record was just corrected in its edit form: that answers the query.

    Called from the save path, in the correction's transaction (no context of its own: the
    correction's reason is the audit reason of both).
    """
    query = _locked(query)
    if query.status != QueryStatus.OPEN:
        return None
    query.status, query.answered_at = QueryStatus.ANSWERED, now
    query.save()
    text = (
        _("Corrected in the form: %(reason)s") % {"reason": reason}
        if reason
        else _("Corrected in the form.")
    )
    QueryMessage.objects.create(
        query=query,
        kind=MessageKind.ANSWER,
        text=text,
        author=user,
        created_at=now,
        correction_version=record.version,
    )
    return query


def _require_opening_side(query: DataQuery, user: User) -> None:
    access.require(user, roles.QUERIES)
    _require_site(user, query.site_id)
    if (
        query.opened_by_id is not None
        and query.opened_by_id != user.pk
        and not user.has_role(Role.DATA_MANAGER)
    ):
        opener = query.opened_by.printed_name
        managers = access.holder_names(roles.LOCK, [query.site_id])
        raise PermissionDenied(
            _(
                "The monitor who opened this query (%(opener)s) or a data manager closes or "
                "re-opens it: ask %(names)s."
            )
            % {"opener": opener, "names": _(", ").join([opener, *managers])}
        )


@transaction.atomic
def query_close(*, query: DataQuery, user: User, note: str = "") -> DataQuery:
    """The opener (or a data manager) accepts the answer, or withdraws the question."""
    _require_opening_side(query, user)
    query = _locked(query)
    if query.status == QueryStatus.CLOSED:
        raise ValidationError(ALREADY_CLOSED, code="closed")
    note = note.strip() or _("Closed.")
    with audit_context(user, _("query closed")):
        query.status, query.closed_at, query.closed_by = QueryStatus.CLOSED, _now(), user
        query.save()
        QueryMessage.objects.create(query=query, kind=MessageKind.CLOSE, text=note, author=user)
    return query


@transaction.atomic
def query_reopen(*, query: DataQuery, user: User, reason: str) -> DataQuery:
    """The answer does not settle it: the query is open again, with why."""
    _require_opening_side(query, user)
    query = _locked(query)
    if query.status not in (QueryStatus.ANSWERED, QueryStatus.CLOSED):
        raise ValidationError(NOT_REOPENABLE, code="not_reopenable")
    reason = reason.strip()
    if not reason:
        raise ValidationError(REASON_NEEDED, code="reason_needed")
    with audit_context(user, _("query re-opened")):
        query.status = QueryStatus.OPEN
        query.answered_at = query.closed_at = query.closed_by = None
        try:
            with transaction.atomic():
                query.save()
        except IntegrityError as exc:
            raise ValidationError(DUPLICATE_AUTOMATIC, code="duplicate") from exc
        QueryMessage.objects.create(query=query, kind=MessageKind.REOPEN, text=reason, author=user)
    return query


def edit_check_sync(
    *, record: ClinicalRecord, findings: dict[str, Finding | Judged | None], now: datetime
) -> list[DataQuery]:
    """Bring the automatic queries of ``record`` in line with its rules' findings.

    Opens one query per broken rule (none while one is unresolved, none again for the
    data a person already closed it on); closes the check's own queries when the rule
    passes again.  Returns the queries opened or closed.
    """
    content_type = ContentType.objects.get_for_model(record)
    existing = list(
        DataQuery.objects.select_for_update()
        .filter(content_type=content_type, object_id=record.pk, rule_code__in=list(findings))
        .order_by("pk")
    )
    changed: list[DataQuery] = []
    place: Place | None = None
    for code, finding in findings.items():
        mine = [q for q in existing if q.rule_code == code]
        unresolved = [q for q in mine if q.status in UNRESOLVED]
        if finding is None or isinstance(finding, Judged):
            # Who judged the data, or that it passes now: a text in the reader's language.
            note = finding.note if isinstance(finding, Judged) else texts.Text("query.auto_closed")
            for query in unresolved:
                query.status, query.closed_at, query.closed_by = QueryStatus.CLOSED, now, None
                query.save()
                closing = QueryMessage(query=query, kind=MessageKind.CLOSE, created_at=now)
                closing.text = closing.set_text(note)
                closing.save()
                changed.append(query)
            continue
        settled = any(
            q.closed_by_id is not None and q.rule_fingerprint == finding.fingerprint for q in mine
        )
        if unresolved or settled:
            continue
        place = place or _place(record)
        try:
            with transaction.atomic():
                question = finding.question_text
                query = DataQuery(
                    site_id=place.site_id,
                    participant_id=place.participant_id,
                    screening_id=place.screening_id,
                    visit_id=place.visit_id,
                    content_type=content_type,
                    object_id=record.pk,
                    field_name=finding.rule.field,
                    question=finding.question,
                    rule_code=code,
                    rule_fingerprint=finding.fingerprint,
                    opened_at=now,
                )
                query.question = query.set_text(question) or finding.question
                query.save()
        except IntegrityError:
            continue  # a concurrent save opened it: one query per rule and target
        asked = QueryMessage(query=query, kind=MessageKind.QUESTION, created_at=now)
        asked.text = asked.set_text(question) or finding.question
        asked.save()
        changed.append(query)
    return changed


def edit_checks_run(*, now: datetime, everything: bool = False) -> int:
    """The clock-driven checks (``manage.py run_edit_checks``): returns queries changed."""
    from crf.models import AdverseEvent
    from dosing.models import Infusion, LabResult, Visit
    from monitoring import edit_checks

    records: list[Iterable] = [AdverseEvent.objects.filter(serious=True)]
    if everything:
        records += [LabResult.objects.all(), Visit.objects.all(), Infusion.objects.all()]
    changed = 0
    with audit_context(None, _("automatic edit checks"), source="run_edit_checks"):
        for queryset in records:
            for record in queryset.order_by("pk").iterator():
                with transaction.atomic():
                    changed += len(edit_checks.run_for_record(record, now=now))
    return changed


# --- Source data verification ------------------------------------------------------------------


def value_hash(record: ClinicalRecord, field) -> str:
    from monitoring.targets import value_text

    return signatures.payload_hash(
        {
            "model": record._meta.label,
            "pk": record.pk,
            "field": field.name,
            "value": value_text(record, field),
        }
    )


@transaction.atomic
def verification_mark(
    *, record: ClinicalRecord, user: User, field_names: Sequence[str] | None = None
) -> list[Verification]:
    """A monitor verified fields of a record against source (all of them when not named).

    Bound to the stored value: a field already verified at the same value stays as it is.
    """
    access.require(user, roles.VERIFY)
    model = type(record)
    record = model._base_manager.get(pk=record.pk)  # verify what is stored
    pos = position(record)
    place = _place(record, pos)
    _require_site(user, place.site_id)
    if record.is_voided:
        raise ValidationError(VOIDED_RECORD, code="voided")
    if pos.participant_id is None:
        raise ValidationError(_("Only a participant's data is verified."), code="no_participant")
    fields = list(data_fields(model))
    if field_names is not None:
        unknown = [name for name in field_names if data_field(model, name) is None]
        if unknown:
            raise ValidationError(
                UNKNOWN_FIELD % {"model": model._meta.verbose_name, "field": ", ".join(unknown)},
                code="unknown_field",
            )
        fields = [f for f in fields if f.name in set(field_names)]
    content_type = ContentType.objects.get_for_model(model)
    current = {
        v.field_name: v
        for v in Verification.objects.select_for_update().filter(
            content_type=content_type, object_id=record.pk, cleared_at__isnull=True
        )
    }
    made = []
    now = _now()
    with audit_context(user, _("verified against source")):
        for field in fields:
            digest = value_hash(record, field)
            old = current.get(field.name)
            if old is not None and old.value_hash == digest:
                continue
            if old is not None:  # changed outside the application since it was verified
                old.cleared_at, old.cleared_by = now, user
                old.cleared_reason = _("The value changed after verification.")
                old.save()
            made.append(
                Verification.objects.create(
                    site_id=place.site_id,
                    participant_id=pos.participant_id,
                    visit_id=pos.visit_id,
                    content_type=content_type,
                    object_id=record.pk,
                    field_name=field.name,
                    verified_value=display_value(record, field),
                    value_hash=digest,
                    verified_by=user,
                    verified_at=now,
                )
            )
    return made


def verifications_clear_stale(
    *, record: ClinicalRecord, user: User | None, now: datetime
) -> list[Verification]:
    """A record was saved: each verified value that changed loses its verification, saying
    what changed (save path; no context of its own)."""
    if record.pk is None:
        return []
    active = list(
        Verification.objects.filter(
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            cleared_at__isnull=True,
        )
    )
    if not active:
        return []
    stored = type(record)._base_manager.get(pk=record.pk)
    cleared = []
    for verification in active:
        field = data_field(type(record), verification.field_name)
        if field is not None and value_hash(stored, field) == verification.value_hash:
            continue
        new = display_value(stored, field) if field is not None else "—"
        verification.cleared_at, verification.cleared_by = now, user
        verification.cleared_reason = _(
            "%(field)s changed after verification: %(old)s → %(new)s."
        ) % {
            "field": str(field.verbose_name) if field is not None else verification.field_name,
            "old": verification.verified_value or "—",
            "new": new,
        }
        verification.save(update_fields=["cleared_at", "cleared_by", "cleared_reason"])
        cleared.append(verification)
    return cleared


# --- Locks ---------------------------------------------------------------------------------


@transaction.atomic
def lock_create(
    *,
    user: User,
    participant,
    scope: LockScope,
    visit=None,
    record: ClinicalRecord | None = None,
    form_kind: str = "",
    reason: str = "",
) -> Lock:
    """A data manager locks a participant, a visit or a form: read-only for everyone.

    A form is a visit's form of one kind (``visit`` + ``form_kind``) or one record outside
    visits (``record``: an adverse event, a medication, ...).
    """
    from enrollment.models import Participant

    access.require(user, roles.LOCK)
    _require_site(user, participant.site_id)
    # Serialised with the services that write the participant's data (they lock this row).
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    lock = Lock(
        scope=scope,
        site_id=participant.site_id,
        participant=participant,
        reason=reason.strip(),
        locked_by=user,
    )
    if scope in (LockScope.VISIT, LockScope.FORM) and visit is not None:
        if visit.participant_id != participant.pk:
            raise ValidationError(_("This visit belongs to another participant."))
        lock.visit = visit
        lock.form_kind = form_kind if scope == LockScope.FORM else ""
    elif scope == LockScope.FORM and record is not None:
        pos = position(record)
        if pos.participant_id != participant.pk:
            raise ValidationError(_("This record belongs to another participant."))
        if pos.visit_id is not None and pos.form_kind:
            lock.visit_id, lock.form_kind = pos.visit_id, pos.form_kind
        else:
            lock.content_type_id, lock.object_id = pos.form_content_type_id, pos.form_object_id
    elif scope != LockScope.PARTICIPANT:
        raise ValidationError(_("Say what to lock."), code="no_target")
    if scope == LockScope.FORM and lock.visit_id is not None and not lock.form_kind:
        raise ValidationError(_("Say which form of the visit to lock."), code="no_target")
    with audit_context(user, lock.reason or _("data locked")):
        try:
            with transaction.atomic():
                lock.full_clean(validate_constraints=False)  # the database says "locked"
                lock.save()
        except IntegrityError as exc:
            raise ValidationError(ALREADY_LOCKED, code="already_locked") from exc
    return lock


def _signoffs_under(lock: Lock) -> list[Signoff]:
    """The sign-offs whose data a lock covers (the casebook covers everything)."""
    signoffs = Signoff.objects.filter(participant_id=lock.participant_id)
    if lock.scope == LockScope.PARTICIPANT:
        return list(signoffs)
    covers = Q(kind=SignoffKind.CASEBOOK)
    if lock.visit_id is not None:
        covers |= Q(kind=SignoffKind.VISIT, visit_id=lock.visit_id)
    return list(signoffs.filter(covers))


@transaction.atomic
def lock_release(*, lock: Lock, user: User, reason: str) -> Lock:
    """A data manager unlocks, with a reason; the signatures over that data become void
    (the data may change now, and whoever signs it again signs what is there then)."""
    access.require(user, roles.LOCK)
    _require_site(user, lock.site_id)
    reason = reason.strip()
    if not reason:
        raise ValidationError(REASON_NEEDED, code="reason_needed")
    lock = Lock.objects.select_for_update().get(pk=lock.pk)
    if lock.unlocked_at is not None:
        raise ValidationError(NOT_LOCKED, code="not_locked")
    why = _("Unlocked by %(who)s: %(reason)s") % {"who": user.printed_name, "reason": reason}
    with audit_context(user, why):
        lock.unlocked_at, lock.unlocked_by, lock.unlock_reason = _now(), user, reason
        lock.save()
        for signoff in _signoffs_under(lock):
            signatures.void_signatures(signoff, user=user, reason=why)
    return lock


# --- Investigator sign-off -------------------------------------------------------------------


def signoffs_void_stale(
    *, participant_id: int, visit_id: int | None, reason: str, now: datetime
) -> int:
    """Record as void every sign-off signature whose data no longer hashes the same
    (save path; no context of its own).  One query when nothing is signed."""
    covers = Q(kind=SignoffKind.CASEBOOK)
    if visit_id is not None:
        covers |= Q(kind=SignoffKind.VISIT, visit_id=visit_id)
    signoff_ids = Signoff.objects.filter(participant_id=participant_id).filter(covers).values("pk")
    live = list(
        Signature.objects.filter(
            content_type=ContentType.objects.get_for_model(Signoff),
            object_id__in=signoff_ids,
            voided_at__isnull=True,
        )
    )
    voided = 0
    for signoff in Signoff.objects.filter(pk__in={s.object_id for s in live}):
        payload = signoff.signature_payload()
        for signature in live:
            if signature.object_id == signoff.pk and not signatures.holds(signature, payload):
                signature.voided_at, signature.void_reason = now, reason
                signature.save(update_fields=["voided_at", "void_reason"])
                voided += 1
    return voided


def _count_refusal(n: int) -> str:
    return ngettext(
        "%(n)s query is still open or answered on this data: it must be closed first.",
        "%(n)s queries are still open or answered on this data: they must be closed first.",
        n,
    ) % {"n": n}


def visit_signoff_refusals(visit) -> list[str]:
    """Why a visit cannot be signed yet (empty: it can)."""
    from crf.selectors import visit_forms

    if visit.is_voided:
        return [str(VISIT_IS_VOIDED)]
    refusals = []
    n_open = DataQuery.objects.filter(visit=visit, status__in=UNRESOLVED).count()
    if n_open:
        refusals.append(_count_refusal(n_open))
    missing = visit_forms([visit])[visit.pk].missing
    if missing:
        refusals.append(
            str(MISSING_FORMS % {"forms": ", ".join(str(kind.label) for kind in missing)})
        )
    return refusals


def casebook_signoff_refusals(participant) -> list[str]:
    """Why a casebook cannot be signed yet (empty: it can)."""
    from crf.selectors import visit_forms
    from dosing.models import Visit
    from enrollment.rules import ACTIVE_STATUSES, ParticipantStatus

    refusals = []
    if participant.status in ACTIVE_STATUSES:
        refusals.append(
            str(
                NOT_ENDED
                % {"subject": participant.subject_id, "status": participant.get_status_display()}
            )
        )
    n_open = (
        DataQuery.objects.filter(
            Q(participant=participant) | Q(screening_id=participant.screening_id),
            status__in=UNRESOLVED,
        )
        .distinct()
        .count()
    )
    if n_open:
        refusals.append(_count_refusal(n_open))
    visits = list(Visit.objects.active().filter(participant=participant).order_by("visit_date"))
    # After a consent withdrawal what is missing can no longer be entered: it does not block.
    if participant.status != ParticipantStatus.WITHDRAWN:
        forms = visit_forms(visits)
        for visit in visits:
            missing = forms[visit.pk].missing
            if missing:
                refusals.append(
                    str(
                        MISSING_FORMS_AT
                        % {
                            "visit": visit.visit_code,
                            "forms": ", ".join(str(kind.label) for kind in missing),
                        }
                    )
                )
    return refusals


def _sign(
    *, signoff_lookup: dict, defaults: dict, user: User, reauth, refusals: list[str]
) -> Signature:
    if refusals:
        raise ValidationError(refusals, code="cannot_sign")
    with audit_context(user, _("investigator sign-off")):
        signoff, _created = Signoff.objects.get_or_create(**signoff_lookup, defaults=defaults)
    if signatures.valid_signature(signoff, signoff.meaning) is not None:
        raise ValidationError(ALREADY_SIGNED, code="already_signed")
    return signatures.sign(obj=signoff, user=user, reauth=reauth, meaning=signoff.meaning)


def visit_sign(
    *, visit, user: User, password: str, request: HttpRequest | None = None
) -> Signature:
    """The investigator signs a visit's CRFs (password checked first, outside the
    transaction, so a wrong one counts towards the lockout)."""
    reauth = signatures.reauthenticate(user=user, password=password, request=request)
    return _visit_sign(visit=visit, user=user, reauth=reauth)


@transaction.atomic
def _visit_sign(*, visit, user: User, reauth: signatures.Reauthentication) -> Signature:
    from dosing.models import Visit

    access.require(user, roles.SIGN)
    visit = Visit.objects.select_for_update().select_related("participant").get(pk=visit.pk)
    _require_site(user, visit.participant.site_id)
    return _sign(
        signoff_lookup={"kind": SignoffKind.VISIT, "visit": visit},
        defaults={"participant": visit.participant, "site_id": visit.participant.site_id},
        user=user,
        reauth=reauth,
        refusals=visit_signoff_refusals(visit),
    )


def casebook_sign(
    *, participant, user: User, password: str, request: HttpRequest | None = None
) -> Signature:
    """The investigator signs the whole casebook at study end."""
    reauth = signatures.reauthenticate(user=user, password=password, request=request)
    return _casebook_sign(participant=participant, user=user, reauth=reauth)


@transaction.atomic
def _casebook_sign(*, participant, user: User, reauth: signatures.Reauthentication) -> Signature:
    from enrollment.models import Participant

    access.require(user, roles.SIGN)
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    _require_site(user, participant.site_id)
    return _sign(
        signoff_lookup={"kind": SignoffKind.CASEBOOK, "participant": participant},
        defaults={"site_id": participant.site_id},
        user=user,
        reauth=reauth,
        refusals=casebook_signoff_refusals(participant),
    )
