"""CTCAE v5 grades of lab abnormalities (trialsite.ctcae): pure functions, no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trialsite.ctcae import lab_grade
from trialsite.reference_ranges import reference_range

D = Decimal


def grade(code: str, value: str, *, age: int = 13, sex: str = "F") -> int | None:
    reference = reference_range(code, age=age, sex=sex)
    result = lab_grade(code, D(value), reference)
    return None if result is None else result.grade


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.8", None),
        ("1.7", 1),
        ("1.5", 1),
        ("1.49", 2),
        ("1.0", 2),
        ("0.99", 3),
        ("0.5", 3),
        ("0.49", 4),
    ],
)
def test_neutrophil_count_decreased_grades_by_the_ctcae_limits(value, expected):
    assert grade("neutrophils", value) == expected  # LLN 1.8 at 13 years


@pytest.mark.parametrize(
    ("code", "value", "expected"),
    [
        ("wbc", "2.5", 2),
        ("wbc", "1.5", 3),
        ("wbc", "0.9", 4),
        ("wbc", "150", 3),  # leukocytosis
        ("wbc", "20", None),  # above the range, but CTCAE grades leukocytosis from 100 only
        ("lymphocytes", "0.4", 3),
        ("lymphocytes", "0.1", 4),
        ("platelets", "140", 1),
        ("platelets", "45", 3),
        ("platelets", "20", 4),
        ("haemoglobin", "110", 1),
        ("haemoglobin", "95", 2),
        ("haemoglobin", "75", 3),
        ("igg", "3.0", None),  # no CTCAE term graded by the IgG value
    ],
)
def test_other_lab_abnormalities_grade_by_their_ctcae_limits(code, value, expected):
    assert grade(code, value) == expected


def test_creatinine_increased_grades_in_multiples_of_the_childs_upper_limit():
    # 13 years: ULN 75 µmol/L; a 6-year-old's ULN is 60.
    assert grade("creatinine", "80") == 1
    assert grade("creatinine", "120") == 2  # > 1.5 x 75
    assert grade("creatinine", "120", age=6) == 2
    assert grade("creatinine", "200", age=6) == 3  # > 3 x 60, not > 3 x 75
    assert grade("creatinine", "200") == 2


def test_a_grade_3_prompts_for_an_adverse_event_and_names_the_term():
    result = lab_grade("neutrophils", D("0.8"), reference_range("neutrophils", age=10, sex="M"))

    assert result.prompts_ae and result.grade == 3
    assert str(result.term) == "Neutrophil count decreased"
    assert not lab_grade(
        "neutrophils", D("1.2"), reference_range("neutrophils", age=10, sex="M")
    ).prompts_ae
