"""Which CRFs each visit expects, and the status of a visit's forms: the one place.

PROTOCOL.md "Visits and assessments": the baseline visit (Day 0) and the week 12 and week
28 assessment visits collect the full set (ESSDAI, ESSPRI, physician global, labs with CD19
B cells, Schirmer and salivary flow, weight/height/vitals); every infusion visit collects
vitals and weight and reviews the adverse-event and concomitant-medication logs.
Unscheduled visits expect nothing and accept any form.

Pure: visit codes, sets of completed forms and dates in, statuses out; no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

from trialsite.protocol import (
    ASSESSMENT_VISITS,
    BASELINE_VISIT_CODE,
    BELIMUMAB_VISIT_PREFIX,
    CRF_ENTRY_DAYS,
    RITUXIMAB_VISIT_PREFIX,
)


class CrfKind(TextChoices):
    """The forms a visit can carry, in the order the visit page lists them."""

    VITALS = "vitals", _("Vitals, weight and height")
    ESSDAI = "essdai", _("ESSDAI")
    ESSPRI = "esspri", _("ESSPRI")
    PHYSICIAN_GLOBAL = "physician_global", _("Physician global assessment")
    GLANDS = "glands", _("Schirmer test and salivary flow")
    LABS = "labs", _("Laboratory tests")
    # Recorded with the dosing app's B-cell results (dosing.BCellResult), shown here.
    B_CELLS = "b_cells", _("CD19⁺ B cells")
    SAFETY_REVIEW = "safety_review", _("Adverse events and medication reviewed")


FULL_SET: tuple[CrfKind, ...] = tuple(CrfKind)
INFUSION_SET: tuple[CrfKind, ...] = (CrfKind.VITALS, CrfKind.SAFETY_REVIEW)
ASSESSMENT_VISIT_CODES: frozenset[str] = frozenset(code for code, _day in ASSESSMENT_VISITS)


def expected_crfs(visit_code: str) -> tuple[CrfKind, ...]:
    """The CRFs a visit with this schedule code must have."""
    if visit_code == BASELINE_VISIT_CODE or visit_code in ASSESSMENT_VISIT_CODES:
        return FULL_SET
    if visit_code.startswith((RITUXIMAB_VISIT_PREFIX, BELIMUMAB_VISIT_PREFIX)):
        return INFUSION_SET
    return ()


def offered_crfs(visit_code: str) -> tuple[CrfKind, ...]:
    """The CRFs a visit may carry: the expected ones, plus pre-dose labs at an infusion
    visit ("pre-dose labs as needed") and anything at an unscheduled visit."""
    expected = expected_crfs(visit_code)
    if expected == INFUSION_SET:
        return tuple(k for k in CrfKind if k in expected or k in (CrfKind.LABS, CrfKind.B_CELLS))
    return FULL_SET


class FormStatus(TextChoices):
    COMPLETE = "complete", _("complete")
    PARTIAL = "partial", _("partly entered")
    MISSING = "missing", _("to enter")
    OVERDUE = "overdue", _("overdue")
    OPTIONAL = "optional", _("optional")


class CellStatus(TextChoices):
    """One participant × visit cell of the form-status matrix."""

    COMPLETE = "complete", _("complete")
    MISSING = "missing", _("to enter")
    OVERDUE = "overdue", _("overdue")
    # Consent withdrawn: what is missing can no longer be entered (not "overdue").
    CLOSED = "closed", _("entry closed")
    NOTHING_EXPECTED = "nothing_expected", _("nothing expected")
    NOT_YET = "not_yet", _("not yet")
    VISIT_DUE = "visit_due", _("visit due")
    VISIT_OVERDUE = "visit_overdue", _("visit overdue")
    VISIT_MISSED = "visit_missed", _("visit missed")
    NOT_APPLICABLE = "not_applicable", _("n/a")


def entry_due_by(visit_date: date) -> date:
    """The last day a visit's forms are on time (CRF_ENTRY_DAYS after the visit)."""
    return visit_date + timedelta(days=CRF_ENTRY_DAYS)


def form_status(
    *, expected: bool, complete: bool, partial: bool, visit_date: date, today: date
) -> FormStatus:
    """One form of a visit that took place."""
    if complete:
        return FormStatus.COMPLETE
    if not expected:
        return FormStatus.PARTIAL if partial else FormStatus.OPTIONAL
    if today > entry_due_by(visit_date):
        return FormStatus.OVERDUE
    return FormStatus.PARTIAL if partial else FormStatus.MISSING


@dataclass(frozen=True)
class VisitForms:
    """The forms of one visit that took place: what is expected and what is done."""

    expected: tuple[CrfKind, ...]
    complete: frozenset[CrfKind]
    partial: frozenset[CrfKind]
    visit_date: date

    @property
    def missing(self) -> tuple[CrfKind, ...]:
        return tuple(kind for kind in self.expected if kind not in self.complete)

    @property
    def n_complete(self) -> int:
        return sum(1 for kind in self.expected if kind in self.complete)

    def status(self, today: date, *, closed: bool = False) -> CellStatus:
        """``closed``: no more data may be entered for the participant (consent withdrawn)."""
        if not self.expected:
            return CellStatus.NOTHING_EXPECTED
        if all(kind in self.complete for kind in self.expected):
            return CellStatus.COMPLETE
        if closed:
            return CellStatus.CLOSED
        if today > entry_due_by(self.visit_date):
            return CellStatus.OVERDUE
        return CellStatus.MISSING

    def form_statuses(self, today: date, kinds: Iterable[CrfKind] = FULL_SET) -> list[FormStatus]:
        return [
            form_status(
                expected=kind in self.expected,
                complete=kind in self.complete,
                partial=kind in self.partial,
                visit_date=self.visit_date,
                today=today,
            )
            for kind in kinds
        ]
