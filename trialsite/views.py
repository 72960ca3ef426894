"""Core pages: a record's audit history and the health check."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from trialsite import access, jobs, query, roles
from trialsite.audit import history_of
from trialsite.forms import LockoutPasswordChangeForm
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
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on every page: point them at the static icon."""
    return redirect(static("img/favicon.svg"))


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: the app answers and its database does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


# --- Background jobs (data managers) --------------------------------------------------------


def job_list(request: HttpRequest) -> HttpResponse:
    """The queue: queued, running, failed and retried jobs (trialsite/jobs.py)."""
    access.require(request.user, roles.ALL_SITES)
    state = query.choice_param(request, "state", jobs.STATES)
    context = {
        "jobs": jobs.job_rows(state=state),
        "counts": [(s, jobs.STATE_LABELS[s], n) for s, n in jobs.job_counts().items()],
        "state": state,
    }
    return render(request, "trialsite/jobs.html", context)


@require_POST
def job_retry(request: HttpRequest) -> HttpResponse:
    access.require(request.user, roles.ALL_SITES)
    try:
        job_id = int(request.POST.get("job", ""))
        jobs.job_retry(job_id=job_id)
    except ValueError:
        messages.error(request, _("Choose a job to retry."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Job %(id)s was queued again.") % {"id": job_id})
    return redirect("jobs")


class PasswordChange(auth_views.PasswordChangeView):
    """Django's password change, with wrong old passwords counted towards the login
    lockout; once locked out, the session ends (the lockout page is shown)."""

    form_class = LockoutPasswordChangeForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_invalid(self, form: LockoutPasswordChangeForm) -> HttpResponse:
        if getattr(self.request, "axes_locked_out", False):
            logout(self.request)
        return super().form_invalid(form)
