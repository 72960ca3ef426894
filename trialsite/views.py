"""Cross-cutting pages: the dashboard, a record's audit history, the health check."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from enrollment.models import Participant
from trialsite import access, dashboard, search
from trialsite.audit import history_of
from trialsite.models import ClinicalRecord
from trialsite.pagination import page_of


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "trialsite/dashboard.html", dashboard.for_user(request.user, timezone.localdate())
    )


def record_history(request: HttpRequest, app_label: str, model_name: str, pk: int) -> HttpResponse:
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError as exc:
        raise Http404 from exc
    if not issubclass(model, ClinicalRecord):
        raise Http404
    record = access.get_for_user(model, request.user, pk=pk)
    return render(
        request,
        "trialsite/history.html",
        {
            "record": record,
            "model_name": model._meta.verbose_name,
            "entries": page_of(request, history_of(record)),
        },
    )


@require_GET
def participant_search(request: HttpRequest) -> HttpResponse:
    """The navigation's search box: straight to the record when exactly one matches."""
    result = search.find_records(request.user, request.GET.get("q", ""))
    if isinstance(record := result.only_match, Participant):
        return redirect("enrollment:detail", subject_id=record.subject_id)
    if record is not None:
        return redirect(record)
    page = page_of(request, result.records)
    return render(
        request,
        "trialsite/search.html",
        {"query": result.query, "page": page, "min_length": search.MIN_QUERY_LENGTH},
    )


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: the app answers and its database does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
