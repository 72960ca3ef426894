"""Monitoring pages: thin views (access helper → form → service → redirect with a message).

Outsiders get 404 for another site's data (``trialsite.access``); a role without the
capability gets 403 (coordinators cannot open or close queries, monitors cannot lock).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dosing.models import Visit
from enrollment.models import Participant
from monitoring import context, forms, selectors, services
from monitoring.models import DataQuery, Lock, LockScope, QueryStatus
from monitoring.targets import clinical_model, data_fields, describe, display_value
from trialsite import access, query, roles
from trialsite.forms import SignatureForm
from trialsite.models import ClinicalRecord, SignatureMeaning
from trialsite.pagination import page_of
from trialsite.redirects import redirect_next


def _today():
    return timezone.localdate()


def _query(request: HttpRequest, pk: int) -> DataQuery:
    return access.get_for_user(
        DataQuery.objects.select_related("content_type", "participant", "visit", "opened_by"),
        request.user,
        pk=pk,
    )


def _record(request: HttpRequest, app_label: str, model_name: str, pk: int) -> ClinicalRecord:
    model = clinical_model(app_label, model_name)
    if model is None:
        raise Http404
    return access.get_for_user(model._base_manager.all(), request.user, pk=pk)


def _visit(request: HttpRequest, pk: int) -> Visit:
    return access.get_for_user(
        Visit.objects.select_related("participant__site"), request.user, pk=pk
    )


def _participant(request: HttpRequest, subject_id: str) -> Participant:
    return access.get_for_user(
        Participant.objects.select_related("site", "screening"),
        request.user,
        subject_id=subject_id,
    )


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _back(request: HttpRequest, default: str) -> HttpResponse:
    return redirect_next(request, default)


# --- Queries ----------------------------------------------------------------------------------


def query_list(request: HttpRequest) -> HttpResponse:
    sites = access.user_sites(request.user)
    filters = forms.QueryFilterForm(request.GET or None, sites=sites)
    chosen = query.filter_form(request, filters)
    site_code, status = chosen.get("site", ""), chosen.get("status") or "unresolved"
    found = selectors.query_list(request.user, _today(), site_code=site_code, status=status)
    page = page_of(request, found["queries"])
    return render(
        request,
        "monitoring/query_list.html",
        {
            "filters": filters,
            "page": page,
            "rows": selectors.query_rows(page.object_list, _today()),
            "per_site": found["per_site"],
            "age_buckets": selectors.AGE_BUCKETS,
        },
    )


def query_new(request: HttpRequest, app_label: str, model_name: str, pk: int) -> HttpResponse:
    record = _record(request, app_label, model_name, pk)
    access.require_role(
        request.user, roles.QUERIES, [access.site_id_of(record)], services.RAISES_QUERY
    )
    initial = {"field_name": query.text_param(request, "field")}
    form = forms.QueryOpenForm(request.POST or None, model=type(record), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            opened = services.query_open(
                record=record,
                user=request.user,
                question=form.cleaned_data["question"],
                field_name=form.cleaned_data["field_name"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Query #%(n)s opened.") % {"n": opened.pk})
            return redirect(opened)
    return render(
        request,
        "monitoring/query_new.html",
        {"form": form, "target": describe(record, initial["field_name"])},
    )


def query_detail(request: HttpRequest, pk: int) -> HttpResponse:
    query = _query(request, pk)
    return render(
        request,
        "monitoring/query_detail.html",
        {
            **selectors.query_page(query, request.user),
            "answer_form": forms.QueryAnswerForm(),
            "close_form": forms.QueryCloseForm(),
            "reopen_form": forms.QueryReopenForm(),
            "age_days": query.age_days(_today()),
        },
    )


def _query_step(
    request: HttpRequest,
    pk: int,
    form_class,
    service,
    field: str,
    done: str,
    who: tuple[str, str],
):
    query = _query(request, pk)
    # The role is checked before the input: a wrong role gets 403 saying who can.
    permission, action = who
    access.require_role(request.user, permission, [query.site_id], action)
    form = form_class(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(query)
    try:
        service(query=query, user=request.user, **{field: form.cleaned_data[field]})
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, done % {"n": query.pk})
    return redirect(query)


@require_POST
def query_answer(request: HttpRequest, pk: int) -> HttpResponse:
    return _query_step(
        request,
        pk,
        forms.QueryAnswerForm,
        services.query_answer,
        "response",
        _("Query #%(n)s answered."),
        (roles.ENTER, services.ANSWERS_QUERY),
    )


@require_POST
def query_close(request: HttpRequest, pk: int) -> HttpResponse:
    return _query_step(
        request,
        pk,
        forms.QueryCloseForm,
        services.query_close,
        "note",
        _("Query #%(n)s closed."),
        (roles.QUERIES, services.CLOSES_QUERY),
    )


@require_POST
def query_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _query_step(
        request,
        pk,
        forms.QueryReopenForm,
        services.query_reopen,
        "reason",
        _("Query #%(n)s re-opened."),
        (roles.QUERIES, services.REOPENS_QUERY),
    )


def query_correct(request: HttpRequest, pk: int) -> HttpResponse:
    """The record's normal edit page, run as the answer to a query.

    The edit form and its service are the record's own (reason for change, optimistic
    locking, locks); the reason is prefilled "Query #n: …" and saving the queried record
    answers the query with a link to the change (``monitoring.context``).
    """
    query = _query(request, pk)
    access.require_role(request.user, roles.ENTER, [query.site_id], services.ANSWERS_QUERY)
    if query.status != QueryStatus.OPEN:
        messages.info(request, _("Query #%(n)s is not open.") % {"n": query.pk})
        return redirect(query)
    record = query.content_type.model_class()._base_manager.get(pk=query.object_id)
    edit_url = describe(record, query.field_name).edit_url
    if edit_url is None or record.is_voided:
        raise Http404(_("This record has no edit form: answer the query in words."))
    match = resolve(edit_url)
    with context.correcting(query) as correction:
        response = match.func(request, *match.args, **match.kwargs)
    if request.method == "POST" and response.status_code == 302:
        if correction.answered:
            messages.success(
                request, _("Query #%(n)s answered with this correction.") % {"n": query.pk}
            )
        else:
            messages.warning(
                request,
                _(
                    "Saved, but the queried record did not change: query #%(n)s is still "
                    "open. If the value is right, answer it in words."
                )
                % {"n": query.pk},
            )
        return redirect(query)
    return response


# --- Review pages ---------------------------------------------------------------------------------


def visit_review(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visit(request, pk)
    return render(
        request,
        "monitoring/visit_review.html",
        {
            **selectors.visit_review(visit, request.user),
            "lock_form": forms.LockForm(),
            "unlock_form": forms.UnlockForm(),
        },
    )


def participant_review(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id)
    return render(
        request,
        "monitoring/participant_review.html",
        {
            **selectors.participant_review(participant, request.user),
            "lock_form": forms.LockForm(),
            "unlock_form": forms.UnlockForm(),
        },
    )


def data_quality(request: HttpRequest) -> HttpResponse:
    access.require(request.user, roles.QUERIES)
    return render(
        request,
        "monitoring/quality.html",
        {
            "sites": selectors.data_quality(request.user, _today()),
            "age_buckets": selectors.AGE_BUCKETS,
        },
    )


# --- Source data verification ---------------------------------------------------------------------


def verify_record(request: HttpRequest, app_label: str, model_name: str, pk: int) -> HttpResponse:
    """GET: the record's fields to tick; POST: verify them (no field named: all of them)."""
    record = _record(request, app_label, model_name, pk)
    access.require_role(
        request.user, roles.VERIFY, [access.site_id_of(record)], services.VERIFIES_SOURCE
    )
    target = describe(record)
    choices = [
        (f.name, f"{str(f.verbose_name).capitalize()}: {display_value(record, f)}")
        for f in data_fields(type(record))
    ]
    verified = selectors.verified_fields(record)
    form = forms.VerifyFieldsForm(
        request.POST or None, choices=choices, initial={"fields_verified": verified}
    )
    if request.method == "POST":
        names = None
        if "fields_verified" in request.POST:
            if not form.is_valid():
                return render(
                    request, "monitoring/verify_fields.html", {"form": form, "target": target}
                )
            names = form.cleaned_data["fields_verified"]
        try:
            made = services.verification_mark(record=record, user=request.user, field_names=names)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(
                request,
                _("%(label)s: %(n)s field(s) verified against source.")
                % {"label": target.label, "n": len(made)},
            )
        default = (
            reverse("monitoring:visit", args=[target.visit.pk])
            if target.visit
            else reverse("monitoring:participant", args=[target.participant.subject_id])
        )
        return _back(request, default)
    return render(request, "monitoring/verify_fields.html", {"form": form, "target": target})


@require_POST
def verify_visit(request: HttpRequest, pk: int) -> HttpResponse:
    """Every form of the visit verified against source at once."""
    visit = _visit(request, pk)
    access.require_role(
        request.user, roles.VERIFY, [visit.participant.site_id], services.VERIFIES_SOURCE
    )
    n = 0
    try:
        for record in selectors.visit_records(visit):
            n += len(services.verification_mark(record=record, user=request.user))
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("%(n)s field(s) verified against source.") % {"n": n})
    return redirect("monitoring:visit", pk=visit.pk)


# --- Locks ---------------------------------------------------------------------------------------


def _lock(request: HttpRequest, participant: Participant, default: str, **target) -> HttpResponse:
    access.require_role(request.user, roles.LOCK, [participant.site_id], services.LOCKS_DATA)
    form = forms.LockForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.lock_create(user=request.user, participant=participant, reason=reason, **target)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Locked: nobody can change this data now."))
    return _back(request, default)


@require_POST
def lock_participant(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id)
    return _lock(
        request,
        participant,
        reverse("monitoring:participant", args=[subject_id]),
        scope=LockScope.PARTICIPANT,
    )


@require_POST
def lock_visit(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visit(request, pk)
    return _lock(
        request,
        visit.participant,
        reverse("monitoring:visit", args=[pk]),
        scope=LockScope.VISIT,
        visit=visit,
    )


@require_POST
def lock_record(request: HttpRequest, app_label: str, model_name: str, pk: int) -> HttpResponse:
    """Lock the form a record belongs to (a visit's form of its kind, or the record)."""
    record = _record(request, app_label, model_name, pk)
    target = describe(record)
    default = (
        reverse("monitoring:visit", args=[target.visit.pk])
        if target.visit
        else reverse("monitoring:participant", args=[target.participant.subject_id])
    )
    return _lock(request, target.participant, default, scope=LockScope.FORM, record=record)


@require_POST
def unlock(request: HttpRequest, pk: int) -> HttpResponse:
    lock = access.get_for_user(Lock.objects.select_related("participant"), request.user, pk=pk)
    access.require_role(request.user, roles.LOCK, [lock.participant.site_id], services.UNLOCKS_DATA)
    form = forms.UnlockForm(request.POST)
    default = (
        reverse("monitoring:visit", args=[lock.visit_id])
        if lock.visit_id
        else reverse("monitoring:participant", args=[lock.participant.subject_id])
    )
    if not form.is_valid():
        messages.error(request, _("Give a reason for unlocking."))
        return _back(request, default)
    try:
        services.lock_release(lock=lock, user=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Unlocked; the signatures over this data are void."))
    return _back(request, default)


# --- Investigator sign-off ------------------------------------------------------------------------


def _sign(
    request: HttpRequest, *, template: str, page: dict, sign, done: str, back: str, action: str
):
    access.require_investigator(request.user, page["participant"].site_id, action)
    form = SignatureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sign(password=form.cleaned_data["password"])
        except ValidationError as exc:
            # A wrong password is the password field's error; other refusals the form's.
            wrong = getattr(exc, "code", None) == "wrong_password"
            for message in exc.messages:
                form.add_error("password" if wrong else None, message)
        else:
            messages.success(request, done)
            return redirect(back)
    return render(request, template, {**page, "sign_form": form})


def sign_visit(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visit(request, pk)
    return _sign(
        request,
        template="monitoring/sign_visit.html",
        page={
            "visit": visit,
            "participant": visit.participant,
            "refusals": services.visit_signoff_refusals(visit),
            "meaning": SignatureMeaning.VISIT.label,
        },
        sign=lambda password: services.visit_sign(
            visit=visit, user=request.user, password=password, request=request
        ),
        done=_("Visit %(code)s signed.") % {"code": visit.visit_code},
        back=reverse("monitoring:visit", args=[pk]),
        action=services.SIGNS_VISIT,
    )


def sign_casebook(request: HttpRequest, subject_id: str) -> HttpResponse:
    participant = _participant(request, subject_id)
    return _sign(
        request,
        template="monitoring/sign_casebook.html",
        page={
            "participant": participant,
            "refusals": services.casebook_signoff_refusals(participant),
            "meaning": SignatureMeaning.CASEBOOK.label,
        },
        sign=lambda password: services.casebook_sign(
            participant=participant, user=request.user, password=password, request=request
        ),
        done=_("Casebook of %(subject)s signed.") % {"subject": subject_id},
        back=reverse("monitoring:participant", args=[subject_id]),
        action=services.SIGNS_CASEBOOK,
    )
