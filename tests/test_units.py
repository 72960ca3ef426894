from decimal import Decimal

import pytest

from trialsite.units import (
    ANALYTES,
    UnitError,
    egfr_for_display,
    format_decimal,
    from_canonical,
    is_plausible,
    schwartz_egfr,
    to_canonical,
    unit_choices,
)

D = Decimal

# (analyte, entered value, entered unit, value in the canonical unit)
CONVERSIONS = [
    ("creatinine", D("1"), "mg/dL", D("88.4")),
    ("creatinine", D("0.5"), "mg/dL", D("44.2")),
    ("igg", D("1200"), "mg/dL", D("12")),
    ("iga", D("10"), "mg/dL", D("0.1")),
    ("igm", D("85"), "mg/dL", D("0.85")),
    ("wbc", D("6500"), "/uL", D("6.5")),
    ("neutrophils", D("1000"), "/uL", D("1")),
    ("lymphocytes", D("1500"), "/uL", D("1.5")),
    ("haemoglobin", D("12.5"), "g/dL", D("125")),
    ("platelets", D("250000"), "/uL", D("250")),
    ("c3", D("90"), "mg/dL", D("0.9")),
    ("c4", D("10"), "mg/dL", D("0.1")),
    ("crp", D("1.2"), "mg/dL", D("12")),
    ("cd19_absolute", D("20"), "cells/uL", D("20")),
    ("cd19_absolute", D("0.02"), "10^9/L", D("20")),
]


def test_the_analyte_codes_are_exactly_the_agreed_ones():
    assert set(ANALYTES) == {
        "creatinine", "egfr", "igg", "iga", "igm", "wbc", "neutrophils", "lymphocytes",
        "monocytes", "eosinophils", "basophils", "haemoglobin", "platelets", "c3", "c4",
        "beta2_microglobulin", "esr", "crp", "rf",
        "cd19_percent", "cd19_absolute", "height", "weight",
    }  # fmt: skip


@pytest.mark.parametrize(("code", "entered", "unit", "canonical"), CONVERSIONS)
def test_entered_value_converts_to_the_canonical_unit(code, entered, unit, canonical):
    assert to_canonical(code, entered, unit) == canonical


@pytest.mark.parametrize(("code", "entered", "unit", "canonical"), CONVERSIONS)
def test_canonical_value_converts_back_to_the_entered_unit(code, entered, unit, canonical):
    assert from_canonical(code, canonical, unit) == entered


@pytest.mark.parametrize("code", sorted(ANALYTES))
def test_the_canonical_unit_is_offered_first_and_leaves_the_value_unchanged(code):
    canonical_key = unit_choices(code)[0][0]
    assert to_canonical(code, D("12.34"), canonical_key) == D("12.34")
    assert from_canonical(code, D("12.34"), canonical_key) == D("12.34")


def test_unit_choices_list_every_accepted_unit_with_a_label():
    assert [key for key, _label in unit_choices("creatinine")] == ["umol/L", "mg/dL"]
    assert [str(label) for _key, label in unit_choices("wbc")] == ["×10⁹/L", "/µL"]
    assert [key for key, _label in unit_choices("cd19_absolute")] == [
        "10^6/L",
        "cells/uL",
        "10^9/L",
    ]


def test_whole_numbers_come_back_without_an_exponent():
    assert str(from_canonical("wbc", D("4.5"), "/uL")) == "4500"


def test_a_unit_the_analyte_is_not_entered_in_is_refused():
    with pytest.raises(UnitError):
        to_canonical("igg", D("12"), "umol/L")


def test_an_unknown_analyte_is_refused():
    with pytest.raises(UnitError):
        to_canonical("ferritin", D("12"), "g/L")


def test_a_float_is_refused():
    with pytest.raises(TypeError):
        to_canonical("igg", 12.5, "g/L")


def test_an_impossible_igg_is_not_plausible():
    assert is_plausible("igg", D("12")) is True
    assert is_plausible("igg", D("400")) is False


@pytest.mark.parametrize("code", sorted(ANALYTES))
def test_a_negative_value_is_never_plausible(code):
    assert is_plausible(code, D("-0.1")) is False


def test_plausibility_limits_are_inclusive():
    assert is_plausible("cd19_percent", D("0")) is True
    assert is_plausible("cd19_percent", D("100")) is True
    assert is_plausible("cd19_percent", D("100.1")) is False
    assert is_plausible("haemoglobin", D("5")) is False  # g/L, typed as g/dL by mistake


def test_schwartz_egfr_uses_creatinine_in_mg_dl():
    # 0.413 × 100 / (88.4 µmol/L = 1 mg/dL)
    assert schwartz_egfr(D("100"), D("88.4")) == D("41.3")


def test_schwartz_egfr_is_not_rounded():
    # 0.413 × 120 / 0.5 = 99.12
    assert schwartz_egfr(D("120"), D("44.2")) == D("99.12")
    # 0.413 × 150 / (182.6 / 88.4) = 29.9911...: rounding to 0.1 would make it 30.0
    egfr = schwartz_egfr(D("150"), D("182.6"))
    assert D("29.991") < egfr < D("29.992")


def test_a_computed_egfr_is_shown_to_one_decimal_rounded_down():
    assert egfr_for_display(D("99.12")) == D("99.1")
    assert egfr_for_display(D("99.19")) == D("99.1")
    assert egfr_for_display(schwartz_egfr(D("150"), D("182.6"))) == D("29.9")
    assert egfr_for_display(D("30")) == D("30.0")


def test_schwartz_egfr_refuses_a_zero_creatinine():
    with pytest.raises(UnitError):
        schwartz_egfr(D("150"), D("0"))


def test_measurements_are_shown_without_trailing_zeros_or_exponent():
    assert format_decimal(D("3.50")) == "3.5"
    assert format_decimal(D("1E+2")) == "100"
    assert format_decimal(D("0.00")) == "0"
