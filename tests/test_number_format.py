"""One number format everywhere (issue 19): no trailing zeros, the unit after the value,
×10⁹/L written one way. Pure functions, no database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from monitoring.edit_checks import lab_out_of_range
from trialsite.units import format_measure, format_number, unit_text


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("14.200"), "14.2"),
        (Decimal("255.600"), "255.6"),
        (Decimal("21.000000"), "21"),
        (Decimal("104"), "104"),
        (Decimal("4.5E+3"), "4500"),
        (Decimal("0.000"), "0"),
        (72, "72"),
        (None, ""),
        ("n/a", "n/a"),
    ],
)
def test_a_number_is_written_without_trailing_zeros(value, shown):
    assert format_number(value) == shown


@pytest.mark.parametrize("spelling", ["10^9/L", "x10^9/L", "×10^9/L", "10⁹/L", "×10⁹/L"])
def test_ten_to_the_ninth_per_litre_is_written_one_way(spelling):
    assert unit_text(spelling) == "×10⁹/L"


def test_the_unit_comes_after_the_value():
    assert format_measure(Decimal("2.400"), "10^9/L") == "2.4 ×10⁹/L"
    assert format_measure(Decimal("37.50"), "°C") == "37.5 °C"
    assert format_measure(None, "g/L") == ""


def test_the_template_filter_writes_the_same_in_chinese():
    template = Template('{% load numbers %}{{ value|measure:"10^9/L" }}')
    with translation.override("zh-hans"):
        assert template.render(Context({"value": Decimal("14.200")})) == "14.2 ×10⁹/L"


def test_a_generated_query_text_has_no_trailing_zeros():
    finding = lab_out_of_range("igg", Decimal("21.000000"))
    assert finding is not None
    assert "IgG 21 g/L" in finding.detail
    assert "21.0" not in finding.detail and "16.0" not in finding.detail
