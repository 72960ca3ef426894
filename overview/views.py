"""Pages composed from several apps: the dashboard, the participant page, the search box."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from crf import selectors as crf_selectors
from dosing import selectors as dosing_selectors
from enrollment import selectors as enrollment_selectors
from enrollment.models import Participant
from enrollment.rules import ALLOWED_TRANSITIONS
from exports import services as export_services
from monitoring import selectors as monitoring_selectors
from overview import dashboard, search
from trialsite import access, query, signatures
from trialsite.dates import age_in_completed_years
from trialsite.pagination import page_of


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "overview/dashboard.html", dashboard.for_user(request.user, timezone.localdate())
    )


def participant_detail(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = access.get_for_user(
        Participant.objects.select_related("site", "screening"),
        request.user,
        subject_id=subject_id,
    )
    today = timezone.localdate()
    consents = list(participant.screening.consents.select_related("form_version", "obtained_by"))
    return render(
        request,
        "overview/participant_detail.html",
        {
            **dosing_selectors.participant_context(participant, request.user, today),
            **crf_selectors.participant_context(participant, request.user, today),
            **monitoring_selectors.participant_context(participant, request.user, today),
            "participant": participant,
            "screening": participant.screening,
            "age": age_in_completed_years(participant.screening.date_of_birth, today),
            "consents": consents,
            "reconsent": enrollment_selectors.reconsent_needed(participant, today=today),
            "status_changes": participant.status_changes.select_related("created_by"),
            "eligibility_signatures": signatures.signature_states(participant.screening),
            "withdrawal": getattr(participant, "withdrawal", None),
            "can_change_status": access.can_write(request.user)
            and bool(ALLOWED_TRANSITIONS[participant.status]),
            "today": today,
            "can_export_casebook": export_services.can_export_casebook(request.user),
        },
    )


@require_GET
def participant_search(request: HttpRequest) -> HttpResponse:
    """The navigation's search box: straight to the record when exactly one matches."""
    result = search.find_records(request.user, query.text_param(request, "q"))
    if isinstance(record := result.only_match, Participant):
        return redirect("participant_detail", subject_id=record.subject_id)
    if record is not None:
        return redirect(record)
    page = page_of(request, result.records)
    return render(
        request,
        "overview/search.html",
        {"query": result.query, "page": page, "min_length": search.MIN_QUERY_LENGTH},
    )
