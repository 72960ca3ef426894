"""Laboratory reference ranges and flags; no database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from trialsite.reference_ranges import (
    REFERENCE_RANGES,
    LabCode,
    ReferenceRange,
    UnknownLabCode,
    flag,
    reference_table,
)

D = Decimal

REQUIRED_CODES = {
    "wbc",
    "neutrophils",
    "lymphocytes",
    "monocytes",
    "eosinophils",
    "basophils",
    "haemoglobin",
    "platelets",
    "igg",
    "iga",
    "igm",
    "c3",
    "c4",
    "beta2_microglobulin",
    "esr",
    "crp",
    "rf",
    "creatinine",
    "cd19_percent",
    "cd19_absolute",
}


def test_every_protocol_lab_has_a_range_and_a_unit():
    assert set(REFERENCE_RANGES) == REQUIRED_CODES
    assert {code.value for code in LabCode} == REQUIRED_CODES
    assert all(r.unit for r in REFERENCE_RANGES.values())


@pytest.mark.parametrize("code", sorted(REQUIRED_CODES))
def test_ranges_have_lower_below_upper(code):
    reference = REFERENCE_RANGES[code]

    assert reference.upper is not None
    assert reference.lower is None or reference.lower < reference.upper


def test_a_value_at_the_lower_limit_is_not_flagged():
    lower = REFERENCE_RANGES["platelets"].lower

    assert flag("platelets", lower).flag is None


def test_a_value_just_below_the_lower_limit_is_flagged_low_with_a_reason():
    lower = REFERENCE_RANGES["neutrophils"].lower

    result = flag("neutrophils", lower - D("0.01"))

    assert result.flag == "L"
    assert "below the lower limit" in result.reason


def test_a_value_at_the_upper_limit_is_not_flagged():
    upper = REFERENCE_RANGES["igg"].upper

    assert flag("igg", upper).flag is None


def test_a_value_just_above_the_upper_limit_is_flagged_high_with_a_reason():
    upper = REFERENCE_RANGES["esr"].upper

    result = flag("esr", upper + 1)

    assert result.flag == "H"
    assert "above the upper limit" in result.reason
    assert "mm/h" in result.reason


def test_a_test_without_a_lower_limit_is_never_flagged_low():
    assert flag("crp", D("0")).flag is None


def test_a_site_table_replaces_the_default_limits():
    site = {"igg": ReferenceRange("igg", D("6.0"), D("14.0"))}

    assert flag("igg", D("15"), ranges=site).flag == "H"
    assert flag("igg", D("15")).flag is None


def test_an_unknown_lab_code_is_refused():
    with pytest.raises(UnknownLabCode):
        flag("ferritin", D("10"))


def test_a_float_value_is_refused():
    with pytest.raises(TypeError):
        flag("wbc", 4.5)


def test_a_negative_value_is_refused():
    with pytest.raises(ValueError):
        flag("wbc", D("-1"))


def test_the_configured_ranges_override_the_defaults_for_every_reader():
    assert flag("esr", D("18")).flag is None  # default upper limit 20 mm/h
    with override_settings(LAB_REFERENCE_RANGES={"esr": [None, "15"], "igg": ["6.5", None]}):
        table = reference_table()
        assert table["esr"].upper == D("15") and table["esr"].lower is None
        assert (table["igg"].lower, table["igg"].upper) == (D("6.5"), None)
        assert table["crp"] == REFERENCE_RANGES["crp"]  # not overridden: the default
        assert flag("esr", D("18")).flag == "H"
        assert "15 mm/h" in flag("esr", D("18")).reason
        assert flag("igg", D("40")).flag is None  # no upper limit any more
    assert reference_table()["esr"].upper == D("20")


@pytest.mark.parametrize(
    "ranges",
    [{"sodium": [None, "145"]}, {"esr": ["20", "10"]}, {"esr": ["a lot", None]}, {"esr": "20"}],
)
def test_a_wrong_range_setting_is_refused_with_a_clear_error(ranges):
    with override_settings(LAB_REFERENCE_RANGES=ranges), pytest.raises(ImproperlyConfigured):
        reference_table()
