"""CTCAE v5.0 grades of laboratory abnormalities: pure data and one pure function.

Common Terminology Criteria for Adverse Events v5.0 (NCI, 27 Nov 2017), "Investigations"
and "Blood and lymphatic system disorders", for the tests the study records, in their
canonical units (trialsite.reference_ranges.UNITS).  Grade 1 of a "decreased" term starts
below the child's lower limit (LLN) and of "creatinine increased" above the upper limit
(ULN): both come from the child's reference range, the one ``reference_range()``.  CTCAE
also grades ALT/AST increased; the study does not record them (no such test here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from trialsite.reference_ranges import LabCode, ReferenceRange

Direction = Literal["low", "high"]
# The grade from which the lab panel prompts for an adverse event.
AE_PROMPT_FROM_GRADE = 3


@dataclass(frozen=True)
class Grading:
    """One CTCAE term graded by a test's value.

    ``limits``: (grade, limit) from the mildest up; the value has at least that grade when
    below the limit ("low") or above it ("high").  ``times_uln``: the limits are multiples
    of the upper limit of normal.  ``grade_1_beyond_range``: grade 1 is any value beyond the
    range (below LLN, above ULN).
    """

    code: str
    term: str | Promise
    direction: Direction
    limits: tuple[tuple[int, Decimal], ...]
    times_uln: bool = False
    grade_1_beyond_range: bool = True


def _grading(
    code: LabCode,
    term: str | Promise,
    direction: Direction,
    *limits: tuple[int, str],
    times_uln: bool = False,
    grade_1_beyond_range: bool = True,
) -> Grading:
    return Grading(
        code=code.value,
        term=term,
        direction=direction,
        limits=tuple((grade, Decimal(limit)) for grade, limit in limits),
        times_uln=times_uln,
        grade_1_beyond_range=grade_1_beyond_range,
    )


GRADINGS: Mapping[str, tuple[Grading, ...]] = MappingProxyType(
    {
        LabCode.NEUTROPHILS.value: (
            _grading(
                LabCode.NEUTROPHILS,
                _("Neutrophil count decreased"),
                "low",
                (2, "1.5"),
                (3, "1.0"),
                (4, "0.5"),
            ),
        ),
        LabCode.WBC.value: (
            _grading(
                LabCode.WBC,
                _("White blood cell decreased"),
                "low",
                (2, "3.0"),
                (3, "2.0"),
                (4, "1.0"),
            ),
            _grading(
                LabCode.WBC, _("Leukocytosis"), "high", (3, "100"), grade_1_beyond_range=False
            ),
        ),
        LabCode.LYMPHOCYTES.value: (
            _grading(
                LabCode.LYMPHOCYTES,
                _("Lymphocyte count decreased"),
                "low",
                (2, "0.8"),
                (3, "0.5"),
                (4, "0.2"),
            ),
            _grading(
                LabCode.LYMPHOCYTES,
                _("Lymphocyte count increased"),
                "high",
                (2, "4"),
                (3, "20"),
                grade_1_beyond_range=False,
            ),
        ),
        LabCode.PLATELETS.value: (
            _grading(
                LabCode.PLATELETS,
                _("Platelet count decreased"),
                "low",
                (2, "75"),
                (3, "50"),
                (4, "25"),
            ),
        ),
        # Anaemia grade 4 is "life-threatening consequences": clinical, no value.
        LabCode.HAEMOGLOBIN.value: (
            _grading(LabCode.HAEMOGLOBIN, _("Anaemia"), "low", (2, "100"), (3, "80")),
        ),
        LabCode.CREATININE.value: (
            _grading(
                LabCode.CREATININE,
                _("Creatinine increased"),
                "high",
                (2, "1.5"),
                (3, "3.0"),
                (4, "6.0"),
                times_uln=True,
            ),
        ),
    }
)


@dataclass(frozen=True)
class LabGrade:
    term: str | Promise
    grade: int

    @property
    def prompts_ae(self) -> bool:
        return self.grade >= AE_PROMPT_FROM_GRADE


def _beyond(direction: Direction, value: Decimal, limit: Decimal | None) -> bool:
    if limit is None:
        return False
    return value < limit if direction == "low" else value > limit


def _grade_of(grading: Grading, value: Decimal, reference: ReferenceRange) -> int:
    edge = reference.lower if grading.direction == "low" else reference.upper
    grade = 1 if grading.grade_1_beyond_range and _beyond(grading.direction, value, edge) else 0
    for limit_grade, limit in grading.limits:
        if grading.times_uln:
            if reference.upper is None:
                continue
            limit = limit * reference.upper
        if _beyond(grading.direction, value, limit):
            grade = max(grade, limit_grade)
    return grade


def lab_grade(code: str, value: Decimal, reference: ReferenceRange) -> LabGrade | None:
    """The CTCAE v5 grade of ``value`` of test ``code`` against the child's ``reference``
    range, or None (within normal limits, or a test CTCAE does not grade by value)."""
    for grading in GRADINGS.get(code, ()):
        grade = _grade_of(grading, value, reference)
        if grade:
            return LabGrade(term=grading.term, grade=grade)
    return None
