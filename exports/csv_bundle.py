"""The CSV bundle: one CSV per form, data_dictionary.csv and README.txt, in a .zip.

Written entry by entry straight into the zip file: rows come from PostgreSQL's COPY
or a server-side cursor and go out as they arrive, so memory stays flat.
"""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from django.db import connection

from exports import history as history_tables
from exports import stats
from exports.dictionary import dictionary_rows
from exports.registry import ExportForm, export_forms
from exports.rows import (
    ExportFilters,
    ExportOptions,
    columns,
    copy_query,
    export_columns,
    rows,
    spreadsheet_safe,
)
from trialsite import dbcopy
from trialsite.models import User

Progress = Callable[[int], None]


# Every CSV of the bundle ends its lines with "\n", as PostgreSQL's COPY does.
LINE_END = "\n"
# zlib's fastest level: the bundle of a large trial is compressed in a third of the time
# level 6 takes, for a file about a third larger (issue 10: CSV within 2x of COPY).
COMPRESS_LEVEL = 1
PROGRESS_EVERY = 5000  # rows


def _csv_entry(archive: zipfile.ZipFile, name: str, *, excel: bool = False):
    """A CSV file of the bundle; for Excel it starts with a UTF-8 byte order mark."""
    raw = archive.open(name, "w", force_zip64=True)
    return raw, io.TextIOWrapper(raw, encoding="utf-8-sig" if excel else "utf-8", newline="")


class _CopyRows:
    """Where PostgreSQL's COPY writes one form's CSV: the zip entry, in 1 MB writes.

    PostgreSQL sends one CopyData message per row and the driver hands over each as it comes
    (one ``write`` a row), so the rows are counted and each row's subject ID (its first
    field, never quoted: ``<SITE>-<nnn>``) is read here without parsing the CSV.  No
    progress is reported from here: that is a query, and the connection is busy with the
    COPY until it ends (the bundle reports after each form).
    """

    def __init__(self, raw, subjects: set[str]) -> None:
        self.raw, self.subjects = raw, subjects
        self.raw_subjects: set[bytes] = set()
        self.buffer = bytearray()
        self.count = 0

    def write(self, row: bytes) -> None:
        self.raw_subjects.add(row[: row.find(b",")])
        self.buffer += row
        self.count += 1
        if len(self.buffer) >= 1 << 20:
            self.raw.write(self.buffer)
            self.buffer.clear()

    def close(self) -> None:
        self.raw.write(self.buffer)
        self.raw.close()
        self.subjects.update(subject.decode() for subject in self.raw_subjects if subject)


def _copy_form(archive, form, query, header: list[str], subjects, *, excel: bool = False) -> int:
    """One form's CSV written by PostgreSQL (``rows.copy_query``); returns its row count."""
    raw, text = _csv_entry(archive, f"{form.code}.csv", excel=excel)
    csv.writer(text, lineterminator=LINE_END).writerow(header)
    text.flush()
    text.detach()  # the header is in; PostgreSQL's bytes follow on ``raw``
    out = _CopyRows(raw, subjects)
    sql, params = query
    with connection.cursor() as cursor:
        statement = dbcopy.mogrify(cursor, sql, params)
        dbcopy.copy_out(cursor, f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)", out.write)
    out.close()
    return out.count


def _python_form(archive, form, filters, options, subjects, progress) -> int:
    """One form's CSV written row by row from ``rows`` (labels, shifted dates, scores)."""
    raw, text = _csv_entry(archive, f"{form.code}.csv", excel=options.excel)
    csv.writer(text, lineterminator=LINE_END).writerow(columns(form, options))
    keys = [column.key for column in export_columns(form, options)]
    # A row also holds what the CSV leaves out (a multi-choice field's joined codes, which
    # the ODM file takes; the CSV has its 0/1 columns).
    writer = csv.DictWriter(text, fieldnames=keys, lineterminator=LINE_END, extrasaction="ignore")
    count = 0
    for row in rows(form, filters, options):
        writer.writerow({column: spreadsheet_safe(text) for column, text in row.items()})
        if row["subject_id"]:
            subjects.add(row["subject_id"])
        count += 1
        if count % PROGRESS_EVERY == 0:
            progress(count)
    text.close()
    raw.close()
    return count


def _write_table(archive, name: str, table: Iterable[list[str]], options: ExportOptions) -> int:
    """A table made in Python (header first) as a CSV file; returns its row count."""
    raw, text = _csv_entry(archive, name, excel=options.excel)
    writer = csv.writer(text, lineterminator=LINE_END)
    count = -1  # the header is no row
    for row in table:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
        count += 1
    text.close()
    raw.close()
    return count


# The analysis-ready tables' files in the bundle (exports/stats.py), by file code.
ANALYSIS_FILES = ("analysis_participants", "analysis_outcomes")


def _analysis_tables(user, filters, options, started_at) -> dict[str, stats.Table]:
    if user is None:
        return {}
    from django.utils import timezone

    made = stats.tables(
        user=user, filters=filters, options=options, today=timezone.localdate(started_at)
    )
    return dict(zip(ANALYSIS_FILES, made, strict=True))


def write_bundle(
    path: Path,
    *,
    filters: ExportFilters,
    options: ExportOptions,
    started_at: datetime,
    software_version: str,
    progress: Progress = lambda rows_done: None,
    user: User | None = None,
) -> tuple[dict[str, int], set[str]]:
    """Write the bundle; returns rows per form and the subject IDs it contains. With the
    exporting ``user``, the analysis-ready tables (exports/stats.py) are in it too."""
    counts: dict[str, int] = {}
    subjects: set[str] = set()
    done = 0
    with zipfile.ZipFile(
        path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
    ) as archive:
        for form in export_forms():

            def form_progress(rows_done: int) -> None:
                progress(done + rows_done)  # noqa: B023 - called before ``done`` moves on

            query = copy_query(form, filters, options)
            if query is not None:
                header = columns(form, options)
                count = _copy_form(archive, form, query, header, subjects, excel=options.excel)
            else:
                count = _python_form(archive, form, filters, options, subjects, form_progress)
            counts[form.code] = count
            done += count
            progress(done)
        analysis = _analysis_tables(user, filters, options, started_at)
        dictionary = itertools.chain(
            dictionary_rows(options),
            *(stats.dictionary_rows(table, code) for code, table in analysis.items()),
        )
        _write_table(archive, "data_dictionary.csv", dictionary, options)
        for code, table in analysis.items():
            counts[code] = _write_table(archive, f"{code}.csv", stats.csv_rows(table), options)
        history = {
            name: _write_table(archive, name, table(filters, options), options)
            for name, table in history_tables.TABLES.items()
        }
        archive.writestr(
            "README.txt",
            readme(
                counts=counts,
                history=history,
                filters=filters,
                options=options,
                started_at=started_at,
                software_version=software_version,
            ),
        )
    return counts, subjects


# How the CSV cells are made safe for spreadsheets (``rows.spreadsheet_safe``), as the
# bundle's README states it.
SPREADSHEET_RULE = (
    "Spreadsheet safety (CSV formula injection): a text cell that starts with =, +, -, @,",
    "a tab or a carriage return is written with a single quote (') in front, so that a",
    "spreadsheet shows it as text and never runs it as a formula. Plain numbers such as -1.5",
    "are left as they are. Remove the leading quote to get the value as entered; the ODM",
    "export keeps every value as entered.",
)


# What the history files hold (exports/history.py), as the bundle's README states it.
HISTORY_TEXT = (
    "History (filtered by site and participant; the date range does not apply):",
    "  audit_trail.csv: one row per audit event of every exported record (created or",
    "    changed): when (UTC), by whom, the database role, the reason, the fields changed.",
    "  audit_changes.csv: one row per field changed by an update: old and new value (a",
    "    record's first values are in its form's file, or the old value of a first change).",
    "  signatures.csv: every e-signature, state valid or void, with why it is void.",
    "  queries.csv: every data query, open, answered or closed; query_messages.csv: each",
    "    step of its conversation.",
)


def date_filter_text(form: ExportForm) -> str:
    """Which column the date-range filter compares for ``form``, in words."""
    if form.date_column is None:
        return "no date: not filtered by date"
    if form.date_field != form.date_column:
        return f"{form.date_column} (the date of the visit the form belongs to)"
    return form.date_column


def readme(
    *,
    counts: dict[str, int],
    history: dict[str, int] | None = None,
    filters: ExportFilters,
    options: ExportOptions,
    started_at: datetime,
    software_version: str,
) -> str:
    from trialsite import protocol

    lines = [
        f"{protocol.REGISTRY_ID} ({protocol.ORG_STUDY_ID}) - {protocol.STUDY_TITLE}",
        "CSV export of the case report forms",
        "",
        f"Exported at: {started_at.isoformat()} (UTC)",
        f"Software version: {software_version}",
        "",
        "Filters:",
        f"  sites: {', '.join(filters.site_codes) or 'all the exporting user may see'}",
        f"  participants: {', '.join(filters.subject_ids) or 'all'}",
        f"  date from: {filters.date_from or '-'}",
        f"  date to: {filters.date_to or '-'}",
        "  the date range (limits included) applies to each file's date below:",
        *[f"    {form.code}.csv: {date_filter_text(form)}" for form in export_forms()],
        "Options:",
        f"  coded values with labels: {'yes' if options.labels else 'no (codes only)'}",
        f"  date of birth removed: {'yes' if options.drop_date_of_birth else 'no'}",
        "  dates shifted by a secret per-participant offset (de-identified): "
        f"{'yes' if options.shift_dates else 'no'}",
        "  CSV files for Excel (UTF-8 with a byte order mark): "
        f"{'yes' if options.excel else 'no (UTF-8)'}",
        "",
        "Files and row counts:",
        *[f"  {code}.csv: {n} rows" for code, n in counts.items()],
        "  data_dictionary.csv: every column of every file (type, unit, codes, derivation)",
        *[f"  {name}: {n} rows" for name, n in (history or {}).items()],
        "  analysis_participants.csv, analysis_outcomes.csv: analysis-ready tables, one row",
        "    per participant (the application's own values; codes labelled in the dictionary;",
        "    not filtered by date)",
        "",
        *HISTORY_TEXT,
        "",
        "One row per form instance. Coded values are codes (see data_dictionary.csv).",
        "Dates are ISO 8601; date-times are UTC. Decimal values use a point.",
        "Voided records are kept and marked record_status=voided: nothing is ever deleted.",
        "A multi-choice question is one column per option, <field>_<code>: 1 chosen, 0 not,",
        "empty when the question was not answered (labels in data_dictionary.csv).",
        "Column names are unique in each file and at most 32 characters; a shortened field",
        "name has its full name in the dictionary's full_name column.",
        "Ages at screening and at enrolment (completed years) are in",
        "eligibility_screening.csv and enrollment_participant.csv, also when dates of birth",
        "are removed or dates shifted.",
        "",
        *SPREADSHEET_RULE,
    ]
    return "\n".join(lines) + "\n"
