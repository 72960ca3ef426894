"""Reads for the crf pages and the panels it contributes to shared pages.

Everything that lists several participants or visits reads in a fixed number of queries
(one per table), whatever the number of rows: the form-status matrix and the outcome
review are checked with query-count tests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crf import charts
from crf.essdai import EssdaiScore
from crf.expected import (
    FULL_SET,
    CellStatus,
    CrfKind,
    FormStatus,
    VisitForms,
    entry_due_by,
    expected_crfs,
    form_status,
    offered_crfs,
)
from crf.glucocorticoids import (
    counts_towards_dose,
    is_glucocorticoid,
    prednisone_equivalent_mg_per_day,
    prednisone_equivalent_mg_per_kg_per_day,
)
from crf.models import (
    AdverseEvent,
    ConcomitantMedication,
    EssdaiAssessment,
    EsspriAssessment,
    GlandFunction,
    PhysicianGlobal,
    SafetyReview,
    SeriousAeAlert,
    VisitCrf,
    VisitFormsState,
    Vitals,
)
from crf.outcomes import (
    ChangeSummary,
    CompositeMeasurements,
    CompositeResponse,
    EssdaiChange,
    EsspriChange,
    EsspriScore,
    ParticipantScores,
    ResponseOutcome,
    composite_response,
    essdai_change,
    esspri_change,
    summarise_essdai_change,
    summarise_esspri_change,
)
from dosing import engine
from dosing.models import (
    BCellResult,
    CourseEvent,
    Deviation,
    Drug,
    Infusion,
    LabAnalyte,
    LabResult,
    Visit,
)
from dosing.selectors import stored_events_of
from enrollment.models import Participant
from enrollment.rules import ACTIVE_STATUSES, ParticipantStatus
from trialsite import access, ctcae, protocol, reference_ranges, roles, units, workflow
from trialsite.dates import study_day
from trialsite.models import User
from trialsite.protocol import CRF_ENTRY_DAYS
from trialsite.roles import Role

# One model per visit form (labs and B cells are read differently).
VISIT_CRF_MODELS: dict[CrfKind, type[VisitCrf]] = {
    CrfKind.VITALS: Vitals,
    CrfKind.ESSDAI: EssdaiAssessment,
    CrfKind.ESSPRI: EsspriAssessment,
    CrfKind.PHYSICIAN_GLOBAL: PhysicianGlobal,
    CrfKind.GLANDS: GlandFunction,
    CrfKind.SAFETY_REVIEW: SafetyReview,
}
LAB_PANEL: frozenset[str] = frozenset(LabAnalyte.values)
BASELINE = protocol.BASELINE_VISIT_CODE
WEEK_12 = protocol.WEEK_12_VISIT_CODE
WEEK_28 = protocol.WEEK_28_VISIT_CODE
OUTCOME_TIME_POINTS: tuple[str, ...] = (BASELINE, WEEK_12, WEEK_28)
# The labs of the composite response (ESR, IgG, RF) and the outcome table (C4).
OUTCOME_ANALYTES: tuple[str, ...] = ("esr", "igg", "rf", "c4")


class _VisitFacts(NamedTuple):
    """The four columns of a visit that its forms' status needs (no model instance)."""

    pk: int
    participant_id: int
    visit_code: str
    visit_date: date


# Where only these columns are read: a visit or its facts.
VisitLike = Visit | _VisitFacts


def can_review_outcomes(user: User) -> bool:
    """Outcome review is for investigators and data managers (issue 6).

    Coordinators and monitors see every value on the visit pages but not the efficacy
    analysis: it is the investigators' and the data managers' work, and keeping the
    page to them keeps interim results from steering data entry.
    """
    return user.is_authenticated and (
        user.has_role(Role.INVESTIGATOR) or user.has_role(Role.DATA_MANAGER)
    )


# --- One visit ------------------------------------------------------------------------


def visit_labs(visit: Visit, *, lock: bool = False) -> dict[str, LabResult]:
    """The current result per test at a visit (the latest when several were entered)."""
    labs = LabResult.objects.active().filter(visit=visit).order_by("taken_on", "pk")
    if lock:
        labs = labs.select_for_update()
    return {lab.analyte: lab for lab in labs}


def visit_record(visit: Visit, kind: CrfKind) -> VisitCrf | None:
    """The current form of that kind at a visit, if entered."""
    return VISIT_CRF_MODELS[kind].objects.active().filter(visit=visit).first()


def _b_cells_at(
    visits: list[Visit], of_participants: QuerySet[Participant] | None = None
) -> dict[int, list[BCellResult]]:
    """B-cell results per visit pk: linked to the visit, or of the same participant that day.

    (The baseline and the first rituximab share Day 0: a result that day counts for both.)
    """
    if not visits:
        return {}
    by_pk = {v.pk for v in visits}
    by_day = _visits_by_day(visits)
    by_visit: dict[int, list[BCellResult]] = defaultdict(list)
    for result in _b_cell_results(visits, of_participants).order_by("taken_on", "pk"):
        pks = by_day.get((result.participant_id, result.taken_on), set()) | {result.visit_id}
        for pk in sorted(pks & by_pk):
            by_visit[pk].append(result)
    return by_visit


def _visits_by_day(visits: Sequence[VisitLike]) -> dict[tuple[int, date], set[int]]:
    by_day: dict[tuple[int, date], set[int]] = defaultdict(set)
    for v in visits:
        by_day[(v.participant_id, v.visit_date)].add(v.pk)
    return by_day


def _b_cell_results(
    visits: Sequence[VisitLike], of_participants: QuerySet[Participant] | None
) -> QuerySet[BCellResult]:
    """The B-cell results that may belong to ``visits`` (see ``_b_cells_at``)."""
    if of_participants is not None:
        return BCellResult.objects.active().filter(participant__in=of_participants)
    return BCellResult.objects.active().filter(
        Q(visit_id__in=[v.pk for v in visits])
        | Q(
            participant__in={v.participant_id for v in visits},
            taken_on__in={v.visit_date for v in visits},
        )
    )


def _visits_with_b_cells(
    visits: Sequence[VisitLike], of_participants: QuerySet[Participant] | None = None
) -> set[int]:
    """The pks of ``visits`` that have a B-cell result (as ``_b_cells_at`` pairs them:
    linked to the visit, or of the same participant that day), reading three columns
    rather than whole results."""
    if not visits:
        return set()
    by_pk = {v.pk for v in visits}
    found: set[int] = set()
    days: set[tuple[int, date]] = set()
    for pid, taken_on, visit_id in _b_cell_results(visits, of_participants).values_list(
        "participant_id", "taken_on", "visit_id"
    ):
        days.add((pid, taken_on))
        if visit_id in by_pk:
            found.add(visit_id)
    found.update(v.pk for v in visits if (v.participant_id, v.visit_date) in days)
    return found


def visit_forms(
    visits: Sequence[VisitLike], *, of_participants: QuerySet[Participant] | None = None
) -> dict[int, VisitForms]:
    """What each visit expects and has, in one query per form table.

    ``of_participants``, the queryset the visits come from, when there are many: the forms
    are then selected by a join on it rather than by a list of thousands of visit ids
    (the same answer; issue 10 measured the id lists at seconds on the dashboard).
    """
    if of_participants is None:
        scope, lab_scope = {"visit_id__in": [v.pk for v in visits]}, {}
    else:
        scope = {"visit__participant__in": of_participants}
        lab_scope = {"participant__in": of_participants, "visit__isnull": False}
    # Plain dicts, not defaultdicts: reading one for each of thousands of visits must not
    # create an empty set for every visit without forms.
    complete: dict[int, set[CrfKind]] = {}
    partial: dict[int, set[CrfKind]] = {}
    for kind, model in VISIT_CRF_MODELS.items():
        for visit_id in model.objects.active().filter(**scope).values_list("visit_id", flat=True):
            complete.setdefault(visit_id, set()).add(kind)
    # How many of the panel's tests each visit has, counted by the database (a visit has
    # 15 lab rows: reading them all for thousands of visits was the slow part).
    for visit_id, found in (
        LabResult.objects.active()
        .filter(**(lab_scope or scope), analyte__in=LAB_PANEL)
        .values("visit_id")
        .annotate(tests=Count("analyte", distinct=True))
        .values_list("visit_id", "tests")
        .order_by()
    ):
        (complete if found >= len(LAB_PANEL) else partial).setdefault(visit_id, set()).add(
            CrfKind.LABS
        )
    for visit_id in _visits_with_b_cells(visits, of_participants):
        complete.setdefault(visit_id, set()).add(CrfKind.B_CELLS)
    expected: dict[str, tuple[CrfKind, ...]] = {}  # per visit code, not per visit
    for v in visits:
        if v.visit_code not in expected:
            expected[v.visit_code] = expected_crfs(v.visit_code)
    none: frozenset[CrfKind] = frozenset()
    return {
        v.pk: VisitForms(
            expected=expected[v.visit_code],
            complete=frozenset(complete.get(v.pk, none)),
            partial=frozenset(partial.get(v.pk, none)),
            visit_date=v.visit_date,
        )
        for v in visits
    }


@dataclass(frozen=True)
class LabRow:
    analyte: str
    name: str
    lab: LabResult | None
    unit: str
    flag: reference_ranges.LabFlag | None
    range: reference_ranges.ReferenceRange

    @property
    def grade(self) -> ctcae.LabGrade | None:
        """The CTCAE v5 grade of the abnormality, where CTCAE grades this test's value."""
        if self.lab is None or self.flag is None:
            return None
        return ctcae.lab_grade(self.analyte, self.lab.value, self.flag.range)

    @property
    def ae_prompt(self) -> str:
        grade = self.grade
        if grade is None or not grade.prompts_ae:
            return ""
        return _("Grade %(grade)s %(term)s: record an adverse event?") % {
            "grade": grade.grade,
            "term": str(grade.term).lower(),
        }

    @property
    def ae_query(self) -> str:
        """The AE form's prefill for the prompt: term, grade, onset on the date of sample."""
        grade = self.grade
        if grade is None or self.lab is None:
            return ""
        return urlencode(
            {"term": str(grade.term), "grade": grade.grade, "onset_date": self.lab.taken_on}
        )

    @property
    def value(self) -> str:
        return units.format_number(self.lab.value) if self.lab else ""

    @property
    def as_entered(self) -> str:
        """The value as the laboratory reported it, when that was another unit."""
        if self.lab is None:
            return ""
        analyte = units.get_analyte(self.analyte)
        if self.lab.unit_entered == analyte.canonical_unit.key:
            return ""
        try:
            label = analyte.unit(self.lab.unit_entered).label
        except units.UnitError:
            label = self.lab.unit_entered
        return units.format_measure(self.lab.value_entered, label)


@dataclass(frozen=True)
class FormRow:
    kind: CrfKind
    expected: bool
    status: FormStatus
    record: Any
    url: str | None  # the form to enter or correct (None: entered elsewhere)
    summary: str

    @property
    def history_url(self) -> str | None:
        if self.record is None:
            return None
        return reverse("record_history", args=["crf", self.record._meta.model_name, self.record.pk])


def _form_summary(kind: CrfKind, record: Any) -> str:
    if record is None:
        return ""
    if kind is CrfKind.ESSDAI:
        score = record.score
        return _("%(total)s (%(category)s)") % {
            "total": score.total,
            "category": score.category.label,
        }
    if kind is CrfKind.ESSPRI:
        return _("%(score)s (mean of %(d)s, %(f)s, %(p)s)") % {
            "score": record.score.score,
            "d": record.dryness,
            "f": record.fatigue,
            "p": record.pain,
        }
    if kind is CrfKind.PHYSICIAN_GLOBAL:
        return units.format_number(record.score)
    if kind is CrfKind.GLANDS:
        return _("Schirmer %(schirmer)s mm/5 min; saliva %(saliva)s mL/15 min") % {
            "schirmer": _blank(record.schirmer_mm_5min),
            "saliva": _blank(record.unstimulated_saliva_ml_15min),
        }
    if kind is CrfKind.VITALS:
        return _("%(weight)s kg, %(height)s cm, %(temp)s °C, %(sys)s/%(dia)s mmHg") % {
            "weight": units.format_number(record.weight_kg),
            "height": units.format_number(record.height_cm),
            "temp": units.format_number(record.temperature_c),
            "sys": record.systolic_mmhg,
            "dia": record.diastolic_mmhg,
        }
    if kind is CrfKind.SAFETY_REVIEW:
        return _("reviewed; new events: %(ae)s; medication changes: %(cm)s") % {
            "ae": _("yes") if record.new_adverse_events else _("no"),
            "cm": _("yes") if record.medication_changes else _("no"),
        }
    return ""


def _blank(value: object) -> str:
    return "—" if value is None else units.format_number(value)


def lab_rows(labs: dict[str, LabResult], visit: Visit) -> list[LabRow]:
    """Every test of the panel with its value and its flag against the child's reference
    range (age at the sample, sex, site laboratory)."""
    participant = visit.participant
    rows = []
    for analyte in LabAnalyte:
        lab = labs.get(analyte.value)
        facts = participant.lab_facts(lab.taken_on if lab else visit.visit_date)
        rows.append(
            LabRow(
                analyte=analyte.value,
                name=str(analyte.label),
                lab=lab,
                unit=units.unit_text(reference_ranges.UNITS[analyte.value]),
                flag=None if lab is None else facts.flag(analyte.value, lab.value),
                range=facts.range(analyte.value),
            )
        )
    return rows


def next_form_url(visit: Visit, after: CrfKind) -> str:
    """Where "Save and continue" leads from the form ``after``: the next form the visit
    expects (any form at an unscheduled visit) that is not complete yet, in the order of
    the visit page; the visit page once none is left."""
    forms = visit_forms([visit])[visit.pk]
    candidates = forms.expected or offered_crfs(visit.visit_code)
    for kind in FULL_SET[FULL_SET.index(after) + 1 :]:
        if kind not in candidates or kind in forms.complete or kind is CrfKind.B_CELLS:
            continue
        if kind is CrfKind.LABS:
            return reverse("crf:visit_labs", args=[visit.pk])
        return reverse("crf:visit_form", args=[visit.pk, kind.value])
    return reverse("crf:visit", args=[visit.pk])


def visit_page(visit: Visit, user: User, today: date) -> dict[str, Any]:
    """Everything the visit page shows: its forms with status and links, labs, B cells."""
    forms = visit_forms([visit])[visit.pk]
    records = {kind: visit_record(visit, kind) for kind in VISIT_CRF_MODELS}
    labs = visit_labs(visit)
    b_cells = _b_cells_at([visit]).get(visit.pk, [])
    rows_of_labs = lab_rows(labs, visit)
    summaries = {
        CrfKind.LABS: _("%(n)s of %(total)s tests; %(flagged)s outside the reference range")
        % {
            "n": len(labs),
            "total": len(LAB_PANEL),
            "flagged": sum(1 for row in rows_of_labs if row.flag and row.flag.flag),
        }
        if labs
        else "",
        CrfKind.B_CELLS: ngettext("%(n)s result", "%(n)s results", len(b_cells))
        % {"n": len(b_cells)}
        if b_cells
        else "",
    }
    rows = []
    offered = offered_crfs(visit.visit_code)
    for kind in FULL_SET:
        expected = kind in forms.expected
        entered = kind in forms.complete or kind in forms.partial
        if kind not in offered and not entered:
            continue
        status = form_status(
            expected=expected,
            complete=kind in forms.complete,
            partial=kind in forms.partial,
            visit_date=visit.visit_date,
            today=today,
        )
        if kind is CrfKind.B_CELLS:
            url = None
        elif kind is CrfKind.LABS:
            url = reverse("crf:visit_labs", args=[visit.pk])
        else:
            url = reverse("crf:visit_form", args=[visit.pk, kind.value])
        rows.append(
            FormRow(
                kind=kind,
                expected=expected,
                status=status,
                record=records.get(kind),
                url=url,
                summary=summaries.get(kind) or _form_summary(kind, records.get(kind)),
            )
        )
    essdai = records[CrfKind.ESSDAI]
    return {
        "visit": visit,
        "participant": visit.participant,
        "forms": forms,
        "form_rows": rows,
        "entry_due_by": entry_due_by(visit.visit_date),
        "lab_rows": rows_of_labs,
        "labs_entered": bool(labs),
        "b_cells": [(r, engine.b_cell_depleted(r.as_fact())) for r in b_cells],
        "essdai": essdai,
        "essdai_score": essdai.score if essdai else None,
        "deviations": list(
            Deviation.objects.active().filter(
                participant=visit.participant, visit_code=visit.visit_code
            )
        ),
        # A locked visit links to no edit page (they refuse it): its forms are read-only.
        "can_write": access.can_write(user) and not workflow.refused(visit),
    }


# --- Form status across participants ------------------------------------------------------

_EVENT_CELL = {
    engine.EventStatus.PLANNED: CellStatus.NOT_YET,
    engine.EventStatus.DUE: CellStatus.VISIT_DUE,
    engine.EventStatus.OVERDUE: CellStatus.VISIT_OVERDUE,
    engine.EventStatus.NOT_RECORDED: CellStatus.VISIT_OVERDUE,
    engine.EventStatus.MISSED: CellStatus.VISIT_MISSED,
    engine.EventStatus.NOT_NEEDED: CellStatus.NOT_APPLICABLE,
}


@dataclass(frozen=True)
class MatrixCell:
    code: str
    status: CellStatus
    visit: Visit | None
    n_complete: int = 0
    n_expected: int = 0
    missing: tuple[CrfKind, ...] = ()
    target: date | None = None

    @property
    def url(self) -> str | None:
        return reverse("crf:visit", args=[self.visit.pk]) if self.visit else None

    @property
    def title(self) -> str:
        if self.missing:
            return _("Missing: %(forms)s") % {
                "forms": ", ".join(str(kind.label) for kind in self.missing)
            }
        if self.target and self.visit is None:
            return _("Target %(date)s") % {"date": self.target.isoformat()}
        return str(self.status.label)


@dataclass(frozen=True)
class MatrixRow:
    participant: Participant
    cells: tuple[MatrixCell | None, ...]  # one per column; None: not in this schedule


@dataclass(frozen=True)
class FormStatusMatrix:
    columns: tuple[str, ...]
    rows: tuple[MatrixRow, ...]
    counts: dict[str, int]  # CellStatus value -> number of cells

    @property
    def attention(self) -> list[tuple[Participant, MatrixCell]]:
        """Visits whose forms are overdue, then those with forms to enter."""
        cells = [
            (row.participant, cell)
            for row in self.rows
            for cell in row.cells
            if cell is not None and cell.status in (CellStatus.OVERDUE, CellStatus.MISSING)
        ]
        return sorted(
            cells, key=lambda pc: (pc[1].status != CellStatus.OVERDUE, pc[1].visit.visit_date)
        )


def _column_order(courses: Iterable[list[CourseEvent]]) -> tuple[str, ...]:
    first_day: dict[str, tuple[int, int]] = {}
    for events in courses:
        for event in events:
            kind_order = 0 if event.kind == engine.EventKind.ASSESSMENT else 1
            key = (event.target_day, kind_order)
            if event.visit_code not in first_day or key < first_day[event.visit_code]:
                first_day[event.visit_code] = key
    return tuple(sorted(first_day, key=lambda code: (first_day[code], code)))


def _entry_closed(participant: Participant) -> bool:
    return participant.status == ParticipantStatus.WITHDRAWN


def participants_for(user: User, *, site_code: str = "") -> QuerySet[Participant]:
    participants = access.scoped(
        Participant.objects.active().select_related("site"), user
    ).order_by("site__code", "sequence")
    if site_code:
        participants = participants.filter(site__code=site_code)
    return participants


def _visit_cell(
    participant: Participant, code: str, visit: Visit, forms: VisitForms, today: date
) -> MatrixCell:
    """The cell of a visit that took place: the status of its forms."""
    return MatrixCell(
        code=code,
        status=forms.status(today, closed=_entry_closed(participant)),
        visit=visit,
        n_complete=forms.n_complete,
        n_expected=len(forms.expected),
        missing=forms.missing,
    )


def form_status_matrix(user: User, today: date, *, site_code: str = "") -> FormStatusMatrix:
    """Participants × scheduled visits: whether each visit's expected forms are entered."""
    participants = participants_for(user, site_code=site_code)
    stored = stored_events_of(participants, today)
    pairs = [(p, stored.get(p.pk, [])) for p in participants]
    visits = list(
        Visit.objects.active().filter(participant__in=participants).order_by("visit_date", "pk")
    )
    by_code = {(v.participant_id, v.visit_code): v for v in visits}
    forms = visit_forms(visits, of_participants=participants)
    columns = _column_order(events for _p, events in pairs)
    counts: dict[str, int] = defaultdict(int)
    rows = []
    for participant, course in pairs:
        events = {e.visit_code: e for e in course}
        cells: list[MatrixCell | None] = []
        for code in columns:
            event = events.get(code)
            visit = by_code.get((participant.pk, code))
            if event is None and visit is None:
                cells.append(None)
                continue
            if visit is not None:
                cell = _visit_cell(participant, code, visit, forms[visit.pk], today)
            elif participant.status not in ACTIVE_STATUSES:
                cell = MatrixCell(code=code, status=CellStatus.NOT_APPLICABLE, visit=None)
            else:
                cell = MatrixCell(
                    code=code,
                    status=_EVENT_CELL.get(event.status, CellStatus.NOT_APPLICABLE),
                    visit=None,
                    target=event.target,
                )
            counts[cell.status.value] += 1
            cells.append(cell)
        rows.append(MatrixRow(participant=participant, cells=tuple(cells)))
    return FormStatusMatrix(columns=columns, rows=tuple(rows), counts=dict(counts))


# How many cells to act on the dashboard lists (the counts are always complete).
ATTENTION_LENGTH = 8


def _cell_today(today: date) -> Case:
    """A visit's cell status on ``today`` from its stored form completeness: the rules of
    ``crf.expected.VisitForms.status``, in SQL (tests/test_crf_status.py holds them equal)."""
    return Case(
        When(n_complete__gte=F("n_expected"), then=Value(CellStatus.COMPLETE.value)),
        When(participant__status=ParticipantStatus.WITHDRAWN, then=Value(CellStatus.CLOSED.value)),
        When(
            visit_date__lt=today - timedelta(days=CRF_ENTRY_DAYS),
            then=Value(CellStatus.OVERDUE.value),
        ),
        default=Value(CellStatus.MISSING.value),
        output_field=CharField(),
    )


def visit_cells(user: User, today: date) -> FormStatusMatrix:
    """The dashboard's counts of the visits that took place by the state of their forms,
    and the first cells to act on (overdue, then to enter), read from the stored form
    completeness (``VisitFormsState``) in SQL: a few queries however many visits."""
    states = (
        access.scoped(VisitFormsState.objects.all(), user)
        .filter(
            n_expected__gt=0,
            visit__voided_at__isnull=True,
            participant__voided_at__isnull=True,
        )
        .annotate(cell=_cell_today(today))
    )
    counts = dict(states.order_by().values("cell").annotate(n=Count("pk")).values_list("cell", "n"))
    attention = (
        states.filter(cell__in=[CellStatus.OVERDUE, CellStatus.MISSING])
        .annotate(later=Case(When(cell=CellStatus.OVERDUE, then=0), default=1))
        .select_related("participant__site", "visit")
        .order_by("later", "visit_date", "visit_id")[:ATTENTION_LENGTH]
    )
    rows = tuple(
        MatrixRow(
            participant=state.participant,
            cells=(
                MatrixCell(
                    code=state.visit_code,
                    status=CellStatus(state.cell),
                    visit=state.visit,
                    n_complete=state.n_complete,
                    n_expected=state.n_expected,
                    missing=tuple(CrfKind(kind) for kind in state.missing),
                ),
            ),
        )
        for state in attention
    )
    return FormStatusMatrix(columns=(), rows=rows, counts=counts)


# --- Serious AE alerts ---------------------------------------------------------------------


def open_alerts(user: User) -> QuerySet[SeriousAeAlert]:
    """Serious-AE alerts sent to ``user`` that they have not acknowledged yet."""
    return (
        access.scoped(SeriousAeAlert.objects.all(), user)
        .filter(recipients=user, adverse_event__voided_at__isnull=True)
        .exclude(acknowledgements__user=user)
        .select_related("adverse_event__participant__site", "raised_by")
        .order_by("-raised_at")
    )


# --- Weights and glucocorticoids -------------------------------------------------------------


@dataclass(frozen=True)
class Weight:
    on: date
    kg: Decimal
    source: str


def weights_for(
    participant_ids: Iterable[int] | QuerySet[Participant],
) -> dict[int, list[Weight]]:
    """Every weight measured (vitals and infusion records), per participant, oldest first.

    ``participant_ids``: ids, or a queryset of participants (selected by a subquery)."""
    ids = participant_ids if isinstance(participant_ids, QuerySet) else list(participant_ids)
    weights: dict[int, list[Weight]] = defaultdict(list)
    # Translated once, not per row (tens of thousands of rows on the outcome review).
    from_vitals, from_infusion = _("vitals"), _("infusion record")
    for pid, on, kg in (
        Vitals.objects.active()
        .filter(visit__participant_id__in=ids)
        .values_list("visit__participant_id", "visit__visit_date", "weight_kg")
    ):
        weights[pid].append(Weight(on, kg, from_vitals))
    for pid, on, kg in (
        Infusion.objects.active()
        .filter(participant_id__in=ids)
        .values_list("participant_id", "anthropometry_measured_on", "weight_kg")
    ):
        weights[pid].append(Weight(on, kg, from_infusion))
    for rows in weights.values():
        rows.sort(key=lambda w: w.on)
    return weights


def weight_on(weights: list[Weight], day: date) -> Weight | None:
    """The latest weight measured on or before ``day``."""
    before = [w for w in weights if w.on <= day]
    return before[-1] if before else None


@dataclass(frozen=True)
class ConMedRow:
    medication: ConcomitantMedication
    glucocorticoid: bool
    mg_per_day: Decimal | None
    mg_per_kg_per_day: Decimal | None
    weight: Weight | None
    reference_day: date
    not_systemic: bool = False  # a glucocorticoid by a local route: not counted


def con_med_row(med: ConcomitantMedication, weights: list[Weight], today: date) -> ConMedRow:
    """A con-med with its prednisone equivalent (glucocorticoids; weight of the latest day)."""
    reference_day = min(med.stop_date or today, today)
    gc = counts_towards_dose(med.drug, med.route)
    mg_day = mg_kg_day = None
    weight = weight_on(weights, reference_day) if gc else None
    if gc and med.dose_mg is not None and med.frequency in _regular_frequencies():
        mg_day = prednisone_equivalent_mg_per_day(med.drug, med.dose_mg, med.frequency)
        if weight is not None:
            mg_kg_day = prednisone_equivalent_mg_per_kg_per_day(
                med.drug, med.dose_mg, med.frequency, weight.kg
            )
    not_systemic = not gc and is_glucocorticoid(med.drug)
    return ConMedRow(med, gc, mg_day, mg_kg_day, weight, reference_day, not_systemic)


def _regular_frequencies() -> frozenset[str]:
    from crf.glucocorticoids import FREQUENCIES

    return frozenset(FREQUENCIES)


def glucocorticoid_mg_per_kg_on(
    meds: Iterable[ConcomitantMedication], weights: list[Weight], day: date
) -> Decimal | None:
    """Total prednisone-equivalent mg/kg/day of the glucocorticoids taken on ``day``.

    0 when none is taken; None when one is taken but no weight was measured by then.
    """
    weight = weight_on(weights, day)
    total = Decimal(0)
    for med in meds:
        if not (counts_towards_dose(med.drug, med.route) and med.taken_on(day)):
            continue
        if weight is None or med.dose_mg is None or med.frequency not in _regular_frequencies():
            return None
        total += prednisone_equivalent_mg_per_kg_per_day(
            med.drug, med.dose_mg, med.frequency, weight.kg
        )
    return total


def con_med_rows(participant: Participant, today: date) -> list[ConMedRow]:
    weights = weights_for([participant.pk]).get(participant.pk, [])
    meds = ConcomitantMedication.objects.filter(participant=participant).order_by(
        "voided_at", "-start_date", "pk"
    )
    return [con_med_row(med, weights, today) for med in meds]


# --- Participant page panel ---------------------------------------------------------------------


def participant_context(participant: Participant, user: User, today: date) -> dict[str, Any]:
    """Context for templates/crf/participant_panel.html on the participant page."""
    visits = list(
        Visit.objects.active().filter(participant=participant).order_by("visit_date", "pk")
    )
    forms = visit_forms(visits)
    events = AdverseEvent.objects.active().filter(participant=participant)
    meds = ConcomitantMedication.objects.active().filter(participant=participant)
    return {
        "crf": {
            "visits": [
                (v, forms[v.pk], forms[v.pk].status(today, closed=_entry_closed(participant)))
                for v in visits
            ],
            "n_adverse_events": events.count(),
            "n_serious": events.filter(serious=True).count(),
            "n_ongoing_meds": meds.filter(
                Q(stop_date__isnull=True) | Q(stop_date__gte=today)
            ).count(),
            "can_write": access.can_write(user),
        }
    }


def dashboard_context(user: User, today: date) -> dict[str, Any]:
    """Context for templates/crf/dashboard_panel.html on the dashboard."""
    if not user.has_perm(roles.VIEW):
        return {}
    matrix = visit_cells(user, today)
    return {
        "crf_alerts": list(open_alerts(user)),
        "crf_counts": matrix.counts,
        "crf_attention": matrix.attention[:ATTENTION_LENGTH],
        "crf_can_review_outcomes": can_review_outcomes(user),
    }


# --- Outcome review ---------------------------------------------------------------------


@dataclass
class TimePoint:
    """One participant's values at baseline, week 12 or week 28."""

    visit: Visit | None = None
    essdai: EssdaiScore | None = None
    esspri: EsspriScore | None = None
    physician_global: Decimal | None = None
    schirmer: Decimal | None = None
    saliva: Decimal | None = None
    labs: dict[str, Decimal] = field(default_factory=dict)
    glucocorticoid: Decimal | None = None

    def composite(self) -> CompositeMeasurements:
        return CompositeMeasurements(
            physician_global=self.physician_global,
            esr=self.labs.get("esr"),
            igg=self.labs.get("igg"),
            rf=self.labs.get("rf"),
            schirmer_mm=self.schirmer,
            salivary_flow=self.saliva,
        )


@dataclass
class OutcomeRow:
    participant: Participant
    points: dict[str, TimePoint]
    essdai_w12: EssdaiChange | None = None
    essdai_w28: EssdaiChange | None = None
    esspri_w12: EsspriChange | None = None
    esspri_w28: EsspriChange | None = None
    composite: CompositeResponse | None = None

    @property
    def baseline(self) -> TimePoint:
        return self.points[BASELINE]

    @property
    def week12(self) -> TimePoint:
        return self.points[WEEK_12]

    @property
    def week28(self) -> TimePoint:
        return self.points[WEEK_28]


# The outcome review's table, one page at a time (issue 10: one row per participant made a
# 5 MB page at 20,000 participants); its plots draw the participants of the page.
OUTCOME_ROWS_PER_PAGE = 50


@dataclass(frozen=True)
class OutcomeReview:
    rows: tuple[OutcomeRow, ...]  # the page's participants, every time point computed
    page: Page  # the page of participants (``rows`` in its ``object_list``)
    essdai_w28: ChangeSummary  # the summaries cover every participant at the user's sites
    essdai_w12: ChangeSummary
    esspri_w28: ChangeSummary
    esspri_w12: ChangeSummary
    n_responders: int
    n_composite_assessed: int  # participants with baseline and week-28 visits
    n_composite_determined: int  # of those, responder or non-responder: the denominator
    composite_undetermined: tuple[str, ...]  # subject IDs whose response is undetermined
    paired_plot: charts.PairedPlot
    b_cell_plot: charts.TrendPlot
    esr_upper_limit: Decimal


def _time_points(scope: QuerySet[Participant], participants: list[Participant]):
    """Each participant's visits and values at baseline, week 12 and week 28."""
    # The queries below select by a subquery on ``scope``, not by lists of thousands of
    # ids: the same rows, without building and sending the lists (issue 10).
    visit_scope = Visit.objects.active().filter(
        participant__in=scope, visit_code__in=OUTCOME_TIME_POINTS
    )
    points: dict[int, dict[str, TimePoint]] = {
        p.pk: {code: TimePoint() for code in OUTCOME_TIME_POINTS} for p in participants
    }
    by_pk = {}
    for visit in visit_scope.only("pk", "participant_id", "visit_code", "visit_date").order_by(
        "visit_date", "pk"
    ):
        points[visit.participant_id][visit.visit_code].visit = visit
        by_pk[visit.pk] = points[visit.participant_id][visit.visit_code]
    for record in EssdaiAssessment.objects.active().filter(visit__in=visit_scope):
        by_pk[record.visit_id].essdai = record.score
    for record in EsspriAssessment.objects.active().filter(visit__in=visit_scope):
        by_pk[record.visit_id].esspri = record.score
    for visit_id, score in (
        PhysicianGlobal.objects.active()
        .filter(visit__in=visit_scope)
        .values_list("visit_id", "score")
    ):
        by_pk[visit_id].physician_global = score
    for visit_id, schirmer, saliva in (
        GlandFunction.objects.active()
        .filter(visit__in=visit_scope)
        .values_list("visit_id", "schirmer_mm_5min", "unstimulated_saliva_ml_15min")
    ):
        by_pk[visit_id].schirmer, by_pk[visit_id].saliva = schirmer, saliva
    for visit_id, analyte, value in (
        LabResult.objects.active()
        .filter(visit__in=visit_scope, analyte__in=OUTCOME_ANALYTES)
        .order_by("taken_on", "pk")
        .values_list("visit_id", "analyte", "value")
    ):
        by_pk[visit_id].labs[analyte] = value
    return points


def outcome_rows(
    participants: list[Participant], scope: QuerySet[Participant], *, glucocorticoids: bool = True
) -> list[OutcomeRow]:
    """The outcome review's row of each of ``participants`` (read from ``scope``): every time
    point, the ESSDAI and ESSPRI changes and the week-28 composite response.

    The one computation of these: the review's table and its stored summary
    (``crf.models.OutcomeState``) both come from here."""
    points = _time_points(scope, participants)
    if glucocorticoids:
        weights = weights_for(scope)
        meds: dict[int, list[ConcomitantMedication]] = defaultdict(list)
        for med in ConcomitantMedication.objects.active().filter(participant__in=scope):
            meds[med.participant_id].append(med)
        for pid, by_code in points.items():
            for point in by_code.values():
                if point.visit is not None:
                    point.glucocorticoid = glucocorticoid_mg_per_kg_on(
                        meds[pid], weights.get(pid, []), point.visit.visit_date
                    )
    esr_upper = reference_ranges.reference_table()["esr"].upper
    rows = []
    for participant in participants:
        row = OutcomeRow(participant=participant, points=points[participant.pk])
        base = row.baseline
        for code, essdai_attr, esspri_attr in (
            (WEEK_12, "essdai_w12", "esspri_w12"),
            (WEEK_28, "essdai_w28", "esspri_w28"),
        ):
            follow = row.points[code]
            if base.essdai and follow.essdai:
                setattr(row, essdai_attr, essdai_change(base.essdai.total, follow.essdai.total))
            if base.esspri and follow.esspri:
                setattr(row, esspri_attr, esspri_change(base.esspri.mean, follow.esspri.mean))
        if base.visit is not None and row.week28.visit is not None:
            row.composite = composite_response(
                baseline=base.composite(), week28=row.week28.composite(), esr_upper_limit=esr_upper
            )
        rows.append(row)
    return rows


class _Stored(NamedTuple):
    """One participant's stored outcome numbers (``OutcomeState``; None where no row yet)."""

    subject_id: str
    essdai: tuple[int | None, int | None, int | None]
    esspri_sum: tuple[int | None, int | None, int | None]
    composite: str


_STORED_COLUMNS = (
    "subject_id",
    "outcome_state__essdai_baseline",
    "outcome_state__essdai_w12",
    "outcome_state__essdai_w28",
    "outcome_state__esspri_sum_baseline",
    "outcome_state__esspri_sum_w12",
    "outcome_state__esspri_sum_w28",
    "outcome_state__composite",
)


def _stored_outcomes(scope: QuerySet[Participant]) -> list[_Stored]:
    return [
        _Stored(row[0], row[1:4], row[4:7], row[7] or "")
        for row in scope.values_list(*_STORED_COLUMNS)
    ]


def _summary_scores(
    stored: list[_Stored], follow_up: int, *, essdai: bool
) -> list[ParticipantScores]:
    """Baseline and follow-up (index 1: week 12, 2: week 28) of each participant."""
    if essdai:
        return [ParticipantScores(s.subject_id, s.essdai[0], s.essdai[follow_up]) for s in stored]
    # The ESSPRI is the mean of its three scales, kept exact (``EsspriScore.mean``).
    return [
        ParticipantScores(
            s.subject_id,
            None if s.esspri_sum[0] is None else Decimal(s.esspri_sum[0]) / 3,
            None if s.esspri_sum[follow_up] is None else Decimal(s.esspri_sum[follow_up]) / 3,
        )
        for s in stored
    ]


def outcome_review(user: User, today: date, *, page: int | str = 1) -> OutcomeReview:
    """ESSDAI/ESSPRI before and after, the composite response and the trial summary.

    Only participants at the user's sites; every participant is listed, those without a
    time point as such (never silently dropped).  The summaries read the stored numbers of
    every participant; the table and the plots compute the page's participants in full.
    """
    scope = participants_for(user)
    stored = _stored_outcomes(scope)
    # Paged over the stored rows just read: no second count of the participants.
    shown = Paginator(stored, OUTCOME_ROWS_PER_PAGE).get_page(page)
    page_scope = scope.filter(subject_id__in=[s.subject_id for s in shown.object_list])
    page_participants = list(page_scope)
    rows = outcome_rows(page_participants, page_scope)
    shown.object_list = rows
    composites = [s.composite for s in stored if s.composite]
    return OutcomeReview(
        rows=tuple(rows),
        page=shown,
        essdai_w28=summarise_essdai_change(_summary_scores(stored, 2, essdai=True)),
        essdai_w12=summarise_essdai_change(_summary_scores(stored, 1, essdai=True)),
        esspri_w28=summarise_esspri_change(_summary_scores(stored, 2, essdai=False)),
        esspri_w12=summarise_esspri_change(_summary_scores(stored, 1, essdai=False)),
        n_responders=composites.count(ResponseOutcome.RESPONDER),
        n_composite_assessed=len(composites),
        n_composite_determined=sum(1 for c in composites if c != ResponseOutcome.UNDETERMINED),
        composite_undetermined=tuple(
            s.subject_id for s in stored if s.composite == ResponseOutcome.UNDETERMINED
        ),
        paired_plot=_paired_plot(rows),
        b_cell_plot=_b_cell_plot(page_participants, page_scope),
        esr_upper_limit=reference_ranges.reference_table()["esr"].upper,
    )


def _paired_plot(rows: list[OutcomeRow]) -> charts.PairedPlot:
    return charts.paired_plot(
        [
            charts.PairedSeries(
                label=row.participant.subject_id,
                values=tuple(
                    row.points[code].essdai.total if row.points[code].essdai else None
                    for code in OUTCOME_TIME_POINTS
                ),
                improved=row.essdai_w28.mcii if row.essdai_w28 else None,
            )
            for row in rows
        ],
        time_points=(_("Baseline"), _("Week 12"), _("Week 28")),
    )


def _b_cell_plot(participants: list[Participant], scope: QuerySet[Participant]) -> charts.TrendPlot:
    """CD19⁺ absolute counts over study days, one line per participant (SCH2 line at 20).

    ``scope``: the queryset ``participants`` were read from (selected by a subquery)."""
    day_0 = {p.pk: p.planned_day_0 for p in participants}
    for pid, given_on in (
        Infusion.objects.active()
        .filter(participant__in=scope, drug=Drug.RITUXIMAB)
        .order_by("-given_on")
        .values_list("participant_id", "given_on")
    ):
        day_0[pid] = given_on  # ordered newest first: the first rituximab wins (Day 0)
    series: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for result in (
        BCellResult.objects.active()
        .filter(participant__in=scope)
        .order_by("taken_on")
        .only("participant_id", "taken_on", "cd19_percent", "cd19_absolute", "lymphocytes_10e9_l")
    ):
        count, _derived = engine.b_cell_absolute(result.as_fact())
        if count is not None:
            series[result.participant_id].append(
                (study_day(result.taken_on, day_0[result.participant_id]), count)
            )
    return charts.trend_plot(
        [
            charts.TrendSeries(label=p.subject_id, points=tuple(series[p.pk]))
            for p in participants
            if series[p.pk]
        ]
    )
