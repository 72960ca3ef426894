"""CRF pages: thin views (access helper → form → service → redirect with a message)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crf import blank, carry, forms, selectors, services
from crf.expected import CrfKind, offered_crfs
from crf.models import (
    AdverseEvent,
    AdverseEventUpdate,
    ConcomitantMedication,
    SeriousAeAlert,
)
from dosing.models import Visit
from enrollment.models import Participant
from enrollment.services import data_entry_refusal
from trialsite import access, protocol, query, roles
from trialsite.forms import VoidForm
from trialsite.pagination import page_of
from trialsite.redirects import redirect_next
from trialsite.services import AlreadySubmitted, EditConflict

INSTRUMENT_VERSIONS = {
    CrfKind.ESSDAI: protocol.ESSDAI_VERSION,
    CrfKind.ESSPRI: protocol.ESSPRI_VERSION,
}


def _today():
    return timezone.localdate()


def _visit(request: HttpRequest, pk: int, *, write: bool = False) -> Visit:
    return access.get_for_user(
        Visit.objects.select_related("participant__site"), request.user, write=write, pk=pk
    )


def _participant(request: HttpRequest, subject_id: str, *, write: bool = False) -> Participant:
    return access.get_for_user(
        Participant.objects.select_related("site"),
        request.user,
        write=write,
        subject_id=subject_id,
    )


def _adverse_event(request: HttpRequest, pk: int, *, write: bool = False) -> AdverseEvent:
    return access.get_for_user(
        AdverseEvent.objects.select_related("participant__site"),
        request.user,
        write=write,
        pk=pk,
    )


# A create form posted again (a double click, a second tab): the first post saved it.
ALREADY_SAVED = gettext_lazy("This form was already saved once: nothing more was added.")


def _save_failed(request: HttpRequest, form, exc: Exception) -> None:
    if isinstance(exc, EditConflict):
        form.add_error(None, str(exc))
        messages.error(request, _("Nothing was saved: reload the page to see the other change."))
    else:
        for message in exc.messages:
            form.add_error(None, message)


# --- Visit CRFs ------------------------------------------------------------------------


def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visit(request, pk)
    return render(
        request,
        "crf/visit_detail.html",
        {
            **selectors.visit_page(visit, request.user, _today()),
            "refusal": data_entry_refusal(visit.participant),
            "void_form": VoidForm(),
            "blank_crf": blank.visit_type_of(visit.visit_code),
        },
    )


def visit_form(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    if kind not in forms.VISIT_FORMS:
        raise Http404
    visit = _visit(request, pk, write=True)
    crf_kind = CrfKind(kind)
    if crf_kind not in offered_crfs(visit.visit_code):
        raise Http404
    record = selectors.visit_record(visit, crf_kind)
    form = forms.VISIT_FORMS[kind](
        request.POST or None, instance=record, visit=visit, today=_today()
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_crf_save(form=form, user=request.user)
        except (EditConflict, ValidationError) as exc:
            _save_failed(request, form, exc)
        else:
            messages.success(request, _("%(form)s saved.") % {"form": crf_kind.label})
            if "save_and_continue" in request.POST:
                return redirect(selectors.next_form_url(visit, crf_kind))
            return redirect("crf:visit", pk=visit.pk)
    template = "crf/essdai_form.html" if crf_kind is CrfKind.ESSDAI else "crf/visit_form.html"
    return render(
        request,
        template,
        {
            "visit": visit,
            "participant": visit.participant,
            "form": form,
            "kind": crf_kind,
            "record": record,
            "refusal": data_entry_refusal(visit.participant),
            "void_url": reverse("crf:visit_form_void", args=[visit.pk, kind]),
            "instrument_version": INSTRUMENT_VERSIONS.get(crf_kind),
            "essdai_version": protocol.ESSDAI_VERSION,
            "moderate_from": protocol.ESSDAI_MODERATE_FROM,
            "high_from": protocol.ESSDAI_HIGH_FROM,
        },
    )


def visit_labs(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visit(request, pk, write=True)
    if CrfKind.LABS not in offered_crfs(visit.visit_code):
        raise Http404
    form = forms.VisitLabsForm(
        request.POST or None, visit=visit, existing=selectors.visit_labs(visit), today=_today()
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_labs_save(form=form, user=request.user)
        except ValidationError as exc:
            _save_failed(request, form, exc)
        else:
            messages.success(request, _("Labs saved."))
            if "save_and_continue" in request.POST:
                return redirect(selectors.next_form_url(visit, CrfKind.LABS))
            return redirect("crf:visit", pk=visit.pk)
    return render(
        request,
        "crf/visit_labs.html",
        {
            "visit": visit,
            "participant": visit.participant,
            "form": form,
            "refusal": data_entry_refusal(visit.participant),
        },
    )


@require_POST
def visit_crf_void(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    if kind not in forms.VISIT_FORMS:
        raise Http404
    visit = _visit(request, pk, write=True)
    record = selectors.visit_record(visit, CrfKind(kind))
    if record is None:
        raise Http404
    _void(request, record, _("Form voided: it can be entered again."))
    return redirect("crf:visit", pk=visit.pk)


def _void(request: HttpRequest, record, done: str) -> None:
    form = VoidForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for voiding."))
        return
    try:
        services.crf_void(record=record, user=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)


# --- Adverse events --------------------------------------------------------------------


def ae_list(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id)
    events = (
        AdverseEvent.objects.filter(participant=participant)
        .select_related("alert")
        .annotate(n_updates=Count("updates"))
        .order_by("voided_at", "-onset_date", "-pk")
    )
    return render(
        request,
        "crf/ae_list.html",
        {
            "participant": participant,
            "events": page_of(request, events),
            "can_write": access.can_write(request.user),
            "refusal": data_entry_refusal(participant, safety=True),
        },
    )


def ae_edit(request: HttpRequest, subject_id: str, pk: int | None = None) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    event = None
    if pk is not None:
        event = access.get_for_user(
            AdverseEvent.objects.filter(participant=participant), request.user, write=True, pk=pk
        )
    initial = forms.ae_prefill(request.GET) if event is None else None
    form = forms.AdverseEventForm(
        request.POST or None, instance=event, initial=initial, today=_today()
    )
    if request.method == "POST" and form.is_valid():
        try:
            event = services.adverse_event_save(
                form=form, user=request.user, participant=participant
            )
        except AlreadySubmitted as exc:
            if exc.record is None:
                raise PermissionDenied(exc.message) from exc
            messages.info(request, _("This adverse event was already saved: here it is."))
            return redirect(exc.record)
        except (EditConflict, ValidationError) as exc:
            _save_failed(request, form, exc)
        else:
            messages.success(request, _("Adverse event saved."))
            if event.serious and hasattr(event, "alert"):
                messages.info(
                    request,
                    _("Serious: the site's investigators and the data managers are alerted."),
                )
            return redirect(event)
    return render(
        request,
        "crf/ae_form.html",
        {"participant": participant, "form": form, "event": event},
    )


def ae_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = _adverse_event(request, pk)
    alert = (
        SeriousAeAlert.objects.filter(adverse_event=event)
        .prefetch_related("recipients", "acknowledgements")
        .first()
    )
    acknowledged = {a.user_id: a for a in alert.acknowledgements.all()} if alert else {}
    return render(
        request,
        "crf/ae_detail.html",
        {
            "participant": event.participant,
            "event": event,
            "updates": event.updates.select_related("created_by").order_by(
                "voided_at", "reported_on", "pk"
            ),
            "alert": alert,
            "recipients": [(u, acknowledged.get(u.pk)) for u in alert.recipients.all()]
            if alert
            else [],
            "can_write": access.can_write(request.user),
            "void_url": reverse("crf:ae_void", args=[event.pk]),
        },
    )


def ae_update_edit(request: HttpRequest, pk: int, update_pk: int | None = None) -> HttpResponse:
    event = _adverse_event(request, pk, write=True)
    update = None
    if update_pk is not None:
        update = access.get_for_user(
            AdverseEventUpdate.objects.filter(adverse_event=event),
            request.user,
            write=True,
            pk=update_pk,
        )
    form = forms.AdverseEventUpdateForm(
        request.POST or None, instance=update, adverse_event=event, today=_today()
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.adverse_event_update_add(form=form, user=request.user)
        except AlreadySubmitted:
            messages.info(request, ALREADY_SAVED)
            return redirect(event)
        except (EditConflict, ValidationError) as exc:
            _save_failed(request, form, exc)
        else:
            messages.success(request, _("Follow-up saved."))
            return redirect(event)
    return render(
        request,
        "crf/ae_update_form.html",
        {"participant": event.participant, "event": event, "form": form, "update": update},
    )


@require_POST
def ae_void(request: HttpRequest, pk: int) -> HttpResponse:
    event = _adverse_event(request, pk, write=True)
    _void(request, event, _("Adverse event voided."))
    return redirect(event)


@require_POST
def ae_update_void(request: HttpRequest, pk: int, update_pk: int) -> HttpResponse:
    event = _adverse_event(request, pk, write=True)
    update = access.get_for_user(
        AdverseEventUpdate.objects.filter(adverse_event=event),
        request.user,
        write=True,
        pk=update_pk,
    )
    _void(request, update, _("Follow-up voided."))
    return redirect(event)


@require_POST
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    alert = access.get_for_user(
        SeriousAeAlert.objects.select_related("adverse_event"), request.user, pk=pk
    )
    try:
        services.sae_alert_acknowledge(alert=alert, user=request.user)
    except ValidationError as exc:
        raise PermissionDenied(" ".join(exc.messages)) from exc
    messages.success(
        request,
        _("Serious adverse event %(term)s acknowledged.") % {"term": alert.adverse_event.term},
    )
    return redirect_next(request, "dashboard")


# --- Concomitant medication ----------------------------------------------------------------


def con_med_list(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id)
    return render(
        request,
        "crf/con_med_list.html",
        {
            "participant": participant,
            "rows": page_of(request, selectors.con_med_rows(participant, _today())),
            "can_write": access.can_write(request.user),
            "refusal": data_entry_refusal(participant, safety=True),
            "void_form": VoidForm(),
            "offers": carry.ongoing_prior_therapy_offers(participant),
        },
    )


def con_med_edit(request: HttpRequest, subject_id: str, pk: int | None = None) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    medication = None
    if pk is not None:
        medication = access.get_for_user(
            ConcomitantMedication.objects.filter(participant=participant),
            request.user,
            write=True,
            pk=pk,
        )
    initial = None
    if medication is None and "prior" in request.GET:
        # One click from an ongoing prior therapy: the form starts from it (once only).
        initial = carry.offer_initial(participant, request.GET["prior"])
        if initial is None:
            messages.info(request, _("This therapy is already among the medications."))
            return redirect("crf:con_meds", subject_id=subject_id)
    form = forms.ConMedForm(
        request.POST or None, instance=medication, today=_today(), initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.con_med_save(form=form, user=request.user, participant=participant)
        except AlreadySubmitted:
            messages.info(request, ALREADY_SAVED)
            return redirect("crf:con_meds", subject_id=subject_id)
        except (EditConflict, ValidationError) as exc:
            _save_failed(request, form, exc)
        else:
            messages.success(request, _("Medication saved."))
            if "save_and_add" in request.POST:
                return redirect("crf:con_med_add", subject_id=subject_id)
            return redirect("crf:con_meds", subject_id=subject_id)
    return render(
        request,
        "crf/con_med_form.html",
        {
            "participant": participant,
            "form": form,
            "medication": medication,
            "known_drugs": forms.known_drugs(),
        },
    )


@require_POST
def con_med_void(request: HttpRequest, subject_id: str, pk: int) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    medication = access.get_for_user(
        ConcomitantMedication.objects.filter(participant=participant),
        request.user,
        write=True,
        pk=pk,
    )
    _void(request, medication, _("Medication row voided."))
    return redirect("crf:con_meds", subject_id=subject_id)


# --- Across participants -------------------------------------------------------------------


def form_status(request: HttpRequest) -> HttpResponse:
    sites = access.user_sites(request.user)
    site_code = query.choice_param(request, "site", sites.values_list("code", flat=True))
    today = _today()
    matrix = selectors.form_status_matrix(request.user, today, site_code=site_code)
    return render(
        request,
        "crf/form_status.html",
        {
            "matrix": matrix,
            # One row per participant: the counts above cover all, the table one page.
            "rows": page_of(request, matrix.rows),
            "sites": sites,
            "site_code": site_code,
            "today": today,
        },
    )


def outcomes(request: HttpRequest) -> HttpResponse:
    if not selectors.can_review_outcomes(request.user):
        raise PermissionDenied(_("Outcome review is for investigators and data managers."))
    review = selectors.outcome_review(request.user, _today(), page=query.page_param(request))
    return render(request, "crf/outcomes.html", {"review": review, "page": review.page})


# --- Blank CRFs for paper backup -----------------------------------------------------------


def blank_crf_index(request: HttpRequest) -> HttpResponse:
    access.require(request.user, roles.VIEW)
    today = _today()
    visit_types = [
        (visit_type, [form.title for form in blank.blank_forms(visit_type, today)])
        for visit_type in blank.VISIT_TYPES
    ]
    return render(
        request,
        "crf/blank_index.html",
        {"visit_types": visit_types, "entry_days": protocol.CRF_ENTRY_DAYS},
    )


def blank_crf(request: HttpRequest, visit_type: str) -> HttpResponse:
    access.require(request.user, roles.VIEW)
    chosen = blank.visit_type(visit_type)
    if chosen is None:
        raise Http404
    return render(
        request,
        "crf/blank_crf.html",
        {
            "visit_type": chosen,
            "blank_forms": blank.blank_forms(chosen, _today()),
            "entry_days": protocol.CRF_ENTRY_DAYS,
        },
    )
