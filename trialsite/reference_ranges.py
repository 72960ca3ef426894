"""Paediatric laboratory reference ranges and the L/H flag of a result.

Every value is stored in one canonical unit per test (REFERENCE.md "Formulas and units");
the range table uses the same units so a result is compared without conversion.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise
from django.utils.translation import gettext

from trialsite import texts
from trialsite.units import format_number, lab_tests, unit_text

# The tests with a reference range (codes and names from trialsite.units, the one list).
LabCode = lab_tests(
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
)


# Canonical units: symbols, shown as they are in every language.
UNITS: Mapping[str, str] = MappingProxyType(
    {
        LabCode.WBC: "×10⁹/L",
        LabCode.NEUTROPHILS: "×10⁹/L",
        LabCode.LYMPHOCYTES: "×10⁹/L",
        LabCode.MONOCYTES: "×10⁹/L",
        LabCode.EOSINOPHILS: "×10⁹/L",
        LabCode.BASOPHILS: "×10⁹/L",
        LabCode.HAEMOGLOBIN: "g/L",
        LabCode.PLATELETS: "×10⁹/L",
        LabCode.IGG: "g/L",
        LabCode.IGA: "g/L",
        LabCode.IGM: "g/L",
        LabCode.C3: "g/L",
        LabCode.C4: "g/L",
        LabCode.BETA2_MICROGLOBULIN: "mg/L",
        LabCode.ESR: "mm/h",
        LabCode.CRP: "mg/L",
        LabCode.RF: "IU/mL",
        LabCode.CREATININE: "µmol/L",
        LabCode.CD19_PERCENT: "%",
        LabCode.CD19_ABSOLUTE: "×10⁶/L",
    }
)


@dataclass(frozen=True)
class ReferenceRange:
    code: str
    lower: Decimal | None  # None: no lower limit (nothing is flagged L)
    upper: Decimal | None  # None: no upper limit (nothing is flagged H)

    @property
    def name(self) -> str | Promise:
        return LabCode(self.code).label

    @property
    def unit(self) -> str:
        return UNITS[self.code]


def _range(code: LabCode, lower: str | None, upper: str | None) -> ReferenceRange:
    return ReferenceRange(
        code=code.value,
        lower=None if lower is None else Decimal(lower),
        upper=None if upper is None else Decimal(upper),
    )


# *check* CONFIGURABLE PLACEHOLDERS, NOT A STANDARD: approximate paediatric ranges for ages
# 5-18 in one band.  Each site's own laboratory ranges (and age/sex bands where the lab
# gives them, e.g. creatinine, IgA, CD19) must replace these before release: the setting
# LAB_REFERENCE_RANGES overrides any of them (``reference_table()``).  The protocol's own
# limits (EXC10 IgG/IgA, EXC11 WBC/neutrophils, SCH2 B-cell depletion) are in
# trialsite.protocol, not here.
REFERENCE_RANGES: Mapping[str, ReferenceRange] = MappingProxyType(
    {
        r.code: r
        for r in (
            _range(LabCode.WBC, "4.0", "12.0"),
            _range(LabCode.NEUTROPHILS, "1.5", "8.0"),
            _range(LabCode.LYMPHOCYTES, "1.0", "5.0"),
            _range(LabCode.MONOCYTES, "0.1", "1.0"),
            _range(LabCode.EOSINOPHILS, None, "0.5"),
            _range(LabCode.BASOPHILS, None, "0.1"),
            _range(LabCode.HAEMOGLOBIN, "115", "155"),
            _range(LabCode.PLATELETS, "150", "450"),
            _range(LabCode.IGG, "7.0", "16.0"),
            _range(LabCode.IGA, "0.7", "4.0"),
            _range(LabCode.IGM, "0.4", "2.3"),
            _range(LabCode.C3, "0.9", "1.8"),
            _range(LabCode.C4, "0.1", "0.4"),
            _range(LabCode.BETA2_MICROGLOBULIN, "0.8", "2.2"),
            _range(LabCode.ESR, None, "20"),
            _range(LabCode.CRP, None, "8"),
            _range(LabCode.RF, None, "20"),
            _range(LabCode.CREATININE, "27", "88"),
            _range(LabCode.CD19_PERCENT, "10", "31"),
            _range(LabCode.CD19_ABSOLUTE, "110", "1600"),
        )
    }
)

Flag = Literal["L", "H"]


def reference_table() -> Mapping[str, ReferenceRange]:
    """The ranges in force: the defaults with ``settings.LAB_REFERENCE_RANGES`` over them.

    Every reader (flags on the pages, edit checks, casebook, the composite's ESR limit)
    goes through here, so a site's table changes them all at once.
    """
    overrides = getattr(settings, "LAB_REFERENCE_RANGES", None) or {}
    key = json.dumps(overrides, sort_keys=True, default=str)
    return _merged(key)


@lru_cache(maxsize=8)
def _merged(overrides_json: str) -> Mapping[str, ReferenceRange]:
    table = dict(REFERENCE_RANGES)
    for code, limits in json.loads(overrides_json).items():
        if code not in UNITS:
            raise ImproperlyConfigured(f"LAB_REFERENCE_RANGES: unknown test {code!r}.")
        try:
            if not isinstance(limits, list) or len(limits) != 2:
                raise TypeError
            lower, upper = (None if v in (None, "") else Decimal(str(v)) for v in limits)
        except (TypeError, ValueError, ArithmeticError):
            raise ImproperlyConfigured(
                f"LAB_REFERENCE_RANGES[{code!r}] must be [lower, upper] numbers or null."
            ) from None
        if lower is not None and upper is not None and lower > upper:
            raise ImproperlyConfigured(f"LAB_REFERENCE_RANGES[{code!r}]: lower above upper.")
        table[code] = ReferenceRange(code=code, lower=lower, upper=upper)
    return MappingProxyType(table)


class UnknownLabCode(ValueError):
    code = "unknown_lab_code"

    def __init__(self, lab_code: str) -> None:
        self.lab_code = lab_code
        super().__init__(gettext("No reference range for %(code)s.") % {"code": lab_code})


@dataclass(frozen=True)
class LabFlag:
    code: str
    value: Decimal
    flag: Flag | None  # "L" below the lower limit, "H" above the upper, None within
    reason: str
    range: ReferenceRange
    # the reason as a code with parameters (stored texts); not part of equality
    text: texts.Text | None = field(default=None, compare=False)


def _format_limits(reference: ReferenceRange) -> str:
    params = {
        "lower": format_number(reference.lower),
        "upper": format_number(reference.upper),
        "unit": unit_text(reference.unit),
    }
    if reference.lower is None:
        return gettext("≤ %(upper)s %(unit)s") % params
    if reference.upper is None:
        return gettext("≥ %(lower)s %(unit)s") % params
    return gettext("%(lower)s–%(upper)s %(unit)s") % params


def flag(
    code: str, value: Decimal | int, ranges: Mapping[str, ReferenceRange] | None = None
) -> LabFlag:
    """'L' if value < lower, 'H' if value > upper, None within the range (limits inclusive).

    ``ranges`` defaults to the table in force (``reference_table()``).
    """
    table = reference_table() if ranges is None else ranges
    try:
        reference = table[code]
    except KeyError:
        raise UnknownLabCode(code) from None
    # A float has already lost the value the laboratory reported.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(
            gettext("A laboratory value must be a Decimal or an integer, not %(type)s.")
            % {"type": type(value).__name__}
        )
    measured = Decimal(value)
    if not measured.is_finite() or measured < 0:
        raise ValueError(gettext("%(value)s is not a valid laboratory value.") % {"value": value})
    params = {
        "name": {"lab": code},
        "value": measured,  # shown by texts with units.format_number: 21 g/L, never 21.000000
        "unit": unit_text(reference.unit),
        "limits": _format_limits(reference),
        "lower": reference.lower,
        "upper": reference.upper,
    }
    result: Flag | None
    if reference.lower is not None and measured < reference.lower:
        result, text_code = "L", "lab.below"
    elif reference.upper is not None and measured > reference.upper:
        result, text_code = "H", "lab.above"
    else:
        result, text_code = None, "lab.within"
    text = texts.Text(text_code, {k: v for k, v in params.items() if v is not None})
    return LabFlag(
        code=code, value=measured, flag=result, reason=str(text), range=reference, text=text
    )
