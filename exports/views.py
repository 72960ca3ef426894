"""Export pages: request, progress, download, casebook. Data managers only
(investigators may download their own site's casebooks)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.models import Participant
from exports import services
from exports.forms import ExportRequestForm
from exports.models import Export
from exports.rows import ExportFilters, ExportOptions
from trialsite import access, jobs, roles
from trialsite.pagination import page_of


def export_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, roles.EXPORT)
    sites = [site.code for site in access.user_sites(request.user)]
    form = ExportRequestForm(request.POST or None, site_codes=sites)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        export = services.export_create(
            user=request.user,
            kind=data["kind"],
            filters=ExportFilters(
                site_codes=tuple(data["sites"]),
                subject_ids=tuple(data["participants"]),
                date_from=data["date_from"],
                date_to=data["date_to"],
            ),
            options=ExportOptions(
                labels=data["labels"],
                drop_date_of_birth=data["drop_date_of_birth"],
                shift_dates=data["shift_dates"],
                excel=data["excel"],
                full_history=data["full_history"],
            ),
        )
        messages.success(request, _("Export started."))
        return redirect("exports:detail", pk=export.pk)
    # Casebooks too: built on request, each download is listed (and built again from here).
    exports = page_of(request, Export.objects.filter(created_by=request.user))
    _mark_stale(exports)
    return render(request, "exports/export_list.html", {"form": form, "exports": exports})


def _mark_stale(exports) -> None:
    """Flag the exports still "running" long after they started (their worker stopped)."""
    now, limit = timezone.now(), services.stale_after()
    for export in exports:
        export.stale = export.is_stale(now, limit)
        export.stale_minutes = int(limit.total_seconds() // 60)


def _own_export(request: HttpRequest, pk: int) -> Export:
    access.require(request.user, roles.EXPORT)
    # Only the data manager who made an export downloads it (404 for anyone else).
    return get_object_or_404(Export, pk=pk, created_by=request.user)


def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    export = _own_export(request, pk)
    _mark_stale([export])
    export.job_status = jobs.job_status(lock=services.export_lock(export.pk))
    return render(request, "exports/export_detail.html", {"export": export})


def export_download(request: HttpRequest, pk: int) -> FileResponse:
    export = _own_export(request, pk)
    if not export.file_name:
        raise Http404(_("This export has no file (yet)."))
    path = services.export_dir() / export.file_name
    if not path.exists():
        raise Http404(_("The export file is no longer on the server."))
    return FileResponse(path.open("rb"), as_attachment=True, filename=export.file_name)


def casebook(request: HttpRequest, subject_id: str) -> HttpResponse:
    if not services.can_export_casebook(request.user):
        raise PermissionDenied(_("Only data managers and investigators export casebooks."))
    participant = access.get_for_user(
        Participant.objects.select_related("site"), request.user, subject_id=subject_id
    )
    pdf = services.casebook_pdf(participant=participant, user=request.user)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="casebook-{subject_id}.pdf"'
    if not pdf:
        messages.error(request, _("The casebook could not be built."))
        return redirect("participant_detail", subject_id=subject_id)
    return response
