"""Core pages: a record's audit history and the health check."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from trialsite import access
from trialsite.audit import history_of
from trialsite.models import ClinicalRecord
from trialsite.pagination import page_of


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


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: the app answers and its database does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
