"""Export jobs: each one an audited event, written to a file under var/exports/.

The request records the export and defers its job in one transaction (``export_create``);
a worker writes the file (``exports/tasks.py`` → ``export_run``). A worker killed halfway
leaves the export "running"; its job is run again (trialsite/jobs.py), and the retry writes
the same file from the start: one file, one record.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import secrets
import subprocess
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from enrollment.models import Participant
from exports.casebook import build_casebook
from exports.csv_bundle import write_bundle
from exports.models import DateShift, Export, ExportKind, ExportStatus
from exports.odm import write_odm
from exports.rows import ExportFilters, ExportOptions
from exports.stats import write_stats
from trialsite import roles
from trialsite.audit import audit_context
from trialsite.models import User

logger = logging.getLogger(__name__)

# Every export file (CSV, ODM, casebook) is written in English, whatever the language
# the exporting user reads the interface in: sponsors, statisticians and archives get one
# set of labels. Free text entered in Chinese stays as entered.
EXPORT_LANGUAGE = "en"
# De-identified exports shift each participant's dates by up to this many days.
MAX_DATE_SHIFT_DAYS = 180


def software_version() -> str:
    """The app's version and, when run from a git checkout, the commit."""
    from trialsite import __version__

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit}" if commit else __version__


def export_dir() -> Path:
    path = Path(settings.EXPORT_ROOT)
    path.mkdir(parents=True, exist_ok=True)
    return path


def date_offsets(filters: ExportFilters) -> dict[int, int]:
    """The secret offset of every participant, created on first use and then kept."""
    participants = Participant.objects.all()
    if filters.site_codes:
        participants = participants.filter(site__code__in=filters.site_codes)
    if filters.subject_ids:
        participants = participants.filter(subject_id__in=filters.subject_ids)
    missing = participants.filter(export_date_shift__isnull=True).values_list("pk", flat=True)
    DateShift.objects.bulk_create(
        [
            DateShift(
                participant_id=pk,
                # Never 0: a shifted export must not leak real dates by chance.
                offset_days=(secrets.randbelow(MAX_DATE_SHIFT_DAYS) + 1) * secrets.choice((-1, 1)),
            )
            for pk in missing
        ],
        ignore_conflicts=True,
    )
    return dict(
        DateShift.objects.filter(participant__in=participants).values_list(
            "participant_id", "offset_days"
        )
    )


@transaction.atomic
def export_create(
    *, user: User, kind: str, filters: ExportFilters, options: ExportOptions
) -> Export:
    """Record the export request (the audited event) and queue its job, in one transaction."""
    from exports.tasks import run_export

    with audit_context(user, f"export: {kind}"):
        export = Export.objects.create(
            kind=kind,
            created_by=user,
            filters=filters.as_json(),
            options=options.as_json(),
        )
    run_export.configure(lock=export_lock(export.pk)).defer(export_id=export.pk)
    return export


def export_lock(pk: int) -> str:
    """Two jobs of one export never run at once (a retry waits for a live attempt)."""
    return f"export:{pk}"


def export_run(export: Export) -> Export:
    """Write the export file and record its outcome (rows, participants, size).

    Whatever fails (the filters, the date offsets, the writer, the file), the export is
    recorded as failed with the error: it never stays "running". Run again (a retry after
    the worker was killed), it starts over: the file is written under a temporary name and
    renamed when complete, so there is only ever one file, and it is whole.
    """
    if export.status != ExportStatus.RUNNING:
        return export  # finished by an earlier attempt
    Export.objects.filter(pk=export.pk).update(rows_done=0)
    path: Path | None = None
    part: Path | None = None
    try:
        filters = ExportFilters(
            site_codes=tuple(export.filters.get("sites") or ()),
            subject_ids=tuple(export.filters.get("participants") or ()),
            date_from=_date(export.filters.get("date_from")),
            date_to=_date(export.filters.get("date_to")),
        )
        options = ExportOptions(
            labels=export.options.get("labels", False),
            drop_date_of_birth=export.options.get("drop_date_of_birth", False),
            shift_dates=export.options.get("shift_dates", False),
            excel=export.options.get("excel", False),
            full_history=export.options.get("full_history", False),
        )
        if options.shift_dates:
            options = dataclasses.replace(options, offsets=date_offsets(filters))
        suffix = {"csv": "zip", "odm": "xml", "stats": "zip"}[export.kind]
        name = f"{export.created_at:%Y%m%d-%H%M%S}-{export.kind}-{export.pk}.{suffix}"
        path = export_dir() / name
        part = path.with_name(name + ".part")
        writer = _writer(export)

        def progress(rows_done: int) -> None:
            Export.objects.filter(pk=export.pk).update(rows_done=rows_done)

        # Exports are in English codes and labels whatever the exporting user's language.
        with translation.override(EXPORT_LANGUAGE):
            counts, subjects = writer(
                part,
                filters=filters,
                options=options,
                started_at=export.created_at,
                software_version=software_version(),
                progress=progress,
            )
        part.replace(path)
        size = path.stat().st_size
    except Exception as exc:  # the job must record its failure, whatever it was
        _fail(export, exc)
        for leftover in (part, path):
            if leftover is not None:
                leftover.unlink(missing_ok=True)
        export.refresh_from_db()
        return export
    with audit_context(export.created_by, "export finished"):
        Export.objects.filter(pk=export.pk).update(
            status=ExportStatus.DONE,
            finished_at=timezone.now(),
            row_counts=counts,
            rows_done=sum(counts.values()),
            participants=sorted(subjects),
            file_name=name,
            size_bytes=size,
        )
    export.refresh_from_db()
    return export


def _writer(export: Export):
    """The writer of an export's kind; the bundle and the statistics files also read the
    analysis tables, which the application builds for the exporting user's sites."""
    if export.kind == ExportKind.ODM:
        return write_odm
    writer = write_stats if export.kind == ExportKind.STATS else write_bundle
    return functools.partial(writer, user=export.created_by)


def _fail(export: Export, exc: BaseException) -> None:
    logger.exception("export %s failed", export.pk)
    with audit_context(export.created_by, "export failed"):
        Export.objects.filter(pk=export.pk).update(
            status=ExportStatus.FAILED,
            error=str(exc) or type(exc).__name__,
            finished_at=timezone.now(),
        )


def can_export_casebook(user: User) -> bool:
    """Data managers and investigators export casebooks (the casebook view and the
    participant page's link ask this)."""
    return user.has_perm(roles.EXPORT) or user.has_perm(roles.SIGN)


def casebook_pdf(*, participant: Participant, user: User) -> bytes:
    """Build a participant's casebook; the download itself is an audited export."""
    with audit_context(user, "export: casebook"):
        export = Export.objects.create(
            kind=ExportKind.CASEBOOK,
            created_by=user,
            filters={"participants": [participant.subject_id]},
            participants=[participant.subject_id],
        )
    try:
        with translation.override(EXPORT_LANGUAGE):
            pdf = build_casebook(participant, generated_by=user.printed_name)
    except Exception as exc:  # recorded as failed; the page says it could not be built
        _fail(export, exc)
        return b""
    with audit_context(user, "export finished"):
        Export.objects.filter(pk=export.pk).update(
            status=ExportStatus.DONE, finished_at=timezone.now(), size_bytes=len(pdf)
        )
    return pdf


def stale_after() -> timedelta:
    return timedelta(minutes=settings.EXPORT_STALE_MINUTES)


def _date(value: str | None):
    from datetime import date

    return date.fromisoformat(value) if value else None
