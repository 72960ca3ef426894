"""Dosing pages: thin views over forms, services and selectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dosing import engine, feed, forms, measurements, selectors, services
from dosing.models import (
    BCellResult,
    Deviation,
    Drug,
    EventNotDone,
    Infusion,
    LabResult,
    Prescription,
    Visit,
    VisitKind,
)
from enrollment.models import Participant
from trialsite import access, protocol, query, roles
from trialsite.forms import VoidForm
from trialsite.pagination import page_of
from trialsite.services import EditConflict

# The site-wide deviation list is scanned a screen at a time: longer pages than others.
DEVIATIONS_PER_PAGE = 50


def _today():
    return timezone.localdate()


def _participant(request: HttpRequest, subject_id: str, *, write: bool = False) -> Participant:
    return access.get_for_user(
        Participant.objects.select_related("site", "screening"),
        request.user,
        write=write,
        subject_id=subject_id,
    )


def _to_participant(subject_id: str) -> HttpResponse:
    return redirect("participant_detail", subject_id=subject_id)


def _save(form, call: Callable[[], Any]) -> Any:
    """Run a service; its refusals become form errors (never a 500)."""
    try:
        return call()
    except EditConflict as exc:
        form.add_error(None, str(exc))
    except ValidationError as exc:
        # A wrong signing password is the password field's error; refusals are the form's.
        wrong = getattr(exc, "code", None) == "wrong_password" and "password" in form.fields
        for message in exc.messages:
            form.add_error("password" if wrong else None, message)
    return None


def _page(request, template: str, participant: Participant, form, **extra) -> HttpResponse:
    return render(request, template, {"participant": participant, "form": form, **extra})


# --- Day 0, prescription, infusion ----------------------------------------------------------


def day_0_confirm(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    access.require_investigator(
        request.user,
        participant.site_id,
        _("The investigator confirms Day 0 (EXC5 re-confirmation)"),
    )
    today = _today()
    screening = participant.screening
    # EXC5 starts from the screening's answers, each re-confirmed or changed.
    initial = {
        "confirmed_on": min(participant.planned_day_0, today),
        **forms.exc5_screening_answers(screening),
    }
    form = forms.Day0ConfirmationForm(
        request.POST or None,
        today=today,
        initial=initial,
        screened_on=screening.screening_date,
    )
    if request.method == "POST" and form.is_valid():
        confirmation = _save(
            form,
            lambda: services.day_0_confirmation_record(
                participant=participant, user=request.user, today=today, **form.service_kwargs()
            ),
        )
        if confirmation is not None:
            if confirmation.passed:
                messages.success(request, _("EXC5 re-confirmed: %s") % confirmation.explanation)
            else:
                messages.error(
                    request,
                    _("EXC5 does not pass on Day 0: %s. The first rituximab cannot be given.")
                    % confirmation.explanation,
                )
            return _to_participant(subject_id)
    return _page(request, "dosing/day_0_form.html", participant, form)


def prescribe(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    access.require_investigator(
        request.user, participant.site_id, _("The investigator prescribes each infusion")
    )
    today = _today()
    sched = selectors.course_for(participant, today)
    upcoming = sched.next_infusion
    planned_on = max(upcoming.target, today) if upcoming else today
    # Weight and height typed once (baseline vitals, an infusion's vitals): prefilled,
    # editable, with their source and date, while still valid for the planned infusion.
    carried = measurements.latest_weight_and_height(participant, planned_on)
    initial = {
        "drug": upcoming.drug.value if upcoming and upcoming.drug else "rituximab",
        "planned_on": planned_on,
        "anthropometry_measured_on": today,
        **forms.carried_anthropometry(*carried),
    }
    calculating = "calculate" in request.POST
    form = forms.PrescriptionForm(
        request.POST or None,
        today=today,
        initial=initial,
        signing=not calculating,
        carried=carried,
    )
    proposal = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        proposal = services.propose_dose(
            data["drug"], weight_kg=data["weight_kg"], height_cm=data["height_cm"]
        )
        if calculating:
            form = forms.PrescriptionForm(
                {**request.POST.dict(), "prescribed_dose_mg": proposal.dose_mg, "password": ""},
                today=today,
                signing=False,
                carried=carried,
            )
            form.is_valid()
        else:
            fields = {k: v for k, v in data.items() if k != "password"}
            prescription = _save(
                form,
                lambda: services.prescription_create(
                    participant=participant,
                    user=request.user,
                    password=data["password"],
                    today=today,
                    request=request,
                    **fields,
                ),
            )
            if prescription is not None:
                messages.success(
                    request,
                    _("%(drug)s %(dose)s mg prescribed and signed.")
                    % {
                        "drug": prescription.get_drug_display(),
                        "dose": prescription.prescribed_dose_mg,
                    },
                )
                return _to_participant(subject_id)
    return _page(
        request,
        "dosing/prescription_form.html",
        participant,
        form,
        proposal=proposal,
        upcoming=upcoming,
        schedule=sched,
    )


@require_GET
def dose_proposal(request: HttpRequest, subject_id: str) -> JsonResponse:
    """The proposed dose for the prescription form's live preview (static/js/dosing.js)."""
    _participant(request, subject_id)
    form = forms.PrescriptionForm(request.GET, today=_today(), signing=False)
    form.is_valid()
    data = form.cleaned_data
    if (
        form.errors.keys() & {"drug", "weight_kg", "height_cm"}
        or not {
            "drug",
            "weight_kg",
            "height_cm",
        }
        <= data.keys()
    ):
        return JsonResponse({"ok": False})
    proposal = services.propose_dose(
        data["drug"], weight_kg=data["weight_kg"], height_cm=data["height_cm"]
    )
    return JsonResponse(
        {
            "ok": True,
            "dose_mg": str(proposal.dose_mg),
            "bsa_m2": str(proposal.bsa_m2 or ""),
            "explanation": proposal.explanation,
        }
    )


@require_POST
def prescription_void(request: HttpRequest, subject_id: str, pk: int) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    prescription = access.get_for_user(
        Prescription.objects.filter(participant=participant), request.user, write=True, pk=pk
    )
    access.require_investigator(
        request.user, participant.site_id, _("The investigator voids a prescription")
    )
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            services.prescription_void(
                prescription=prescription, user=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Prescription voided."))
    else:
        messages.error(request, _("Give a reason for voiding."))
    return _to_participant(subject_id)


def infusion_record(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    prescription = selectors.open_prescription(participant)
    if prescription is None:
        messages.error(request, _("An investigator must prescribe the infusion first."))
        return _to_participant(subject_id)
    today = _today()
    form = forms.InfusionForm(
        request.POST or None,
        today=today,
        initial={
            "given_on": min(prescription.planned_on, today),
            "administered_dose_mg": prescription.prescribed_dose_mg,
            "dose_difference_reason": prescription.dose_difference_reason,
        },
    )
    if request.method == "POST" and form.is_valid():
        infusion = _save(
            form,
            lambda: services.infusion_record(
                participant=participant,
                user=request.user,
                prescription=prescription,
                today=today,
                **form.cleaned_data,
            ),
        )
        if infusion is not None:
            messages.success(
                request,
                _("%(drug)s infusion %(n)s recorded (%(code)s).")
                % {
                    "drug": infusion.get_drug_display(),
                    "n": infusion.number,
                    "code": infusion.visit.visit_code,
                },
            )
            return _to_participant(subject_id)
    return _page(
        request,
        "dosing/infusion_form.html",
        participant,
        form,
        prescription=prescription,
        day_0_confirmation=services.day_0_confirmed(participant, today),
        # The first rituximab needs EXC5 re-confirmed that day (the note on the form).
        first_rituximab=prescription.drug == Drug.RITUXIMAB
        and not participant.infusions.active().filter(drug=Drug.RITUXIMAB).exists(),
    )


# --- B cells, gate ------------------------------------------------------------------------


def b_cell_result_add(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    today = _today()
    form = forms.BCellResultForm(request.POST or None, today=today, initial={"taken_on": today})
    if request.method == "POST" and form.is_valid():
        result = _save(
            form,
            lambda: services.b_cell_result_record(
                participant=participant, user=request.user, today=today, **form.service_kwargs()
            ),
        )
        if result is not None:
            verdict = engine.b_cell_depleted(result.as_fact())
            messages.success(request, _("B-cell result saved: %s") % verdict.reason)
            return _to_participant(subject_id)
    return _page(request, "dosing/b_cell_form.html", participant, form)


def gate_labs(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id)
    today = _today()
    form = forms.GateLabsForm(request.POST or None, today=today, facts=participant.lab_facts(today))
    if request.method == "POST":
        participant = _participant(request, subject_id, write=True)
        if form.is_valid():
            rows = _save(
                form,
                lambda: services.gate_labs_record(
                    participant=participant, user=request.user, entries=form.entries(), today=today
                ),
            )
            if rows is not None:
                messages.success(request, _("%(n)s lab results saved.") % {"n": len(rows)})
                return redirect("dosing:gate_labs", subject_id=subject_id)
    inputs = selectors.course_facts(participant, today)
    sched = engine.build_course(inputs)
    return _page(
        request,
        "dosing/gate_labs.html",
        participant,
        form,
        gate=selectors.gate_view(sched, inputs) if participant.is_active else None,
        schedule=sched,
        discontinue_form=forms.GateDiscontinueForm(),
        can_sign=request.user.has_perm(roles.SIGN),
        recorded=selectors.gate_lab_records(participant),
    )


@require_POST
def gate_discontinue(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    access.require_investigator(
        request.user, participant.site_id, _("The investigator decides to discontinue")
    )
    form = forms.GateDiscontinueForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick the confirmation to discontinue."))
        return redirect("dosing:gate_labs", subject_id=subject_id)
    try:
        services.gate_failure_confirm(participant=participant, user=request.user, today=_today())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("dosing:gate_labs", subject_id=subject_id)
    messages.success(request, _("Participant discontinued: EXC10/EXC11 labs fail."))
    return _to_participant(subject_id)


# --- Visits ----------------------------------------------------------------------------------


def visit_add(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    today = _today()
    sched = selectors.course_for(participant, today)
    code = query.text_param(request, "code") or protocol.UNSCHEDULED_VISIT_PREFIX
    visit_date = selectors.default_event_date(sched, code, today)
    form = forms.VisitForm(
        request.POST or None, today=today, initial={"visit_code": code, "visit_date": visit_date}
    )
    if request.method == "POST" and form.is_valid():
        visit = _save(
            form,
            lambda: services.visit_record(
                participant=participant, user=request.user, today=today, **form.cleaned_data
            ),
        )
        if visit is not None:
            messages.success(request, _("Visit %(code)s recorded.") % {"code": visit.visit_code})
            return _to_participant(subject_id)
    windows = [e for e in sched.events if e.kind is engine.EventKind.ASSESSMENT]
    return _page(request, "dosing/visit_form.html", participant, form, windows=windows)


def visit_edit(request: HttpRequest, subject_id: str, pk: int) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    visit = access.get_for_user(
        Visit.objects.filter(participant=participant).exclude(kind=VisitKind.INFUSION),
        request.user,
        write=True,
        pk=pk,
    )
    form = forms.VisitEditForm(request.POST or None, instance=visit)
    if request.method == "POST" and form.is_valid():
        saved = _save(
            form, lambda: services.visit_update(form=form, user=request.user, today=_today())
        )
        if saved is not None:
            messages.success(request, _("Visit saved."))
            return _to_participant(subject_id)
    return _page(request, "dosing/visit_edit.html", participant, form, visit=visit)


@require_POST
def participant_complete(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    try:
        services.participant_complete(participant=participant, user=request.user, today=_today())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Treatment completed."))
    return _to_participant(subject_id)


# --- Deviations ---------------------------------------------------------------------------------


def participant_deviations(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id)
    deviations = (
        Deviation.objects.active().filter(participant=participant).select_related("reviewed_by")
    )
    return render(
        request,
        "dosing/participant_deviations.html",
        {"participant": participant, "deviations": page_of(request, deviations)},
    )


def deviation_add(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    today = _today()
    form = forms.DeviationForm(request.POST or None, today=today, initial={"occurred_on": today})
    if request.method == "POST" and form.is_valid():
        deviation = _save(
            form,
            lambda: services.deviation_create(
                participant=participant, user=request.user, today=today, **form.cleaned_data
            ),
        )
        if deviation is not None:
            messages.success(request, _("Deviation recorded."))
            return redirect("dosing:participant_deviations", subject_id=subject_id)
    return _page(request, "dosing/deviation_form.html", participant, form)


def _deviation(request: HttpRequest, pk: int, *, write: bool = False) -> Deviation:
    return access.get_for_user(
        Deviation.objects.active().select_related("participant", "participant__site"),
        request.user,
        write=write,
        pk=pk,
    )


def deviation_explain(request: HttpRequest, pk: int) -> HttpResponse:
    deviation = _deviation(request, pk, write=request.method == "POST")
    form = forms.DeviationExplainForm(request.POST or None, instance=deviation)
    if request.method == "POST" and form.is_valid():
        saved = _save(form, lambda: services.deviation_explain(form=form, user=request.user))
        if saved is not None:
            messages.success(request, _("Explanation saved."))
            return redirect(
                "dosing:participant_deviations", subject_id=deviation.participant.subject_id
            )
    return render(
        request,
        "dosing/deviation_explain.html",
        {
            "deviation": deviation,
            "participant": deviation.participant,
            "form": form,
            "review_form": forms.DeviationReviewForm(),
            "can_review": request.user.has_perm(roles.SIGN),
        },
    )


@require_POST
def deviation_review(request: HttpRequest, pk: int) -> HttpResponse:
    deviation = _deviation(request, pk, write=True)
    access.require_investigator(
        request.user,
        deviation.participant.site_id,
        _("The investigator reviews a protocol deviation"),
    )
    form = forms.DeviationReviewForm(request.POST)
    form.is_valid()
    try:
        services.deviation_review(
            deviation=deviation,
            user=request.user,
            comment=form.cleaned_data.get("review_comment", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Deviation reviewed."))
    return redirect("dosing:participant_deviations", subject_id=deviation.participant.subject_id)


def deviation_list(request: HttpRequest) -> HttpResponse:
    sites = access.user_sites(request.user)
    filters = forms.DeviationFilterForm(request.GET or None, sites=sites)
    chosen = query.filter_form(request, filters)
    site_code, open_only = chosen.get("site", ""), chosen.get("open_only", False)
    page = Paginator(
        selectors.site_deviations(request.user, site_code=site_code, open_only=open_only),
        DEVIATIONS_PER_PAGE,
    ).get_page(query.page_param(request))
    return render(request, "dosing/deviation_list.html", {"filters": filters, "page": page})


# --- Calendars --------------------------------------------------------------------------------


def month_calendar(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(roles.VIEW):
        raise PermissionDenied(_("Your role does not allow this action."))
    today = _today()
    month = query.month_param(request, "month", today)
    subject_id = query.text_param(request, "participant")
    calendar = selectors.month_calendar(request.user, month, today, subject_id=subject_id)
    return render(
        request,
        "dosing/calendar.html",
        {"calendar": calendar, "today": today, "subject_id": subject_id},
    )


def calendar_feed(request: HttpRequest) -> HttpResponse:
    """Create, replace or revoke the user's secret feed address (POST), or show it (GET)."""
    if request.method == "POST":
        if "revoke" in request.POST:
            services.calendar_feed_revoke(user=request.user)
            messages.success(request, _("Feed address revoked: it no longer works."))
        else:
            token = services.calendar_feed_create(user=request.user)
            # Shown once, on the next page: only its hash is stored.
            request.session["dosing_new_feed_token"] = token
            messages.success(request, _("New feed address created. Copy it now."))
        return redirect("dosing:feed")
    token = request.session.pop("dosing_new_feed_token", None)
    current = getattr(request.user, "calendar_feed", None)
    return render(
        request,
        "dosing/feed.html",
        {
            "feed": current,
            "feed_url": request.build_absolute_uri(feed.feed_path(token)) if token else None,
        },
    )


@login_not_required
@never_cache
@require_GET
def calendar_feed_ics(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar feed: no login (phone calendars), a secret address, no clinical value."""
    user = services.calendar_feed_user(token)
    if user is None:
        raise Http404
    body = feed.ics_for(user, _today())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="belirit-calendar.ics"'
    return response


# --- Corrections ----------------------------------------------------------------------------


@require_POST
def b_cell_void(request: HttpRequest, subject_id: str, pk: int) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    result = access.get_for_user(
        BCellResult.objects.filter(participant=participant), request.user, write=True, pk=pk
    )
    _void(request, result)
    return _to_participant(subject_id)


@require_POST
def gate_lab_void(request: HttpRequest, subject_id: str, pk: int) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    lab = access.get_for_user(
        LabResult.objects.filter(participant=participant, visit__isnull=True),
        request.user,
        write=True,
        pk=pk,
    )
    _void(request, lab)
    return redirect("dosing:gate_labs", subject_id=subject_id)


def event_not_done(request: HttpRequest, subject_id: str, code: str) -> HttpResponse:
    """An investigator confirms a scheduled infusion or visit was not given / not done."""
    participant = _participant(request, subject_id, write=True)
    access.require_investigator(
        request.user, participant.site_id, _("The investigator confirms an event was not done")
    )
    today = _today()
    event = selectors.course_for(participant, today).event(code)
    if event is None:
        raise Http404(_("No such event in this participant's course."))
    refusal = engine.not_done_refusal(event, today)
    if refusal:
        # Nothing to confirm: no form that could only be refused (a stale link, two tabs).
        messages.error(request, refusal)
        return _to_participant(subject_id)
    form = forms.NotDoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        confirmation = _save(
            form,
            lambda: services.event_not_done_confirm(
                participant=participant,
                user=request.user,
                visit_code=code,
                reason=form.cleaned_data["reason"],
                today=today,
            ),
        )
        if confirmation is not None:
            messages.success(request, _("%(label)s confirmed not done.") % {"label": event.label})
            return _to_participant(subject_id)
    return _page(request, "dosing/not_done_form.html", participant, form, event=event)


@require_POST
def event_not_done_void(request: HttpRequest, subject_id: str, pk: int) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    access.require_investigator(
        request.user,
        participant.site_id,
        _("The investigator withdraws a not-done confirmation"),
    )
    confirmation = access.get_for_user(
        EventNotDone.objects.filter(participant=participant), request.user, write=True, pk=pk
    )
    _void(request, confirmation)
    return _to_participant(subject_id)


def _void(request: HttpRequest, record) -> None:
    form = VoidForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for voiding."))
        return
    try:
        services.result_void(
            record=record, user=request.user, reason=form.cleaned_data["reason"], today=_today()
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Voided. The schedule was recomputed."))


def infusion_correct(request: HttpRequest, subject_id: str, pk: int) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    infusion = access.get_for_user(
        Infusion.objects.filter(participant=participant), request.user, write=True, pk=pk
    )
    form = forms.InfusionCorrectionForm(request.POST or None, instance=infusion)
    if request.method == "POST" and form.is_valid():
        saved = _save(form, lambda: services.infusion_correct(form=form, user=request.user))
        if saved is not None:
            messages.success(request, _("Infusion record corrected."))
            return _to_participant(subject_id)
    return _page(request, "dosing/infusion_correct.html", participant, form, infusion=infusion)
