"""Prednisone-equivalent glucocorticoid dose; no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crf.glucocorticoids import (
    PREDNISONE_FACTORS,
    SYSTEMIC_ROUTES,
    DoseFrequency,
    counts_towards_dose,
    glucocorticoid_name,
    is_glucocorticoid,
    prednisone_equivalent_mg_per_day,
    prednisone_equivalent_mg_per_kg_per_day,
)
from trialsite.protocol import GLUCOCORTICOIDS

D = Decimal


def test_every_protocol_glucocorticoid_has_a_conversion_factor():
    assert set(PREDNISONE_FACTORS) == GLUCOCORTICOIDS


@pytest.mark.parametrize(
    ("drug", "dose", "expected"),
    [
        ("prednisone", D("10"), D("10.00")),
        ("prednisolone", D("10"), D("10.00")),
        ("methylprednisolone", D("8"), D("10.00")),
        ("hydrocortisone", D("20"), D("5.00")),
        ("dexamethasone", D("0.75"), D("5.00")),
        ("dexamethasone", D("1.5"), D("10.00")),
    ],
)
def test_once_daily_doses_convert_to_prednisone_mg(drug, dose, expected):
    assert prednisone_equivalent_mg_per_day(drug, dose, DoseFrequency.ONCE_DAILY) == expected


def test_dexamethasone_factor_is_6_67():
    assert PREDNISONE_FACTORS["dexamethasone"].quantize(D("0.01")) == D("6.67")


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [
        (DoseFrequency.ONCE_DAILY, D("10.00")),
        (DoseFrequency.TWICE_DAILY, D("20.00")),
        (DoseFrequency.THREE_TIMES_DAILY, D("30.00")),
        (DoseFrequency.EVERY_OTHER_DAY, D("5.00")),
        (DoseFrequency.WEEKLY, D("1.43")),
        (DoseFrequency.ONCE, D("10.00")),
    ],
)
def test_frequency_turns_a_dose_into_a_daily_dose(frequency, expected):
    assert prednisone_equivalent_mg_per_day("prednisone", D("10"), frequency) == expected


def test_methylprednisolone_pulse_is_counted_on_its_day():
    assert prednisone_equivalent_mg_per_day(
        "Methylprednisolone", D("500"), DoseFrequency.ONCE
    ) == D("625.00")


def test_mg_per_kg_per_day_divides_by_weight():
    result = prednisone_equivalent_mg_per_kg_per_day(
        "prednisolone", D("5"), DoseFrequency.TWICE_DAILY, D("25")
    )

    assert result == D("0.400")


def test_a_non_glucocorticoid_has_no_prednisone_equivalent():
    assert not is_glucocorticoid("methotrexate")
    assert prednisone_equivalent_mg_per_day("methotrexate", D("10"), "weekly") is None
    assert (
        prednisone_equivalent_mg_per_kg_per_day("hydroxychloroquine", D("200"), "qd", D("30"))
        is None
    )


def test_an_unknown_frequency_is_refused():
    with pytest.raises(ValueError):
        prednisone_equivalent_mg_per_day("prednisone", D("5"), "prn")


def test_a_zero_weight_is_refused():
    with pytest.raises(ValueError):
        prednisone_equivalent_mg_per_kg_per_day("prednisone", D("5"), "qd", D("0"))


def test_a_float_dose_is_refused():
    with pytest.raises(TypeError):
        prednisone_equivalent_mg_per_day("prednisone", 5.0, "qd")


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("prednisone acetate", "prednisone"),
        ("Methylprednisolone Sodium Succinate", "methylprednisolone"),
        ("hydrocortisone sodium succinate", "hydrocortisone"),
        ("dexamethasone sodium phosphate", "dexamethasone"),
        ("prednisolone  acetate", "prednisolone"),
        ("methylprednisolone", "methylprednisolone"),
    ],
)
def test_salt_and_ester_forms_are_the_glucocorticoid_they_contain(name, base):
    assert glucocorticoid_name(name) == base
    assert is_glucocorticoid(name)


@pytest.mark.parametrize("name", ["methotrexate sodium", "prednisolone cream", "sodium", ""])
def test_other_drugs_and_other_preparations_are_not_matched(name):
    assert glucocorticoid_name(name) is None


def test_a_salt_form_converts_as_its_base_drug():
    # 40 mg methylprednisolone (as the sodium succinate) = 50 mg prednisone.
    assert prednisone_equivalent_mg_per_day(
        "methylprednisolone sodium succinate", D("40"), DoseFrequency.ONCE
    ) == D("50.00")
    assert prednisone_equivalent_mg_per_day(
        "hydrocortisone sodium succinate", D("100"), DoseFrequency.ONCE_DAILY
    ) == D("25.00")


def test_only_oral_intravenous_and_intramuscular_glucocorticoids_count():
    from crf.models import Route

    assert set(SYSTEMIC_ROUTES) == {Route.ORAL, Route.IV, Route.IM}
    assert counts_towards_dose("prednisone", Route.ORAL)
    assert counts_towards_dose("methylprednisolone sodium succinate", Route.IV)
    assert counts_towards_dose("triamcinolone", Route.IM) is False  # not a listed drug
    for route in (Route.TOPICAL, Route.OPHTHALMIC, Route.INHALED, Route.OTHER):
        assert not counts_towards_dose("prednisolone acetate", route)
