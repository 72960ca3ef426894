"""Hard and soft plausibility limits per measure, and the one function that applies them.

Two kinds of limit catch typing errors at entry (issue 19), never to judge a result
clinically (reference ranges and H/L flags do that):

* **hard** limits: outside them a value cannot exist in a child (IgG 850 g/L, a
  temperature of 368 °C, a B-cell percentage of 150): the value is refused;
* **soft** limits: outside them a value is possible but rare enough to be a typing error
  more often than a result (WBC 56 ×10⁹/L): it is saved only when the person entering it
  ticks "I have checked this value", a tick kept on the record (and so in its audit trail).

Limits are in the measure's canonical unit (``trialsite.units`` for lab analytes); a value
entered in another unit is converted before it is compared, and a message shows the limit
in the unit the value was entered in. Pure data and a pure function: no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from trialsite import units


@dataclass(frozen=True)
class Limits:
    """``hard_low ≤ soft_low ≤ soft_high ≤ hard_high``, in ``unit`` (a unit key)."""

    name: str | Promise
    unit: str  # unit key (canonical for a lab analyte)
    unit_label: str | Promise
    hard_low: Decimal
    soft_low: Decimal
    soft_high: Decimal
    hard_high: Decimal


@dataclass(frozen=True)
class Ok:
    pass


@dataclass(frozen=True)
class Implausible:
    """Outside the soft limits: saved only when confirmed. ``limit`` in the entered unit."""

    limit: Decimal
    above: bool


@dataclass(frozen=True)
class Impossible:
    """Outside the hard limits: refused. ``limit`` in the entered unit."""

    limit: Decimal
    above: bool


Plausibility = Ok | Implausible | Impossible


def _analyte(code: str, soft: tuple[str, str]) -> Limits:
    # The hard limits are trialsite.units's physical limits: one number everywhere.
    analyte = units.get_analyte(code)
    unit = analyte.canonical_unit
    low, high = map(Decimal, soft)
    return Limits(
        analyte.name, unit.key, unit.label, analyte.plausible_min, low, high, analyte.plausible_max
    )


def _measure(
    name: Promise, unit: str, hard: tuple[str, str], soft: tuple[str, str], label: str = ""
) -> Limits:
    return Limits(
        name, unit, label or unit, Decimal(hard[0]), *map(Decimal, soft), Decimal(hard[1])
    )


# The soft limits are clinical
# judgement of what a child with Sjögren's on B-cell therapy may show (issue 19).
_LIMITS = {
    "wbc": _analyte("wbc", ("0.5", "50")),
    "neutrophils": _analyte("neutrophils", ("0.1", "40")),
    "lymphocytes": _analyte("lymphocytes", ("0.1", "20")),
    "haemoglobin": _analyte("haemoglobin", ("40", "200")),
    "platelets": _analyte("platelets", ("10", "1000")),
    "igg": _analyte("igg", ("1", "50")),
    "iga": _analyte("iga", ("0", "10")),
    "igm": _analyte("igm", ("0", "10")),
    "c3": _analyte("c3", ("0.1", "3")),
    "c4": _analyte("c4", ("0.01", "1.5")),
    "esr": _analyte("esr", ("0", "150")),
    "crp": _analyte("crp", ("0", "300")),
    "creatinine": _analyte("creatinine", ("10", "500")),
    # B cells: physical limits only (a B-cell result keeps no confirmation).
    "cd19_percent": _analyte("cd19_percent", ("0", "100")),
    "cd19_absolute": _analyte("cd19_absolute", ("0", "1000000")),
    "alt": _measure(_("ALT"), "U/L", ("0", "10000"), ("1", "1000")),
    "ast": _measure(_("AST"), "U/L", ("0", "10000"), ("1", "1000")),
    "weight": _analyte("weight", ("10", "150")),
    "height": _analyte("height", ("90", "200")),
    "temperature": _measure(_("Temperature"), "C", ("30", "45"), ("34", "42"), "°C"),
    "heart_rate": _measure(_("Heart rate"), "/min", ("20", "300"), ("40", "200")),
    "respiratory_rate": _measure(_("Respiratory rate"), "/min", ("5", "120"), ("8", "60")),
    "systolic": _measure(_("Systolic blood pressure"), "mmHg", ("40", "300"), ("60", "200")),
    "diastolic": _measure(_("Diastolic blood pressure"), "mmHg", ("20", "200"), ("30", "130")),
    "schirmer": _measure(_("Schirmer I test"), "mm/5min", ("0", "40"), ("0", "35"), "mm/5 min"),
    "salivary_flow": _measure(
        _("Unstimulated salivary flow"), "mL/15min", ("0", "30"), ("0", "15"), "mL/15 min"
    ),
}
# Every other analyte: its physical limits only (no soft limit: nothing to confirm).
for _code, _found in units.ANALYTES.items():
    if _code not in _LIMITS:
        _LIMITS[_code] = _analyte(_code, (str(_found.plausible_min), str(_found.plausible_max)))
LIMITS: MappingProxyType[str, Limits] = MappingProxyType(_LIMITS)

# Form fields of the clinical records that are measures (field name → measure).
FIELD_MEASURES: MappingProxyType[str, str] = MappingProxyType(
    {
        "weight_kg": "weight",
        "height_cm": "height",
        "temperature_c": "temperature",
        "heart_rate_bpm": "heart_rate",
        "respiratory_rate": "respiratory_rate",
        "systolic_mmhg": "systolic",
        "diastolic_mmhg": "diastolic",
        "schirmer_mm_5min": "schirmer",
        "unstimulated_saliva_ml_15min": "salivary_flow",
        "cd19_percent": "cd19_percent",
    }
)


def unit_label(measure: str, unit: str) -> str | Promise:
    """How ``unit`` (a key) of ``measure`` is written ("10^9/L" → "×10⁹/L")."""
    limits = LIMITS[measure]
    if unit == limits.unit:
        return limits.unit_label
    return units.get_analyte(measure).unit(unit).label


def _in_unit(measure: str, canonical: Decimal, unit: str) -> Decimal:
    if unit == LIMITS[measure].unit:
        return canonical
    return units.from_canonical(measure, canonical, unit)


def plausibility(measure: str, value: Decimal, unit: str) -> Plausibility:
    """Whether ``value`` entered in ``unit`` (a unit key) is possible and plausible.

    Raises ``KeyError`` for a measure without limits and ``units.UnitError`` for a unit the
    measure is not entered in. A limit comes back in ``unit``, for the message.
    """
    limits = LIMITS[measure]
    canonical = value if unit == limits.unit else units.to_canonical(measure, value, unit)
    for low, high, kind in (
        (limits.hard_low, limits.hard_high, Impossible),
        (limits.soft_low, limits.soft_high, Implausible),
    ):
        if canonical > high:
            return kind(_in_unit(measure, high, unit), above=True)
        if canonical < low:
            return kind(_in_unit(measure, low, unit), above=False)
    return Ok()
