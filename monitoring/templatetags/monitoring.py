"""Template tags other apps' pages use to show monitoring on their own fields.

``{% query_badge record "field" %}`` renders the unresolved queries on that field of that
record as badges linking to them, and, for monitors and data managers, a link to raise
one.  The field may be given by name or by its label (the screening page lists labels);
no field: the queries on the whole form; ``"*"``: the queries on any field of the record
(a row that summarises a form).
The page's queries are read once per request (by visit, participant or screening), so
a page with many badges costs one query.

``{% visit_monitoring visit %}`` renders the visit's lock, sign-off and query summary
with a link to its review page (``monitoring:visit``).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from monitoring.models import UNRESOLVED, DataQuery, QueryStatus
from monitoring.targets import data_fields, position
from trialsite import roles
from trialsite.models import ClinicalRecord

register = template.Library()

_CACHE = "_monitoring_queries"


def _field_name(model: type, field: Any) -> str:
    if not field or field == "*":
        return field or ""
    text = str(field)
    names = {f.name: f for f in data_fields(model)}
    if text in names:
        return text
    for f in names.values():
        if str(f.verbose_name).lower() == text.lower():
            return f.name
    return text


def _anchor(record: ClinicalRecord, memo: dict) -> tuple[str, int] | None:
    """Which page-wide set of queries holds the record's: by visit, participant or screening
    (read from the record's own columns; at most one query per adverse event otherwise)."""
    label = record._meta.label
    if label == "dosing.Visit":
        return ("visit", record.pk)
    if getattr(record, "visit_id", None) is not None:
        return ("visit", record.visit_id)
    if label == "enrollment.Participant":
        return ("participant", record.pk)
    if getattr(record, "participant_id", None) is not None:
        return ("participant", record.participant_id)
    if label == "eligibility.Screening":
        return ("screening", record.pk)
    if getattr(record, "screening_id", None) is not None:
        return ("screening", record.screening_id)
    key = (label, getattr(record, "adverse_event_id", None) or record.pk)
    if key not in memo:
        cached = record._state.fields_cache.get("adverse_event")
        if cached is not None:
            memo[key] = ("participant", cached.participant_id)
        else:
            pos = position(record)
            memo[key] = ("participant", pos.participant_id) if pos.participant_id else None
    return memo[key]


def _cache(request: Any) -> dict:
    cache = getattr(request, _CACHE, None)
    if cache is None:
        cache = {}
        setattr(request, _CACHE, cache)
    return cache


def _queries(request: Any, anchor: tuple[str, int]) -> list[DataQuery]:
    cache = _cache(request)
    if anchor not in cache:
        kind, pk = anchor
        cache[anchor] = list(
            DataQuery.objects.filter(**{f"{kind}_id": pk}, status__in=UNRESOLVED).order_by("pk")
        )
    return cache[anchor]


@register.simple_tag(takes_context=True)
def query_badge(context: template.Context, record: Any, field: Any = "") -> SafeString | str:
    if not isinstance(record, ClinicalRecord) or record.pk is None:
        return ""
    request = context.get("request")
    if request is None:
        return ""
    anchor = _anchor(record, _cache(request).setdefault("anchors", {}))
    if anchor is None:
        return ""
    field_name = _field_name(type(record), field)
    content_type = ContentType.objects.get_for_model(record)
    mine = [
        q
        for q in _queries(request, anchor)
        if q.content_type_id == content_type.pk
        and q.object_id == record.pk
        and (field_name == "*" or q.field_name == field_name)
    ]
    badges = format_html_join(
        " ",
        '<a class="badge text-bg-{}" href="{}" data-query="{}" title="{}">{}</a>',
        (
            (
                "warning" if q.status == QueryStatus.OPEN else "info",
                q.get_absolute_url(),
                q.pk,
                q.question,
                _("Query #%(n)s %(status)s") % {"n": q.pk, "status": q.get_status_display()},
            )
            for q in mine
        ),
    )
    raise_link: SafeString | str = ""
    if request.user.has_perm(roles.QUERIES):
        url = reverse(
            "monitoring:query_new",
            args=[content_type.app_label, content_type.model, record.pk],
        )
        if field_name and field_name != "*":
            url += "?" + urlencode({"field": field_name})
        raise_link = format_html(
            '<a class="link-secondary small" href="{}" data-raise-query="{}">'
            '<i class="bi bi-question-circle" aria-hidden="true"></i>'
            '<span class="visually-hidden">{}</span></a>',
            url,
            field_name if field_name not in ("", "*") else "form",
            _("Raise a query"),
        )
    if not mine and not raise_link:
        return ""
    return format_html(' <span class="monitoring-badges">{} {}</span>', badges, raise_link)


@register.inclusion_tag("monitoring/includes/visit_bar.html", takes_context=True)
def visit_monitoring(context: template.Context, visit: Any) -> dict[str, Any]:
    from monitoring import selectors

    locks = selectors.active_locks([visit.participant_id])
    lock = selectors.covering_lock(position(visit), [lk for lk in locks if lk.scope != "form"])
    form_locks = [lk for lk in locks if lk.scope == "form" and lk.visit_id == visit.pk]
    request = context.get("request")
    unresolved = list(_queries(request, ("visit", visit.pk))) if request else []
    return {
        "visit": visit,
        "lock": lock,
        "form_locks": form_locks,
        "signed": visit.pk in selectors.signed_visit_ids([visit.pk]),
        "n_open": sum(1 for q in unresolved if q.status == QueryStatus.OPEN),
        "n_answered": sum(1 for q in unresolved if q.status == QueryStatus.ANSWERED),
    }


@register.filter
def app_label(record: Any) -> str:
    return record._meta.app_label


@register.filter
def model_name(record: Any) -> str:
    return record._meta.model_name


@register.filter
def model_label(record: Any) -> str:
    return record._meta.label
