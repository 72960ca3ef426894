"""Monitoring reads: query lists, review pages, SDV progress, the data-quality dashboard.

Pages that list many participants, visits or queries read in a fixed number of queries
(one per table), whatever the number of rows; ``tests/test_monitoring_quality.py`` counts
them.  Progress counts read the recorded state (a verification or a signature recorded as
void when the data changed through the application); the review pages of one visit or one
participant also re-hash the data, so a change made outside the application shows there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import BigIntegerField, F, Q, QuerySet, Value
from django.utils import timezone

from crf.expected import expected_crfs
from crf.selectors import visit_forms
from dosing.models import Visit
from enrollment.models import Participant
from enrollment.rules import ParticipantStatus
from monitoring import services
from monitoring.models import (
    UNRESOLVED,
    DataQuery,
    Lock,
    LockScope,
    QueryStatus,
    Signoff,
    SignoffKind,
    Verification,
)
from monitoring.targets import (
    Position,
    data_fields,
    describe,
    display_value,
    record_label,
    urls_of,
    visit_form_kind,
)
from trialsite import access, roles, signatures
from trialsite.models import ClinicalRecord, Signature, User
from trialsite.records import record_forms
from trialsite.roles import Role

# The forms a monitor verifies against source (SDV progress counts these).  Screening data
# can be queried but is verified at the eligibility review, not here.
SDV_MODELS: tuple[str, ...] = (
    "dosing.Visit",
    "crf.Vitals",
    "crf.EssdaiAssessment",
    "crf.EsspriAssessment",
    "crf.PhysicianGlobal",
    "crf.GlandFunction",
    "dosing.LabResult",
    "crf.SafetyReview",
    "dosing.Infusion",
    "dosing.BCellResult",
    "crf.AdverseEvent",
    "crf.AdverseEventUpdate",
    "crf.ConcomitantMedication",
)
# Ages of unresolved queries, in days: (label, lowest, highest or None).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7),
    ("8-30", 8, 30),
    ("31+", 31, None),
)


def age_bucket(days: int) -> str:
    return next(
        label for label, low, high in AGE_BUCKETS if days >= low and (high is None or days <= high)
    )


@cache
def _participant_paths() -> dict[str, str]:
    return {f.model._meta.label: f.participant_path or "pk" for f in record_forms()}


def participant_path(model: type[models.Model]) -> str:
    return _participant_paths()[model._meta.label]


def sdv_models() -> list[type[ClinicalRecord]]:
    return [apps.get_model(label) for label in SDV_MODELS]


def can_open_queries(user: User) -> bool:
    return user.has_perm(roles.QUERIES)


# --- Queries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryRow:
    query: DataQuery
    target_label: str
    age_days: int

    @property
    def age_bucket(self) -> str:
        return age_bucket(self.age_days)


def queries_for(user: User) -> QuerySet[DataQuery]:
    return access.scoped(DataQuery.objects.all(), user).select_related(
        "site", "participant", "screening", "visit", "content_type", "opened_by"
    )


def _target_labels(queries: Sequence[DataQuery]) -> dict[tuple[int, int], str]:
    """Labels of the queried records: one query per kind of record, not per query."""
    ids: dict[int, set[int]] = defaultdict(set)
    visits: dict[tuple[int, int], Any] = {}
    for q in queries:
        ids[q.content_type_id].add(q.object_id)
        visits[(q.content_type_id, q.object_id)] = q.visit
    labels = {}
    for ct_id, pks in ids.items():
        model = ContentType.objects.get_for_id(ct_id).model_class()
        for record in model._base_manager.filter(pk__in=pks):
            labels[(ct_id, record.pk)] = record_label(record, visits[(ct_id, record.pk)])
    return labels


def query_rows(queries: Iterable[DataQuery], today: date) -> list[QueryRow]:
    queries = list(queries)
    labels = _target_labels(queries)
    return [
        QueryRow(
            query=q,
            target_label=labels.get((q.content_type_id, q.object_id), "?"),
            age_days=q.age_days(today),
        )
        for q in queries
    ]


STATUS_FILTERS = {
    "unresolved": Q(status__in=UNRESOLVED),
    "open": Q(status=QueryStatus.OPEN),
    "answered": Q(status=QueryStatus.ANSWERED),
    "closed": Q(status=QueryStatus.CLOSED),
    "all": Q(),
}


def query_list(
    user: User,
    today: date,
    *,
    site_code: str = "",
    status: str = "unresolved",
    subject_id: str = "",
) -> dict[str, Any]:
    """The per-site query list, oldest first, and unresolved counts per site and age.

    ``queries`` is a queryset for the page to cut (``trialsite.pagination``); build the
    rows of the page shown with ``query_rows``.
    """
    queries = queries_for(user).filter(STATUS_FILTERS.get(status, STATUS_FILTERS["unresolved"]))
    if site_code:
        queries = queries.filter(site__code=site_code)
    if subject_id:
        queries = queries.filter(participant__subject_id=subject_id)
    return {
        "queries": queries.order_by("opened_at", "pk"),
        "per_site": unresolved_by_site(user, today),
    }


@dataclass
class SiteQueries:
    site_code: str
    open: int = 0
    answered: int = 0
    by_age: dict[str, int] = field(default_factory=lambda: {label: 0 for label, *_r in AGE_BUCKETS})

    @property
    def total(self) -> int:
        return self.open + self.answered


def unresolved_by_site(user: User, today: date) -> list[SiteQueries]:
    """Unresolved queries per site: open, answered, and by age (one query)."""
    per_site: dict[str, SiteQueries] = {}
    for code, status, opened_at in (
        access.scoped(DataQuery.objects.filter(status__in=UNRESOLVED), user)
        .order_by("site__code")
        .values_list("site__code", "status", "opened_at")
    ):
        row = per_site.setdefault(code, SiteQueries(code))
        if status == QueryStatus.OPEN:
            row.open += 1
        else:
            row.answered += 1
        row.by_age[age_bucket((today - timezone.localdate(opened_at)).days)] += 1
    return list(per_site.values())


def query_page(query: DataQuery, user: User) -> dict[str, Any]:
    record = query.content_type.model_class()._base_manager.get(pk=query.object_id)
    target = describe(record, query.field_name)
    is_opening_side = user.has_perm(roles.QUERIES) and (
        query.opened_by_id in (None, user.pk) or user.has_role(Role.DATA_MANAGER)
    )
    field_value = None
    if query.field_name:
        model_field = next((f for f, _v in target.fields() if f.name == query.field_name), None)
        if model_field is not None:
            field_value = display_value(record, model_field)
    return {
        "query": query,
        "target": target,
        "field_value": field_value,
        "messages_": query.messages.select_related("author"),
        "can_answer": query.status == QueryStatus.OPEN and access.can_write(user),
        "can_correct": query.status == QueryStatus.OPEN
        and access.can_write(user)
        and target.edit_url is not None
        and not record.is_voided,
        "can_close": is_opening_side and query.status != QueryStatus.CLOSED,
        "can_reopen": is_opening_side and query.status != QueryStatus.OPEN,
    }


def unresolved_for_anchor(
    *, participant_id: int | None, screening_id: int | None
) -> list[DataQuery]:
    """Unresolved queries of one participant (or one screening): the badges of a page."""
    condition = Q()
    if participant_id is not None:
        condition |= Q(participant_id=participant_id)
    if screening_id is not None:
        condition |= Q(screening_id=screening_id)
    if not condition:
        return []
    return list(DataQuery.objects.filter(condition, status__in=UNRESOLVED).order_by("pk"))


# --- Locks ----------------------------------------------------------------------------------------


def covering_lock(pos: Position, locks: Iterable[Lock]) -> Lock | None:
    """The active lock (of ``locks``) that covers a record at ``pos`` (as the save path)."""
    for lock in locks:
        if lock.unlocked_at is not None or lock.participant_id != pos.participant_id:
            continue
        if lock.scope == LockScope.PARTICIPANT:
            return lock
        if lock.scope == LockScope.VISIT and lock.visit_id == pos.visit_id:
            return lock
        if lock.scope == LockScope.FORM:
            if lock.visit_id is not None:
                if lock.visit_id == pos.visit_id and lock.form_kind == pos.form_kind:
                    return lock
            elif (lock.content_type_id, lock.object_id) == (
                pos.form_content_type_id,
                pos.form_object_id,
            ):
                return lock
    return None


def active_locks(participant_ids: Iterable[int]) -> list[Lock]:
    return list(
        Lock.objects.filter(participant_id__in=list(participant_ids), unlocked_at__isnull=True)
        .select_related("locked_by")
        .order_by("pk")
    )


# --- Source data verification -----------------------------------------------------------------


@dataclass(frozen=True)
class FieldState:
    name: str
    label: str
    value: str
    verified: Verification | None  # holds, for the value stored now
    cleared: Verification | None  # the latest verification that no longer holds


@dataclass
class RecordRow:
    """One form (record) on a review page: its SDV state, lock and queries."""

    record: ClinicalRecord
    label: str
    display_url: str
    edit_url: str | None
    position: Position
    fields: list[FieldState]
    lock: Lock | None
    queries: list[DataQuery]

    @property
    def content_type_id(self) -> int:
        return ContentType.objects.get_for_model(self.record).pk

    @property
    def n_verified(self) -> int:
        return sum(1 for f in self.fields if f.verified is not None)

    @property
    def sdv_state(self) -> str:
        if self.fields and self.n_verified == len(self.fields):
            return "verified"
        return "partial" if self.n_verified else "unverified"

    @property
    def clearings(self) -> list[Verification]:
        return [f.cleared for f in self.fields if f.cleared is not None and f.verified is None]

    @property
    def lock_form_kind(self) -> str:
        return self.position.form_kind


def _row_position(record: ClinicalRecord, participant_id: int) -> Position:
    """Like ``targets.position`` without a query: the caller knows the participant."""
    label = record._meta.label
    ct = ContentType.objects.get_for_model(record)
    form_ct, form_pk = ct.pk, record.pk
    if label == "crf.AdverseEventUpdate":
        from crf.models import AdverseEvent

        form_ct = ContentType.objects.get_for_model(AdverseEvent).pk
        form_pk = record.adverse_event_id
    visit_id = record.pk if label == "dosing.Visit" else getattr(record, "visit_id", None)
    return Position(participant_id, visit_id, visit_form_kind(record), form_ct, form_pk)


def record_rows(
    records: Sequence[ClinicalRecord], *, participant: Participant, visits: dict[int, Visit]
) -> list[RecordRow]:
    """Review rows of a participant's records: three queries in all."""
    by_type: dict[int, set[int]] = defaultdict(set)
    for record in records:
        by_type[ContentType.objects.get_for_model(record).pk].add(record.pk)
    condition = Q()
    for ct_id, ids in by_type.items():
        condition |= Q(content_type_id=ct_id, object_id__in=ids)
    verifications: dict[tuple[int, int], list[Verification]] = defaultdict(list)
    queries: dict[tuple[int, int], list[DataQuery]] = defaultdict(list)
    if records:
        for v in Verification.objects.filter(condition).select_related("verified_by", "cleared_by"):
            verifications[(v.content_type_id, v.object_id)].append(v)
        for q in DataQuery.objects.filter(condition, status__in=UNRESOLVED).order_by("pk"):
            queries[(q.content_type_id, q.object_id)].append(q)
    locks = active_locks([participant.pk])
    rows = []
    for record in records:
        ct_id = ContentType.objects.get_for_model(record).pk
        pos = _row_position(record, participant.pk)
        visit = visits.get(pos.visit_id) if pos.visit_id else None
        display, edit = urls_of(record, participant, None, visit)
        states = []
        mine = verifications[(ct_id, record.pk)]
        for model_field in data_fields(type(record)):
            of_field = [v for v in mine if v.field_name == model_field.name]
            active = next((v for v in of_field if v.cleared_at is None), None)
            holds = (
                active is not None and services.value_hash(record, model_field) == active.value_hash
            )
            cleared = [v for v in of_field if v.cleared_at is not None]
            latest_cleared = max(cleared, key=lambda v: v.cleared_at) if cleared else None
            if active is not None and not holds:
                latest_cleared = active  # changed outside the application: not yet recorded
            states.append(
                FieldState(
                    name=model_field.name,
                    label=str(model_field.verbose_name),
                    value=display_value(record, model_field),
                    verified=active if holds else None,
                    cleared=latest_cleared,
                )
            )
        rows.append(
            RecordRow(
                record=record,
                label=record_label(record, visit),
                display_url=display or "",
                edit_url=edit,
                position=pos,
                fields=states,
                lock=covering_lock(pos, locks),
                queries=queries[(ct_id, record.pk)],
            )
        )
    return rows


def verified_fields(record: ClinicalRecord) -> list[str]:
    """The fields of a record whose verification holds for the value stored now."""
    fields = {f.name: f for f in data_fields(type(record))}
    return [
        v.field_name
        for v in Verification.objects.filter(
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            cleared_at__isnull=True,
        )
        if v.field_name in fields
        and services.value_hash(record, fields[v.field_name]) == v.value_hash
    ]


@dataclass
class SdvCount:
    total: int = 0  # forms (records) to verify
    verified: int = 0  # every field verified
    partial: int = 0  # some fields verified

    @property
    def percent(self) -> int:
        return round(100 * self.verified / self.total) if self.total else 0

    @property
    def unverified(self) -> int:
        return self.total - self.verified

    def add(self, other: SdvCount) -> None:
        self.total += other.total
        self.verified += other.verified
        self.partial += other.partial


def _sdv_records(ids: list[int]) -> QuerySet:
    """(pk, participant, visit, content type) of every current SDV record of the participants:
    one UNION ALL over the SDV form tables, so one query however many tables."""
    parts = []
    for model in sdv_models():
        path = participant_path(model)
        if model._meta.label == "dosing.Visit":
            visit = F("pk")
        elif any(f.name == "visit" for f in model._meta.fields):
            visit = F("visit_id")
        else:
            visit = Value(None, output_field=BigIntegerField())
        ct_id = ContentType.objects.get_for_model(model).pk
        parts.append(
            model.objects.active()
            .filter(**{f"{path}__in": ids})
            .order_by()
            .annotate(
                _participant=F(path),
                _visit=visit,
                _ct=Value(ct_id, output_field=BigIntegerField()),
            )
            .values_list("pk", "_participant", "_visit", "_ct")
        )
    return parts[0].union(*parts[1:], all=True)


def sdv_counts(participant_ids: Sequence[int]) -> dict[int, dict[int | None, SdvCount]]:
    """participant → visit (None: outside visits) → SDV counts, in two queries."""
    ids = list(participant_ids)
    verified_fields: dict[tuple[int, int], int] = defaultdict(int)
    for ct_id, object_id in Verification.objects.filter(
        participant_id__in=ids, cleared_at__isnull=True
    ).values_list("content_type_id", "object_id"):
        verified_fields[(ct_id, object_id)] += 1
    n_fields = {
        ContentType.objects.get_for_model(model).pk: len(data_fields(model))
        for model in sdv_models()
    }
    counts: dict[int, dict[int | None, SdvCount]] = defaultdict(lambda: defaultdict(SdvCount))
    for pk, participant_id, visit_id, ct_id in _sdv_records(ids):
        count = counts[participant_id][visit_id]
        count.total += 1
        n = verified_fields.get((ct_id, pk), 0)
        if n >= n_fields[ct_id]:
            count.verified += 1
        elif n:
            count.partial += 1
    return counts


def _sum(counts: Iterable[SdvCount]) -> SdvCount:
    total = SdvCount()
    for c in counts:
        total.add(c)
    return total


# --- Sign-offs ------------------------------------------------------------------------------------


def live_signatures(signoffs: Iterable[Signoff]) -> dict[int, list[Signature]]:
    """Signoff pk → its signatures recorded as not void (one query)."""
    signoffs = list(signoffs)
    by_signoff: dict[int, list[Signature]] = defaultdict(list)
    if not signoffs:
        return by_signoff
    for signature in Signature.objects.filter(
        content_type=ContentType.objects.get_for_model(Signoff),
        object_id__in=[s.pk for s in signoffs],
        voided_at__isnull=True,
    ).select_related("signer"):
        by_signoff[signature.object_id].append(signature)
    return by_signoff


def signed_visit_ids(visit_ids: Iterable[int]) -> set[int]:
    """Visits with a visit sign-off signature recorded as not void (two queries)."""
    signoffs = list(Signoff.objects.filter(kind=SignoffKind.VISIT, visit_id__in=list(visit_ids)))
    live = live_signatures(signoffs)
    return {s.visit_id for s in signoffs if live.get(s.pk)}


# --- Review pages ---------------------------------------------------------------------------------


def visit_records(visit: Visit) -> list[ClinicalRecord]:
    """The visit and every current record attached to it (forms, labs, infusion, B cells)."""
    records: list[ClinicalRecord] = [visit]
    for form in record_forms():
        if form.visit_path == "visit":
            records += list(form.model.objects.active().filter(visit=visit).order_by("pk"))
    return records


def visit_review(visit: Visit, user: User) -> dict[str, Any]:
    participant = visit.participant
    rows = record_rows(visit_records(visit), participant=participant, visits={visit.pk: visit})
    signoff = Signoff.objects.filter(kind=SignoffKind.VISIT, visit=visit).first()
    states = signatures.signature_states(signoff) if signoff else []
    locks = active_locks([participant.pk])
    visit_lock = next(
        (
            lock
            for lock in locks
            if lock.scope == LockScope.PARTICIPANT
            or (lock.scope == LockScope.VISIT and lock.visit_id == visit.pk)
        ),
        None,
    )
    signed = any(s.valid for s in states)
    return {
        "visit": visit,
        "participant": participant,
        "rows": rows,
        "sdv": _sdv_of_rows(rows),
        "signature_states": states,
        "signed": signed,
        "refusals": services.visit_signoff_refusals(visit),
        "visit_lock": visit_lock,
        "queries": query_rows(
            queries_for(user).filter(visit=visit, status__in=UNRESOLVED).order_by("pk"),
            _today(),
        ),
        **_permissions(user, participant.site_id),
    }


def _sdv_of_rows(rows: list[RecordRow]) -> SdvCount:
    return SdvCount(
        total=len(rows),
        verified=sum(1 for r in rows if r.sdv_state == "verified"),
        partial=sum(1 for r in rows if r.sdv_state == "partial"),
    )


def _permissions(user: User, site_id: int) -> dict[str, Any]:
    """What the user may do here, and for the next steps that another role takes, who
    takes them (issue 19: shown disabled, with whom to ask). The "who" texts are callables,
    read by the template only where it shows them."""
    return {
        "can_verify": user.has_perm(roles.VERIFY),
        "can_lock": user.has_perm(roles.LOCK),
        "can_sign": user.has_perm(roles.SIGN),
        "can_query": user.has_perm(roles.QUERIES),
        "who_verifies": lambda: access.who_can(roles.VERIFY, [site_id], services.VERIFIES_SOURCE),
        "who_signs_visit": lambda: access.investigator_refusal(site_id, services.SIGNS_VISIT),
        "who_signs_casebook": lambda: access.investigator_refusal(site_id, services.SIGNS_CASEBOOK),
    }


@dataclass(frozen=True)
class VisitRow:
    visit: Visit
    expected: int
    missing: tuple
    sdv: SdvCount
    signed: bool
    lock: Lock | None
    n_queries: int


def participant_records_outside_visits(participant: Participant) -> list[ClinicalRecord]:
    """The participant's current SDV records that belong to no visit (logs, gate labs)."""
    records: list[ClinicalRecord] = []
    for model in sdv_models():
        if model._meta.label == "dosing.Visit":
            continue
        queryset = model.objects.active().filter(**{participant_path(model): participant.pk})
        if any(f.name == "visit" for f in model._meta.fields):
            queryset = queryset.filter(visit__isnull=True)
        records += list(queryset.order_by("pk"))
    return records


def participant_review(participant: Participant, user: User) -> dict[str, Any]:
    visits = list(
        Visit.objects.active().filter(participant=participant).order_by("visit_date", "pk")
    )
    forms = visit_forms(visits)
    counts = sdv_counts([participant.pk]).get(participant.pk, {})
    signed = signed_visit_ids(v.pk for v in visits)
    locks = active_locks([participant.pk])
    unresolved = list(
        queries_for(user).filter(
            Q(participant=participant) | Q(screening_id=participant.screening_id),
            status__in=UNRESOLVED,
        )
    )
    per_visit: dict[int | None, int] = defaultdict(int)
    for q in unresolved:
        per_visit[q.visit_id] += 1
    visit_rows = [
        VisitRow(
            visit=v,
            expected=len(forms[v.pk].expected),
            missing=forms[v.pk].missing,
            sdv=counts.get(v.pk, SdvCount()),
            signed=v.pk in signed,
            lock=covering_lock(Position(participant.pk, v.pk, "", 0, v.pk), locks)
            if any(lock.scope != LockScope.FORM for lock in locks)
            else None,
            n_queries=per_visit.get(v.pk, 0),
        )
        for v in visits
    ]
    participant_lock = next((lock for lock in locks if lock.scope == LockScope.PARTICIPANT), None)
    casebook = Signoff.objects.filter(kind=SignoffKind.CASEBOOK, participant=participant).first()
    other = record_rows(
        participant_records_outside_visits(participant),
        participant=participant,
        visits={},
    )
    return {
        "participant": participant,
        "visit_rows": visit_rows,
        "other_rows": other,
        "sdv": _sum(counts.values()),
        "participant_lock": participant_lock,
        "locks": locks,
        "casebook_states": signatures.signature_states(casebook) if casebook else [],
        "casebook_refusals": services.casebook_signoff_refusals(participant),
        "queries": query_rows(sorted(unresolved, key=lambda q: q.pk), _today()),
        **_permissions(user, participant.site_id),
    }


def _today() -> date:
    return timezone.localdate()


# --- Panels on shared pages ---------------------------------------------------------------------


def participant_context(participant: Participant, user: User, today: date) -> dict[str, Any]:
    """Context for templates/monitoring/participant_panel.html on the participant page."""
    if not user.has_perm(roles.VIEW):
        return {}
    unresolved = (
        queries_for(user)
        .filter(
            Q(participant=participant) | Q(screening_id=participant.screening_id),
            status__in=UNRESOLVED,
        )
        .order_by("opened_at", "pk")
    )
    counts = sdv_counts([participant.pk]).get(participant.pk, {})
    locks = active_locks([participant.pk])
    casebook = Signoff.objects.filter(kind=SignoffKind.CASEBOOK, participant=participant).first()
    return {
        "monitoring": {
            "queries": query_rows(unresolved, today),
            "sdv": _sum(counts.values()),
            "participant_lock": next(
                (lock for lock in locks if lock.scope == LockScope.PARTICIPANT), None
            ),
            "n_locks": len(locks),
            "casebook_signed": bool(casebook and live_signatures([casebook]).get(casebook.pk)),
        }
    }


@dataclass
class SiteQuality:
    """One site's row of the data-quality dashboard."""

    code: str
    participants: int = 0
    visits: int = 0
    missing_forms: int = 0
    visits_with_missing_forms: int = 0
    queries: SiteQueries | None = None
    sdv: SdvCount = field(default_factory=SdvCount)
    visits_to_sign: int = 0
    unsigned_visits: int = 0
    locked_participants: int = 0


def data_quality(user: User, today: date) -> list[SiteQuality]:
    """Per site: missing forms, unresolved queries by age, unverified forms, unsigned visits.

    A fixed number of queries (about twenty), whatever the number of sites and records.
    """
    sites = {s.pk: s.code for s in access.user_sites(user).order_by("code")}
    rows = {pk: SiteQuality(code) for pk, code in sites.items()}
    participants = list(
        access.scoped(Participant.objects.active(), user).values_list("pk", "site_id", "status")
    )
    site_of = {pk: site_id for pk, site_id, _status in participants}
    for _pk, site_id, _status in participants:
        rows[site_id].participants += 1
    visits = list(Visit.objects.active().filter(participant_id__in=list(site_of)))
    forms = visit_forms(visits)
    signed = signed_visit_ids(v.pk for v in visits)
    withdrawn = {pk for pk, _site, status in participants if status == ParticipantStatus.WITHDRAWN}
    for visit in visits:
        row = rows[site_of[visit.participant_id]]
        row.visits += 1
        missing = forms[visit.pk].missing
        if missing and visit.participant_id not in withdrawn:
            row.missing_forms += len(missing)
            row.visits_with_missing_forms += 1
        if expected_crfs(visit.visit_code):
            row.visits_to_sign += 1
            if visit.pk not in signed:
                row.unsigned_visits += 1
    for per_site in unresolved_by_site(user, today):
        site_pk = next(pk for pk, code in sites.items() if code == per_site.site_code)
        rows[site_pk].queries = per_site
    for pid, by_visit in sdv_counts(list(site_of)).items():
        rows[site_of[pid]].sdv.add(_sum(by_visit.values()))
    for pid in Lock.objects.filter(
        participant_id__in=list(site_of), scope=LockScope.PARTICIPANT, unlocked_at__isnull=True
    ).values_list("participant_id", flat=True):
        rows[site_of[pid]].locked_participants += 1
    return [row for row in rows.values() if row.participants or row.queries]


def dashboard_context(user: User, today: date) -> dict[str, Any]:
    """Context for templates/monitoring/dashboard_panel.html on the dashboard."""
    if not user.has_perm(roles.VIEW):
        return {}
    per_site = unresolved_by_site(user, today)
    oldest = query_rows(
        queries_for(user).filter(status=QueryStatus.OPEN).order_by("opened_at", "pk")[:5], today
    )
    return {
        "monitoring_panel": {
            "per_site": per_site,
            "open": sum(s.open for s in per_site),
            "answered": sum(s.answered for s in per_site),
            "oldest_open": oldest,
            "is_data_manager": user.has_role(Role.DATA_MANAGER),
            "is_monitor": user.has_role(Role.MONITOR),
        }
    }
