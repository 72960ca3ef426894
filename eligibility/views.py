"""Screening pages: thin views over forms, services and selectors."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from eligibility import forms, selectors, services
from eligibility.criteria import DrugClass
from eligibility.models import PriorTherapy, Screening
from trialsite import access, drugs, protocol, query, roles, signatures
from trialsite.forms import SignatureForm, VoidForm
from trialsite.models import SignatureMeaning
from trialsite.services import EditConflict


def _today():
    return timezone.localdate()


def _screening(request: HttpRequest, number: str, *, write: bool = False) -> Screening:
    return access.get_for_user(
        selectors.with_rows(Screening.objects.all()), request.user, write=write, number=number
    )


def _conflict(request: HttpRequest, form, exc: EditConflict) -> None:
    form.add_error(None, str(exc))
    messages.error(request, _("Nothing was saved: reload the page to see the other change."))


def screening_log(request: HttpRequest) -> HttpResponse:
    sites = access.user_sites(request.user)
    filters = forms.LogFilterForm(request.GET or None, sites=sites)
    chosen = query.filter_form(request, filters)
    status, site_code = chosen.get("status", ""), chosen.get("site", "")
    page = Paginator(
        selectors.screening_log(request.user, status=status, site_code=site_code), 25
    ).get_page(query.page_param(request))
    return render(
        request,
        "eligibility/screening_log.html",
        {
            "filters": filters,
            "page": page,
            "counts": selectors.screening_counts(request.user, site_code=site_code),
            "today": _today(),
        },
    )


def screening_new(request: HttpRequest) -> HttpResponse:
    sites = access.user_sites(request.user)
    if not access.can_write(request.user):
        raise access.read_only_refusal(sites.values_list("pk", flat=True))
    form = forms.NewScreeningForm(request.POST or None, sites=sites, today=_today())
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in forms.CandidateForm.Meta.fields}
        screening = services.screening_create(
            site=form.cleaned_data["site"], user=request.user, **data
        )
        messages.success(request, _("Screening %(number)s opened.") % {"number": screening.number})
        return redirect(screening)
    return render(request, "eligibility/screening_new.html", {"form": form})


SIGNS_ELIGIBILITY = gettext_lazy("The investigator confirms and signs the eligibility")


def screening_detail(request: HttpRequest, number: str) -> HttpResponse:
    screening = _screening(request, number)
    assessment = selectors.assessment_for(screening)
    states = signatures.signature_states(screening)  # the screening as stored, read once
    signed = any(s.valid and s.signature.meaning == SignatureMeaning.ELIGIBILITY for s in states)
    return render(
        request,
        "eligibility/screening_detail.html",
        {
            "screening": screening,
            "assessment": assessment,
            "labs": selectors.current_labs(screening),
            "therapies": selectors.current_therapies(screening),
            "signatures": states,
            "can_sign": request.user.has_perm(roles.SIGN)
            and assessment.outcome == "eligible"
            and not signed,
            # When signing is the next step and the user cannot sign: who can (read for
            # every such user, so the page's query count does not depend on the screening).
            "signing_next": assessment.outcome == "eligible" and not signed,
            "who_signs": ""
            if request.user.has_perm(roles.SIGN)
            else access.investigator_refusal(screening.site_id, SIGNS_ELIGIBILITY),
            "sign_form": SignatureForm(),
            "fail_form": forms.ScreenFailForm(),
            "signature_meaning": SignatureMeaning.ELIGIBILITY.label,
            "consents": screening.consents.select_related("form_version", "obtained_by"),
            "sections": selectors.section_summaries(screening),
        },
    )


def screening_section(request: HttpRequest, number: str, section: str) -> HttpResponse:
    if section not in forms.SECTIONS:
        raise Http404
    screening = _screening(request, number, write=True)
    form_class, title = forms.SECTIONS[section]
    form = form_class(request.POST or None, instance=screening, today=_today())
    if request.method == "POST" and form.is_valid():
        try:
            services.screening_save_section(form=form, user=request.user)
        except EditConflict as exc:
            _conflict(request, form, exc)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved. The assessment below is up to date."))
            if "save_and_continue" in request.POST:
                return redirect(
                    "eligibility:section", number=number, section=_next_section(section)
                )
            return redirect(screening)
    groups = forms.SJOGREN_GROUPS if section == "sjogren" else None
    return render(
        request,
        "eligibility/screening_section.html",
        {
            "screening": screening,
            "form": form,
            "title": title,
            "groups": groups,
            "section": section,
            "therapies": selectors.current_therapies(screening) if section == "therapy" else None,
        },
    )


def _next_section(section: str) -> str:
    order = forms.SECTION_ORDER
    return order[(order.index(section) + 1) % len(order)]


def screening_labs(request: HttpRequest, number: str) -> HttpResponse:
    screening = _screening(request, number, write=True)
    form = forms.LabsForm(request.POST or None, screening=screening, today=_today())
    if request.method == "POST" and form.is_valid():
        try:
            services.screening_save_labs(form=form, user=request.user)
        except EditConflict as exc:
            _conflict(request, form, exc)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Labs saved. The assessment below is up to date."))
            if "save_and_continue" in request.POST:
                return redirect("eligibility:section", number=number, section="exclusions")
            return redirect(screening)
    return render(
        request, "eligibility/screening_labs.html", {"screening": screening, "form": form}
    )


def prior_therapy_edit(request: HttpRequest, number: str, pk: int | None = None) -> HttpResponse:
    screening = _screening(request, number, write=True)
    therapy = None
    if pk is not None:
        therapy = access.get_for_user(
            PriorTherapy.objects.filter(screening=screening), request.user, write=True, pk=pk
        )
    form = forms.PriorTherapyForm(
        request.POST or None, instance=therapy, screening=screening, today=_today()
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.prior_therapy_save(form=form, user=request.user)
        except EditConflict as exc:
            _conflict(request, form, exc)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Therapy saved."))
            if "save_and_add" in request.POST:
                return redirect("eligibility:therapy_add", number=number)
            return redirect(screening)
    return render(
        request,
        "eligibility/prior_therapy_form.html",
        {
            "screening": screening,
            "form": form,
            "therapy": therapy,
            "known_drugs": sorted(
                protocol.IMMUNOSUPPRESSANTS
                | protocol.GLUCOCORTICOIDS
                | protocol.BIOLOGICS
                | protocol.NOT_COUNTED
                | {protocol.RITUXIMAB}
            )
            + sorted(drugs.CHINESE_NAMES.values()),
            "void_form": VoidForm() if therapy else None,
            "drug_classes": DrugClass,
        },
    )


@require_POST
def prior_therapy_void(request: HttpRequest, number: str, pk: int) -> HttpResponse:
    screening = _screening(request, number, write=True)
    therapy = access.get_for_user(
        PriorTherapy.objects.filter(screening=screening), request.user, write=True, pk=pk
    )
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            services.prior_therapy_void(
                therapy=therapy, user=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Therapy row voided."))
    else:
        messages.error(request, _("Give a reason for voiding."))
    return redirect(screening)


@require_POST
def screening_sign(request: HttpRequest, number: str) -> HttpResponse:
    screening = _screening(request, number)
    access.require_investigator(request.user, screening.site_id, SIGNS_ELIGIBILITY)
    form = SignatureForm(request.POST)
    if form.is_valid():
        try:
            services.screening_sign_eligibility(
                screening=screening,
                user=request.user,
                password=form.cleaned_data["password"],
                request=request,
                source_signed_on=form.cleaned_data.get("source_signed_on"),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Eligibility confirmed and signed."))
    else:
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
    return redirect(screening)


@require_POST
def screening_fail(request: HttpRequest, number: str) -> HttpResponse:
    screening = _screening(request, number, write=True)
    form = forms.ScreenFailForm(request.POST)
    if form.is_valid():
        try:
            services.screening_mark_failed(
                screening=screening, user=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Screening closed as a screen failure."))
    else:
        messages.error(request, _("Give the reason for the screen failure."))
    return redirect(screening)
