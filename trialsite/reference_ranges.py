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
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy

from trialsite import texts
from trialsite.units import format_number, get_analyte, lab_tests, unit_text

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
    """One row of a laboratory's table: a test's limits for one sex and age band.

    The idea of clinicedc's edc-reportable "normal data": a row per test x sex (or either)
    x age band [age_from, age_to) in completed years at the date of sample.
    """

    code: str
    lower: Decimal | None  # None: no lower limit (nothing is flagged L)
    upper: Decimal | None  # None: no upper limit (nothing is flagged H)
    sex: str | None = None  # "F" or "M" (eligibility.Sex); None: either
    age_from: int | None = None  # completed years, inclusive; None: from birth
    age_to: int | None = None  # completed years, exclusive; None: no upper age

    @property
    def name(self) -> str | Promise:
        return LabCode(self.code).label

    @property
    def unit(self) -> str:
        return UNITS[self.code]

    @property
    def limits(self) -> str:
        """The range as shown beside a value, e.g. "5–13 g/L"."""
        return _format_limits(self)

    # What a lab entry row writes in data- attributes for static/js/labs.js (H/L as typed).
    @property
    def lower_text(self) -> str:
        return "" if self.lower is None else str(self.lower)

    @property
    def upper_text(self) -> str:
        return "" if self.upper is None else str(self.upper)

    @property
    def unit_factors(self) -> str:
        """JSON {unit key: factor to the canonical unit} of the units the test is entered in."""
        return json.dumps({unit.key: str(unit.factor) for unit in get_analyte(self.code).units})

    def covers(self, age: int | None, sex: str | None) -> bool:
        if self.sex is not None and self.sex != sex:
            return False
        if age is None:
            return self.age_from is None and self.age_to is None
        return (self.age_from is None or age >= self.age_from) and (
            self.age_to is None or age < self.age_to
        )


def _range(
    code: LabCode,
    lower: str | None,
    upper: str | None,
    *,
    sex: str | None = None,
    ages: tuple[int | None, int | None] = (None, None),
) -> ReferenceRange:
    return ReferenceRange(
        code=code.value,
        lower=None if lower is None else Decimal(lower),
        upper=None if upper is None else Decimal(upper),
        sex=sex,
        age_from=ages[0],
        age_to=ages[1],
    )


# *check* CONFIGURABLE PLACEHOLDERS, NOT A STANDARD: approximate paediatric ranges for ages
# 5-18 in one band, used when the child's age at the sample is not known and for a test
# with no band below.  Each site's own laboratory ranges must replace these before release:
# the settings LAB_REFERENCE_RANGES (every site) and SITE_LAB_REFERENCE_RANGES (one site's
# laboratory) override any of them (``reference_range()``).  The protocol's own limits
# (EXC10 IgG/IgA, EXC11 WBC/neutrophils, SCH2 B-cell depletion) are in trialsite.protocol,
# not here.
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

# *check* ILLUSTRATIVE DEFAULTS THE SITE CONFIGURES: age- (and for haemoglobin and creatinine
# sex-) specific paediatric bands for the trial's ages 5-18, rounded from the Harriet Lane
# Handbook (22nd ed., haematology and immunoglobulin tables) and the CALIPER paediatric
# reference intervals (Adeli et al., Clin Chem 2017; creatinine, IgA/IgG/IgM).  Not a
# laboratory's validated table: each site's laboratory replaces them through
# SITE_LAB_REFERENCE_RANGES.  A test without bands here uses its REFERENCE_RANGES row.
PAEDIATRIC_BANDS: Mapping[str, tuple[ReferenceRange, ...]] = MappingProxyType(
    {
        LabCode.WBC.value: (
            _range(LabCode.WBC, "5.5", "15.5", ages=(None, 8)),
            _range(LabCode.WBC, "4.5", "13.5", ages=(8, 14)),
            _range(LabCode.WBC, "4.5", "11.0", ages=(14, None)),
        ),
        LabCode.NEUTROPHILS.value: (
            _range(LabCode.NEUTROPHILS, "1.5", "8.5", ages=(None, 8)),
            _range(LabCode.NEUTROPHILS, "1.8", "8.0", ages=(8, 14)),
            _range(LabCode.NEUTROPHILS, "1.8", "7.7", ages=(14, None)),
        ),
        LabCode.LYMPHOCYTES.value: (
            _range(LabCode.LYMPHOCYTES, "1.5", "7.0", ages=(None, 8)),
            _range(LabCode.LYMPHOCYTES, "1.5", "6.5", ages=(8, 14)),
            _range(LabCode.LYMPHOCYTES, "1.0", "4.8", ages=(14, None)),
        ),
        LabCode.HAEMOGLOBIN.value: (
            _range(LabCode.HAEMOGLOBIN, "115", "155", ages=(None, 12)),
            _range(LabCode.HAEMOGLOBIN, "120", "160", sex="F", ages=(12, None)),
            _range(LabCode.HAEMOGLOBIN, "130", "160", sex="M", ages=(12, None)),
        ),
        LabCode.IGG.value: (
            _range(LabCode.IGG, "5.0", "13.0", ages=(None, 10)),
            _range(LabCode.IGG, "6.0", "15.0", ages=(10, 14)),
            _range(LabCode.IGG, "7.0", "16.0", ages=(14, None)),
        ),
        LabCode.IGA.value: (
            _range(LabCode.IGA, "0.3", "2.0", ages=(None, 10)),
            _range(LabCode.IGA, "0.45", "2.4", ages=(10, 14)),
            _range(LabCode.IGA, "0.7", "3.1", ages=(14, None)),
        ),
        LabCode.IGM.value: (
            _range(LabCode.IGM, "0.4", "1.8", ages=(None, 10)),
            _range(LabCode.IGM, "0.4", "2.3", ages=(10, None)),
        ),
        LabCode.CREATININE.value: (
            _range(LabCode.CREATININE, "25", "60", ages=(None, 12)),
            _range(LabCode.CREATININE, "35", "75", ages=(12, 15)),
            _range(LabCode.CREATININE, "40", "80", sex="F", ages=(15, None)),
            _range(LabCode.CREATININE, "50", "95", sex="M", ages=(15, None)),
        ),
    }
)

Flag = Literal["L", "H"]


class Significance(models.TextChoices):
    """The investigator's or coordinator's judgement of a value outside its range."""

    NOT_SIGNIFICANT = "not_significant", gettext_lazy("Not clinically significant")
    EXPECTED = "expected", gettext_lazy("Expected for the disease")
    SIGNIFICANT = "significant", gettext_lazy("Clinically significant")


# A value judged so needs no data query: the judgement is the answer a query would get.
SETTLING_JUDGEMENTS = frozenset({Significance.NOT_SIGNIFICANT, Significance.EXPECTED})
Table = Mapping[str, tuple[ReferenceRange, ...]]


def reference_range(
    code: str, *, age: int | None, sex: str | None, site: str | None = None
) -> ReferenceRange:
    """THE range of test ``code`` for a child of ``age`` completed years at the sample and
    ``sex``, at ``site``'s laboratory: every reader (edit checks, lab panels, casebook,
    exports) asks here.

    The site's table (SITE_LAB_REFERENCE_RANGES) over the trial's (LAB_REFERENCE_RANGES)
    over the defaults; within a table a band of the child's sex before one for either sex;
    the test's all-ages row when no band covers the child or the age is unknown.
    """
    try:
        rows = _table_for(site)[code]
    except KeyError:
        raise UnknownLabCode(code) from None
    for wanted_sex in (sex, None) if sex else (None,):
        for row in rows:
            if row.sex == wanted_sex and row.covers(age, sex):
                return row
    return rows[-1]


def reference_table(site: str | None = None) -> Mapping[str, ReferenceRange]:
    """The all-ages range of each test in force (age unknown): the defaults with the
    settings over them."""
    return MappingProxyType(
        {code: reference_range(code, age=None, sex=None, site=site) for code in UNITS}
    )


def _table_for(site: str | None) -> Table:
    overrides = getattr(settings, "LAB_REFERENCE_RANGES", None) or {}
    per_site = getattr(settings, "SITE_LAB_REFERENCE_RANGES", None) or {}
    site_overrides = per_site.get(site, {}) if site else {}
    key = json.dumps([overrides, site_overrides], sort_keys=True, default=str)
    return _merged(key)


@lru_cache(maxsize=16)
def _merged(overrides_json: str) -> Table:
    table: dict[str, tuple[ReferenceRange, ...]] = {
        code: (*PAEDIATRIC_BANDS.get(code, ()), REFERENCE_RANGES[code]) for code in UNITS
    }
    for overrides in json.loads(overrides_json):
        for code, setting in overrides.items():
            if code not in UNITS:
                raise ImproperlyConfigured(f"LAB_REFERENCE_RANGES: unknown test {code!r}.")
            table[code] = _parse_setting(code, setting, fallback=REFERENCE_RANGES[code])
    return MappingProxyType(table)


def _parse_setting(
    code: str, setting: object, *, fallback: ReferenceRange
) -> tuple[ReferenceRange, ...]:
    """``[lower, upper]`` (every age and sex) or a list of bands
    ``{"sex": "F"|"M"|null, "ages": [from, to], "limits": [lower, upper]}``."""
    if isinstance(setting, list) and setting and all(isinstance(b, dict) for b in setting):
        rows = tuple(_parse_band(code, band) for band in setting)
        return (*rows, fallback)
    lower, upper = _parse_limits(code, setting)
    return (ReferenceRange(code=code, lower=lower, upper=upper),)


def _parse_band(code: str, band: dict) -> ReferenceRange:
    sex, ages = band.get("sex"), band.get("ages", [None, None])
    if sex not in (None, "F", "M"):
        raise ImproperlyConfigured(f"LAB_REFERENCE_RANGES[{code!r}]: sex is F, M or null.")
    try:
        if not isinstance(ages, list) or len(ages) != 2:
            raise TypeError
        age_from, age_to = (None if a is None else int(a) for a in ages)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(
            f"LAB_REFERENCE_RANGES[{code!r}]: ages must be [from, to] years or null."
        ) from None
    lower, upper = _parse_limits(code, band.get("limits"))
    return ReferenceRange(code, lower, upper, sex=sex, age_from=age_from, age_to=age_to)


def _parse_limits(code: str, limits: object) -> tuple[Decimal | None, Decimal | None]:
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
    return lower, upper


@dataclass(frozen=True)
class LabFacts:
    """The child's facts that pick a reference range: age in completed years at the sample,
    sex, the site whose laboratory measured it (``Screening.lab_facts`` builds it)."""

    age: int | None
    sex: str | None
    site: str | None

    def range(self, code: str) -> ReferenceRange:
        return reference_range(code, age=self.age, sex=self.sex, site=self.site)

    def flag(self, code: str, value: Decimal | int) -> LabFlag:
        return flag(code, value, age=self.age, sex=self.sex, site=self.site)


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
    code: str,
    value: Decimal | int,
    ranges: Mapping[str, ReferenceRange] | None = None,
    *,
    age: int | None = None,
    sex: str | None = None,
    site: str | None = None,
) -> LabFlag:
    """'L' if value < lower, 'H' if value > upper, None within the range (limits inclusive).

    The range is the child's (``reference_range(code, age=, sex=, site=)``) unless
    ``ranges`` gives one per test.
    """
    if ranges is None:
        reference = reference_range(code, age=age, sex=sex, site=site)
    else:
        try:
            reference = ranges[code]
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
