"""Analysis-ready tables and the statistics-package files (issue 18).

Two tables, one row per participant: ``participant_table`` (age, sex, site, Day 0, doses per
drug, disposition, flags) and ``outcome_table`` (the outcome measures at baseline, week 12
and week 28, and their change from baseline). Every value is what the application decides:
the treatment engine's course (``dosing.selectors.courses_for``), the outcome review
(``crf.selectors.outcome_review``), the app's age rule. Nothing is recomputed here.

``write_stats`` writes both as SPSS (.sav), Stata (.dta) and SAS transport v5 (.xpt) files
with pyreadstat; the CSV bundle carries them as CSV too (``csv_rows``).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db.models import QuerySet

from enrollment.models import Participant
from exports.rows import ExportFilters, ExportOptions, shift_dates_in
from trialsite import protocol
from trialsite.models import User

YES_NO = {0: "No", 1: "Yes"}
XPT_NAME = 8  # SAS transport v5: variable and table names of at most 8 characters
XPT_LABEL = 40  # and labels of at most 40


@dataclass(frozen=True)
class Variable:
    """One column of an analysis table, as every package names and labels it."""

    name: str  # CSV, SPSS and Stata name (at most 32 characters)
    short: str  # the SAS transport v5 name (at most 8 characters)
    label: str  # the variable label (truncated to 40 characters in the .xpt)
    kind: str  # integer, float, date or text (the dictionary's types)
    values: dict[int, str] = field(default_factory=dict)  # value labels of a coded variable
    derivation: str = ""

    @property
    def sas_format(self) -> str:
        """The SAS format of a coded variable (defined by formats.sas), e.g. ``SEXF.``."""
        return f"{self.short[:7]}F." if self.values else ""


@dataclass
class Table:
    name: str  # file name without suffix; also the .xpt member name (8 characters)
    label: str
    variables: tuple[Variable, ...]
    rows: list[dict[str, Any]]


def _coded(choices: list[tuple[str, Any]]) -> tuple[dict[str, int], dict[int, str]]:
    """Text codes as the integers the packages label: 1, 2, ... in the choices' order."""
    codes = {code: number for number, (code, _label) in enumerate(choices, start=1)}
    labels = {number: str(label) for number, (_code, label) in enumerate(choices, start=1)}
    return codes, labels


def _scope(user: User, filters: ExportFilters, options: ExportOptions) -> QuerySet[Participant]:
    from crf.selectors import participants_for

    participants = participants_for(user)
    if filters.site_codes:
        participants = participants.filter(site__code__in=filters.site_codes)
    if filters.subject_ids:
        participants = participants.filter(subject_id__in=filters.subject_ids)
    return participants.select_related("screening", "site")


class _Dates:
    """Dates as exported: shifted by the participant's secret offset when de-identified."""

    def __init__(self, options: ExportOptions) -> None:
        self.options = options

    def days(self, participant: Participant) -> int:
        if not self.options.shift_dates:
            return 0
        return self.options.offsets.get(participant.pk, 0)

    def __call__(self, participant: Participant, day: date | None) -> date | None:
        return None if day is None else day + timedelta(days=self.days(participant))


def _participant_variables() -> tuple[Variable, ...]:
    from eligibility.models import Sex
    from enrollment.rules import DiscontinuationReason, ParticipantStatus

    _codes, sexes = _coded(Sex.choices)
    _codes, statuses = _coded(ParticipantStatus.choices)
    _codes, reasons = _coded(DiscontinuationReason.choices)
    dose = "from the treatment engine's course (dosing.selectors.courses_for): infusions given"
    return (
        Variable("subject_id", "SUBJID", "Subject ID", "text"),
        Variable("site", "SITE", "Site code", "text"),
        Variable("age_at_screening", "AGESCR", "Age at screening (years)", "integer"),
        Variable("age_at_enrolment", "AGEENR", "Age at enrolment (years)", "integer"),
        Variable("sex", "SEX", "Sex", "integer", sexes),
        Variable("enrolled_on", "ENRDT", "Enrolment date", "date"),
        Variable("day_0", "DAY0", "Day 0", "date", derivation="the course's Day 0 (dosing engine)"),
        Variable("day_0_actual", "DAY0ACT", "Day 0 given (not planned)", "integer", YES_NO),
        Variable(
            "rituximab_first", "RTXFIRST", "First rituximab infusion", "date", derivation=dose
        ),
        Variable("rituximab_last", "RTXLAST", "Last rituximab infusion", "date", derivation=dose),
        Variable(
            "rituximab_n", "RTXN", "Number of rituximab infusions", "integer", derivation=dose
        ),
        Variable(
            "belimumab_first", "BELFIRST", "First belimumab infusion", "date", derivation=dose
        ),
        Variable("belimumab_last", "BELLAST", "Last belimumab infusion", "date", derivation=dose),
        Variable(
            "belimumab_n", "BELN", "Number of belimumab infusions", "integer", derivation=dose
        ),
        Variable("disposition", "DISPOS", "Disposition (participant status)", "integer", statuses),
        Variable("disposition_date", "DISPDT", "Date of the disposition", "date"),
        Variable(
            "discontinuation_reason", "DISCRSN", "Reason for discontinuation", "integer", reasons
        ),
        Variable("disposition_reason", "DISPTXT", "Reason for the disposition (text)", "text"),
        Variable("enrolled", "ENROLLED", "Enrolled", "integer", YES_NO),
        Variable("treated", "TREATED", "Treated (at least one infusion)", "integer", YES_NO),
        Variable(
            "completed_w28",
            "COMPW28",
            "Completed treatment and week 28 (SCH3)",
            "integer",
            YES_NO,
            "the course is complete (dosing.engine.completed_on)",
        ),
    )


def _doses(course: Any, drug: Any) -> dict[str, Any]:
    given = sorted(e.actual for e in course.events if e.drug is drug and e.actual is not None)
    return {
        "first": given[0] if given else None,
        "last": given[-1] if given else None,
        "n": len(given),
    }


def _dispositions(participants: list[Participant]) -> dict[int, Any]:
    """Each participant's latest status change to the status it has now."""
    from enrollment.models import StatusChange

    latest: dict[int, Any] = {}
    changes = (
        StatusChange.objects.active()
        .filter(participant__in=participants)
        .order_by("changed_on", "created_at", "pk")
    )
    by_pk = {p.pk: p for p in participants}
    for change in changes:
        if change.to_status == by_pk[change.participant_id].status:
            latest[change.participant_id] = change
    return latest


def participant_table(
    *, user: User, filters: ExportFilters, options: ExportOptions, today: date
) -> Table:
    """One row per participant, from the engine's course and the participant's records."""
    from dosing.engine import Drug, EventKind, completed_on
    from dosing.selectors import courses_for
    from eligibility.models import Sex
    from enrollment.rules import DiscontinuationReason, ParticipantStatus
    from trialsite.dates import age_in_completed_years

    participants = list(_scope(user, filters, options))
    sexes, _l = _coded(Sex.choices)
    statuses, _l = _coded(ParticipantStatus.choices)
    reasons, _l = _coded(DiscontinuationReason.choices)
    dispositions = _dispositions(participants)
    shift = _Dates(options)
    rows = []
    for participant, course in courses_for(participants, today):
        screening = participant.screening
        born = screening.date_of_birth
        infusions = [e for e in course.events if e.kind is EventKind.INFUSION]
        doses = {drug: _doses(course, drug) for drug in (Drug.RITUXIMAB, Drug.BELIMUMAB)}
        change = dispositions.get(participant.pk)
        rows.append(
            {
                "subject_id": participant.subject_id,
                "site": participant.site.code,
                "age_at_screening": age_in_completed_years(born, screening.screening_date),
                "age_at_enrolment": age_in_completed_years(born, participant.enrolled_on),
                "sex": sexes.get(screening.sex),
                "enrolled_on": shift(participant, participant.enrolled_on),
                "day_0": shift(participant, course.day_0),
                "day_0_actual": int(course.day_0_is_actual),
                **{
                    f"{drug.value}_{key}": shift(participant, value) if key != "n" else value
                    for drug, given in doses.items()
                    for key, value in given.items()
                },
                "disposition": statuses.get(participant.status),
                "disposition_date": shift(participant, change.changed_on) if change else None,
                "discontinuation_reason": reasons.get(change.discontinuation_reason)
                if change
                else None,
                "disposition_reason": shift_dates_in(change.reason, shift.days(participant))
                if change
                else "",
                "enrolled": 1,
                "treated": int(any(e.actual is not None for e in infusions)),
                "completed_w28": int(completed_on(course) is not None),
            }
        )
    return Table("particip", "Participants (analysis-ready)", _participant_variables(), rows)


# The outcome measures of the wide table: (name, XPT stem, label, kind).
MEASURES = (
    ("essdai", "ESSD", "ESSDAI total", "integer"),
    ("esspri", "ESSP", "ESSPRI score", "float"),
    ("physician_global", "PGA", "Physician global (0-10)", "float"),
    ("igg", "IGG", "IgG (g/L)", "float"),
    ("esr", "ESR", "ESR (mm/h)", "float"),
    ("schirmer", "SCHR", "Schirmer (mm/5 min)", "float"),
    ("salivary_flow", "SALV", "Unstimulated salivary flow (mL/15 min)", "float"),
)
# (column suffix, short code for 8-character XPT names, label); the visit codes are the
# protocol's (a short "BL" for the baseline: XPT names are 8 characters).
TIME_POINTS = (
    ("bl", "BL", "baseline"),
    ("w12", protocol.WEEK_12_VISIT_CODE, "week 12"),
    ("w28", protocol.WEEK_28_VISIT_CODE, "week 28"),
)


def _outcome_variables() -> tuple[Variable, ...]:
    from crf.outcomes import ResponseOutcome

    _codes, outcomes = _coded(ResponseOutcome.choices)
    variables = [
        Variable("subject_id", "SUBJID", "Subject ID", "text"),
        Variable("site", "SITE", "Site code", "text"),
    ]
    for name, stem, label, kind in MEASURES:
        for suffix, short, when in TIME_POINTS:
            variables.append(
                Variable(f"{name}_{suffix}", f"{stem}{short}", f"{label}, {when}", kind)
            )
        for suffix, short, when in TIME_POINTS[1:]:
            variables.append(
                Variable(
                    f"{name}_chg_{suffix}",
                    f"{stem}C{short[1:]}",
                    f"{label}: change {when} - baseline",
                    "integer" if kind == "integer" else "float",
                    derivation=f"{name}_{suffix} - {name}_bl (crf/outcomes.py; negative: lower)",
                )
            )
    variables.append(
        Variable("composite_w28", "COMPRESP", "Composite response at week 28", "integer", outcomes)
    )
    return tuple(variables)


def _point_values(point: Any) -> dict[str, Decimal | int | None]:
    """One time point of ``crf.selectors.outcome_review``, by measure."""
    return {
        "essdai": point.essdai.total if point.essdai else None,
        "esspri": point.esspri.score if point.esspri else None,
        "physician_global": point.physician_global,
        "igg": point.labs.get("igg"),
        "esr": point.labs.get("esr"),
        "schirmer": point.schirmer,
        "salivary_flow": point.saliva,
    }


def _changes(row: Any, values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Change from baseline: the review's own for ESSDAI and ESSPRI, follow-up - baseline
    (its definition, crf/outcomes.py) for the others."""
    out: dict[str, Any] = {}
    for suffix, attribute in (("w12", "w12"), ("w28", "w28")):
        essdai, esspri = getattr(row, f"essdai_{attribute}"), getattr(row, f"esspri_{attribute}")
        out[f"essdai_chg_{suffix}"] = essdai.change if essdai else None
        out[f"esspri_chg_{suffix}"] = esspri.change if esspri else None
        for name, *_rest in MEASURES[2:]:
            base, follow = values["bl"][name], values[suffix][name]
            out[f"{name}_chg_{suffix}"] = None if base is None or follow is None else follow - base
    return out


def outcome_table(
    *, user: User, filters: ExportFilters, options: ExportOptions, today: date
) -> Table:
    """One row per participant: the outcome review's values at each time point."""
    from crf.outcomes import ResponseOutcome
    from crf.selectors import OUTCOME_TIME_POINTS, outcome_review

    wanted = set(_scope(user, filters, options).values_list("pk", flat=True))
    outcomes, _l = _coded(ResponseOutcome.choices)
    rows = []
    for row in outcome_review(user, today).rows:
        if row.participant.pk not in wanted:
            continue
        values = {
            suffix: _point_values(row.points[code])
            for (suffix, _s, _w), code in zip(TIME_POINTS, OUTCOME_TIME_POINTS, strict=True)
        }
        cells: dict[str, Any] = {
            "subject_id": row.participant.subject_id,
            "site": row.participant.site.code,
        }
        for suffix, measures in values.items():
            cells |= {f"{name}_{suffix}": value for name, value in measures.items()}
        cells |= _changes(row, values)
        cells["composite_w28"] = outcomes.get(row.composite.outcome) if row.composite else None
        rows.append(cells)
    return Table(
        "outcomes", "Outcomes at baseline, week 12 and week 28", _outcome_variables(), rows
    )


def tables(
    *, user: User, filters: ExportFilters, options: ExportOptions, today: date
) -> list[Table]:
    arguments = {"user": user, "filters": filters, "options": options, "today": today}
    return [participant_table(**arguments), outcome_table(**arguments)]


# --- Files --------------------------------------------------------------------------------


def _text(value: Any) -> str:
    from trialsite.units import format_decimal

    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_rows(table: Table) -> Iterator[list[str]]:
    """The table as CSV rows, header first (codes as integers, labelled in the dictionary)."""
    yield [variable.name for variable in table.variables]
    for row in table.rows:
        yield [_text(row[variable.name]) for variable in table.variables]


def dictionary_rows(table: Table, code: str) -> Iterator[list[str]]:
    """The dictionary's rows of an analysis table (exports/dictionary.py's columns)."""
    for variable in table.variables:
        allowed = "; ".join(f"{number}={label}" for number, label in variable.values.items())
        yield [
            code,
            variable.name,
            variable.label,
            variable.kind,
            "",
            allowed,
            variable.derivation,
            variable.name,
        ]


def _frame(table: Table, *, short: bool):
    import pandas as pd

    data = {}
    for variable in table.variables:
        values = [row[variable.name] for row in table.rows]
        if variable.kind in ("integer", "float"):
            values = [None if v is None else float(v) for v in values]
        elif variable.kind == "text":
            values = ["" if v is None else str(v) for v in values]
        data[variable.short if short else variable.name] = pd.Series(
            values, dtype="float64" if variable.kind in ("integer", "float") else "object"
        )
    return pd.DataFrame(data)


def write_table_files(table: Table, directory: Path) -> list[Path]:
    """The table as .sav, .dta and .xpt (v5: 8-character names, 40-character labels)."""
    import pyreadstat

    labels = [variable.label for variable in table.variables]
    values = {v.name: dict(v.values) for v in table.variables if v.values}
    frame = _frame(table, short=False)
    sav, dta, xpt = (directory / f"{table.name}.{suffix}" for suffix in ("sav", "dta", "xpt"))
    pyreadstat.write_sav(
        frame, sav, file_label=table.label, column_labels=labels, variable_value_labels=values
    )
    pyreadstat.write_dta(
        frame, dta, file_label=table.label[:80], column_labels=labels, variable_value_labels=values
    )
    pyreadstat.write_xport(
        _frame(table, short=True),
        xpt,
        file_label=table.label[:XPT_LABEL],
        column_labels=[label[:XPT_LABEL] for label in labels],
        table_name=table.name[:XPT_NAME].upper(),
        file_format_version=5,
        variable_format={v.short: v.sas_format for v in table.variables if v.values},
    )
    return [sav, dta, xpt]


def _sas_text(text: str) -> str:
    """A SAS string literal: single quotes, an inner quote doubled."""
    return "'" + text.replace("'", "''") + "'"


def sas_formats(all_tables: list[Table]) -> str:
    """formats.sas: the value labels of the .xpt files (transport files hold none)."""
    lines = ["/* Value labels of the .xpt files: run before using them. */", "PROC FORMAT;"]
    seen: set[str] = set()
    for table in all_tables:
        for variable in table.variables:
            if variable.values and variable.sas_format not in seen:
                seen.add(variable.sas_format)
                pairs = " ".join(
                    f"{number}={_sas_text(label)}" for number, label in variable.values.items()
                )
                lines.append(f"  VALUE {variable.sas_format[:-1]} {pairs};")
    lines.append("RUN;")
    for table in all_tables:
        member = table.name[:XPT_NAME].upper()
        lines += [
            f"LIBNAME x XPORT '{table.name}.xpt';",
            f"DATA {member}; SET x.{member};",
            *[f"  LABEL {v.short}={_sas_text(v.label[:256])};" for v in table.variables],
            *[f"  FORMAT {v.short} {v.sas_format};" for v in table.variables if v.values],
            "RUN;",
        ]
    return "\n".join(lines) + "\n"


README = """Statistics-package files of the analysis-ready tables (issue 18)

particip.sav / .dta / .xpt: one row per participant (age, sex, site, Day 0, first and last
  infusion and number of infusions per drug, disposition and reason, flags enrolled,
  treated, completed week 28).
outcomes.sav / .dta / .xpt: one row per participant, the outcome measures at baseline,
  week 12 and week 28 and their change from baseline, the week 28 composite response.

Values are the application's own (the treatment engine's course, the outcome review).
SPSS and Stata files carry variable labels and value labels. SAS transport files (v5)
carry 8-character names and labels of at most 40 characters; formats.sas defines their
value labels (PROC FORMAT), assigns them and gives the full labels. The same tables are
in the CSV bundle (analysis_participants.csv, analysis_outcomes.csv) with the long names.
"""


def write_stats(
    path: Path,
    *,
    filters: ExportFilters,
    options: ExportOptions,
    started_at: Any,
    software_version: str,
    user: User,
    progress: Any = lambda rows_done: None,
) -> tuple[dict[str, int], set[str]]:
    """The statistics bundle (.zip); returns rows per table and the subject IDs in it."""
    import tempfile

    from django.utils import timezone

    today = timezone.localdate(started_at)
    made = tables(user=user, filters=filters, options=options, today=today)
    with (
        tempfile.TemporaryDirectory() as directory,
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for table in made:
            for file in write_table_files(table, Path(directory)):
                archive.write(file, file.name)
            progress(len(table.rows))
        archive.writestr("formats.sas", sas_formats(made))
        text = io.StringIO()
        text.write(README)
        text.write(f"\nExported at: {started_at.isoformat()} (UTC)\n")
        text.write(f"Software version: {software_version}\n")
        text.write(f"Dates shifted (de-identified): {'yes' if options.shift_dates else 'no'}\n")
        archive.writestr("README.txt", text.getvalue())
    counts = {table.name: len(table.rows) for table in made}
    subjects = {row["subject_id"] for table in made for row in table.rows}
    return counts, subjects
