"""Participant pages: consent, enrolment, status, withdrawal. Thin views."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from eligibility.models import Screening
from enrollment import forms, selectors, services
from enrollment.models import Participant
from enrollment.rules import ALLOWED_TRANSITIONS
from trialsite import access, query, roles


def _participant(request: HttpRequest, subject_id: str, *, write: bool = False) -> Participant:
    return access.get_for_user(
        Participant.objects.select_related("site", "screening"),
        request.user,
        write=write,
        subject_id=subject_id,
    )


def participant_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    filters = forms.ParticipantFilterForm(
        request.GET or None, sites=access.user_sites(request.user)
    )
    chosen = query.filter_form(request, filters)
    participants = selectors.participant_list(
        request.user,
        q=chosen.get("q", ""),
        status=chosen.get("status", ""),
        site=chosen.get("site"),
        awaiting_reconsent_on=today if chosen.get("reconsent") else None,
    )
    page = Paginator(participants, 25).get_page(query.page_param(request))
    return render(
        request,
        "enrollment/participant_list.html",
        {"filters": filters, "page": page, "today": today},
    )


def consent_add(request: HttpRequest, number: str) -> HttpResponse:
    screening = access.get_for_user(Screening, request.user, write=True, number=number)
    participant = Participant.objects.filter(screening=screening).first()
    if participant is not None and (refusal := services.data_entry_refusal(participant)):
        messages.error(request, refusal)
        return redirect("participant_detail", subject_id=participant.subject_id)
    form = forms.ConsentForm(
        request.POST or None,
        staff=forms.staff_choices(screening.site),
        today=timezone.localdate(),
        initial={"obtained_by": request.user},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_record(form=form, user=request.user, screening=screening)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Consent recorded."))
            if participant is not None:
                return redirect("participant_detail", subject_id=participant.subject_id)
            return redirect(screening)
    return render(request, "enrollment/consent_form.html", {"screening": screening, "form": form})


def enrol(request: HttpRequest, number: str) -> HttpResponse:
    screening = access.get_for_user(
        Screening.objects.select_related("site"), request.user, write=True, number=number
    )
    today = timezone.localdate()
    form = forms.EnrolForm(request.POST or None, today=today)
    if request.method == "POST" and form.is_valid():
        try:
            participant = services.enroll_participant(
                screening=screening, user=request.user, enrolled_on=form.cleaned_data["enrolled_on"]
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("%(number)s enrolled as %(subject)s.")
                % {"number": screening.number, "subject": participant.subject_id},
            )
            return redirect("participant_detail", subject_id=participant.subject_id)
    return render(
        request,
        "enrollment/enrol.html",
        {
            "screening": screening,
            "form": form,
            "blockers": services.enrolment_blockers(screening, today),
        },
    )


def status_change(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    today = timezone.localdate()
    allowed = sorted(ALLOWED_TRANSITIONS[participant.status])
    form = forms.StatusChangeForm(request.POST or None, allowed=allowed, today=today)
    if request.method == "POST" and form.is_valid():
        try:
            services.participant_transition(
                participant=participant,
                to_status=form.cleaned_data["to_status"],
                user=request.user,
                on=form.cleaned_data["changed_on"],
                reason=form.cleaned_data["reason"],
                discontinuation_reason=form.cleaned_data["discontinuation_reason"],
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Status changed."))
            return redirect("participant_detail", subject_id=subject_id)
    return render(
        request, "enrollment/status_form.html", {"participant": participant, "form": form}
    )


def withdraw(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    form = forms.WithdrawalForm(
        request.POST or None, today=timezone.localdate(), enrolled_on=participant.enrolled_on
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.withdraw_consent(
                participant=participant, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Consent withdrawal recorded."))
            return redirect("participant_detail", subject_id=subject_id)
    return render(
        request, "enrollment/withdraw_form.html", {"participant": participant, "form": form}
    )


def reschedule(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id, write=True)
    form = forms.RescheduleForm(
        request.POST or None, initial={"planned_day_0": participant.planned_day_0}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.participant_reschedule_day_0(
                participant=participant, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Planned Day 0 moved."))
            return redirect("participant_detail", subject_id=subject_id)
    return render(
        request, "enrollment/reschedule_form.html", {"participant": participant, "form": form}
    )


def consent_forms(request: HttpRequest) -> HttpResponse:
    """Data managers register a newly approved consent or assent form version."""
    access.require(request.user, roles.CONSENT_FORMS)
    today = timezone.localdate()
    form = forms.ConsentFormVersionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version, flagged = services.consent_form_version_register(
                user=request.user, today=today, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                ngettext(
                    "%(version)s registered; %(n)s participant is flagged for re-consent.",
                    "%(version)s registered; %(n)s participants are flagged for re-consent.",
                    flagged,
                )
                % {"version": version, "n": flagged},
            )
            return redirect("enrollment:consent_forms")
    return render(
        request,
        "enrollment/consent_forms.html",
        {
            "form": form,
            "versions": selectors.consent_form_versions(),
            "awaiting": selectors.awaiting_reconsent(
                access.scoped(Participant.objects.all(), request.user), today=today
            ).count(),
        },
    )
