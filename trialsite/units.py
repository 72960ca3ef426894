"""Lab analytes, their units and conversions, shared by the whole app.

Every measurement is stored in one canonical unit per analyte (REFERENCE.md "Formulas and
units"); forms accept the other units sites report in and convert on entry.  Values are
``Decimal`` throughout: a float would turn 0.1 g/L into 0.1000000000000000055511151231257827.

The plausible ranges are what is physically possible, not reference ranges: they exist to
refuse typing errors (IgG 400 g/L, a negative count), never to judge a result clinically.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from types import MappingProxyType

from django.db.models import TextChoices
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialsite.protocol import EGFR_ROUNDING_STEP, SCHWARTZ_K

# Unit symbols are the same in every language; labels with words in them are translated.
Label = str | Promise


class UnitError(ValueError):
    """An unknown analyte or a unit the analyte is not entered in."""


@dataclass(frozen=True)
class Unit:
    """One way of entering an analyte: ``canonical value = entered value × factor``."""

    key: str  # ASCII, what a form or model stores
    label: Label  # what the user sees
    factor: Decimal


@dataclass(frozen=True)
class Analyte:
    code: str
    name: Label
    units: tuple[Unit, ...]  # the canonical unit first, with factor 1
    plausible_min: Decimal
    plausible_max: Decimal

    @property
    def canonical_unit(self) -> Unit:
        return self.units[0]

    def unit(self, key: str) -> Unit:
        for unit in self.units:
            if unit.key == key:
                return unit
        raise UnitError(
            _("%(analyte)s cannot be entered in %(unit)s.") % {"analyte": self.name, "unit": key}
        )


ONE = Decimal("1")

# Units used by more than one analyte.
G_L = Unit("g/L", "g/L", ONE)
MG_DL_TO_G_L = Unit("mg/dL", "mg/dL", Decimal("0.01"))  # 1 g/L = 100 mg/dL
MG_L = Unit("mg/L", "mg/L", ONE)
E9_L = Unit("10^9/L", "×10⁹/L", ONE)
PER_UL_TO_E9_L = Unit("/uL", "/µL", Decimal("0.001"))  # 1.0 × 10⁹/L = 1000/µL


def _analyte(
    code: str, name: Label, units: tuple[Unit, ...], plausible: tuple[str, str]
) -> Analyte:
    low, high = plausible
    return Analyte(code, name, units, Decimal(low), Decimal(high))


_ALL = (
    _analyte(
        "creatinine",
        gettext_lazy("Creatinine"),
        (Unit("umol/L", "µmol/L", ONE), Unit("mg/dL", "mg/dL", Decimal("88.4"))),
        ("5", "3000"),
    ),
    _analyte(
        "egfr",
        gettext_lazy("eGFR"),
        (Unit("mL/min/1.73m2", "mL/min/1.73 m²", ONE),),
        ("1", "300"),
    ),
    _analyte("igg", gettext_lazy("IgG"), (G_L, MG_DL_TO_G_L), ("0", "150")),
    _analyte("iga", gettext_lazy("IgA"), (G_L, MG_DL_TO_G_L), ("0", "100")),
    _analyte("igm", gettext_lazy("IgM"), (G_L, MG_DL_TO_G_L), ("0", "100")),
    _analyte("wbc", gettext_lazy("White blood cells"), (E9_L, PER_UL_TO_E9_L), ("0", "1000")),
    _analyte("neutrophils", gettext_lazy("Neutrophils"), (E9_L, PER_UL_TO_E9_L), ("0", "500")),
    _analyte("lymphocytes", gettext_lazy("Lymphocytes"), (E9_L, PER_UL_TO_E9_L), ("0", "1000")),
    # The rest of the differential: a count above the white cell count's own plausible
    # limit is a typing error, whatever the disease.
    _analyte("monocytes", gettext_lazy("Monocytes"), (E9_L, PER_UL_TO_E9_L), ("0", "200")),
    _analyte("eosinophils", gettext_lazy("Eosinophils"), (E9_L, PER_UL_TO_E9_L), ("0", "200")),
    _analyte("basophils", gettext_lazy("Basophils"), (E9_L, PER_UL_TO_E9_L), ("0", "50")),
    _analyte(
        "haemoglobin",
        gettext_lazy("Haemoglobin"),
        (G_L, Unit("g/dL", "g/dL", Decimal("10"))),
        ("10", "260"),
    ),
    _analyte("platelets", gettext_lazy("Platelets"), (E9_L, PER_UL_TO_E9_L), ("0", "5000")),
    _analyte("c3", gettext_lazy("Complement C3"), (G_L, MG_DL_TO_G_L), ("0", "10")),
    _analyte("c4", gettext_lazy("Complement C4"), (G_L, MG_DL_TO_G_L), ("0", "5")),
    _analyte("beta2_microglobulin", gettext_lazy("β2-microglobulin"), (MG_L,), ("0", "200")),
    _analyte("esr", gettext_lazy("ESR"), (Unit("mm/h", "mm/h", ONE),), ("0", "200")),
    _analyte(
        "crp", gettext_lazy("CRP"), (MG_L, Unit("mg/dL", "mg/dL", Decimal("10"))), ("0", "1000")
    ),
    _analyte(
        "rf", gettext_lazy("Rheumatoid factor"), (Unit("IU/mL", "IU/mL", ONE),), ("0", "100000")
    ),
    _analyte(
        "cd19_percent",
        gettext_lazy("CD19⁺ B cells (% of lymphocytes)"),
        # xgettext:no-python-format (a percent sign, not a placeholder)
        (Unit("%", gettext_lazy("% of lymphocytes"), ONE),),
        ("0", "100"),
    ),
    # SCH2: 20 × 10⁶/L = 20 cells/µL = 0.02 × 10⁹/L.
    _analyte(
        "cd19_absolute",
        gettext_lazy("CD19⁺ B cells (absolute count)"),
        (
            Unit("10^6/L", "×10⁶/L", ONE),
            Unit("cells/uL", gettext_lazy("cells/µL"), ONE),
            Unit("10^9/L", "×10⁹/L", Decimal("1000")),
        ),
        ("0", "1000000"),
    ),
    _analyte("height", gettext_lazy("Height"), (Unit("cm", "cm", ONE),), ("30", "250")),
    _analyte("weight", gettext_lazy("Weight"), (Unit("kg", "kg", ONE),), ("1", "300")),
)

ANALYTES: MappingProxyType[str, Analyte] = MappingProxyType({a.code: a for a in _ALL})


# One code per test everywhere: the lab models' choices, the reference ranges and the
# treatment engine's EXC10/EXC11 gate all use these members (their names come from above).
LabTest = TextChoices("LabTest", [(a.code.upper(), (a.code, a.name)) for a in _ALL])


def lab_tests(*codes: str) -> type[TextChoices]:
    """A choice set of some of the tests (a model field's choices), same codes and names."""
    return TextChoices(
        "LabTests", [(LabTest(code).name, (code, LabTest(code).label)) for code in codes]
    )


def get_analyte(code: str) -> Analyte:
    try:
        return ANALYTES[code]
    except KeyError:
        raise UnitError(_("Unknown lab analyte %(code)s.") % {"code": code}) from None


def analyte_choices() -> tuple[tuple[str, Label], ...]:
    """(code, name) for a model or form field choosing an analyte."""
    return tuple((a.code, a.name) for a in _ALL)


def unit_choices(code: str) -> tuple[tuple[str, Label], ...]:
    """(unit key, label) accepted for ``code``; the canonical unit first (the form default)."""
    return tuple((unit.key, unit.label) for unit in get_analyte(code).units)


def canonical_unit_label(code: str) -> Label:
    return get_analyte(code).canonical_unit.label


def _checked(value: Decimal | int) -> Decimal:
    # Measurements are never floats (module docstring); bool is an int but never a value.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(
            _("A measurement must be a Decimal, not %(type)s.") % {"type": type(value).__name__}
        )
    value = Decimal(value)
    if not value.is_finite():
        raise UnitError(_("A measurement must be a finite number."))
    return value


def _plain(value: Decimal) -> Decimal:
    # 4.5 / 0.001 is Decimal("4.5E+3"); keep whole numbers in plain notation.
    return value.quantize(ONE) if value.as_tuple().exponent > 0 else value


def to_canonical(code: str, value: Decimal | int, unit: str) -> Decimal:
    """``value`` entered in ``unit`` (a unit key) expressed in the analyte's canonical unit."""
    analyte = get_analyte(code)
    return _plain(_checked(value) * analyte.unit(unit).factor)


def from_canonical(code: str, value: Decimal | int, unit: str) -> Decimal:
    """A canonical ``value`` expressed in ``unit`` (exact; round for display yourself)."""
    analyte = get_analyte(code)
    return _plain(_checked(value) / analyte.unit(unit).factor)


def is_plausible(code: str, canonical_value: Decimal) -> bool:
    """Whether the value is physically possible for the analyte (refuses typing errors)."""
    analyte = get_analyte(code)
    return analyte.plausible_min <= _checked(canonical_value) <= analyte.plausible_max


def schwartz_egfr(height_cm: Decimal, creatinine_umol_l: Decimal) -> Decimal:
    """Bedside Schwartz eGFR in mL/min/1.73 m², unrounded (EXC3 compares this value).

    EXC3: 0.413 × height (cm) / creatinine (mg/dL), creatinine µmol/L ÷ 88.4 → mg/dL.
    Rounding first would let a true 29.9985 pass as 30.0; show it with ``egfr_for_display``.
    """
    creatinine_mg_dl = from_canonical("creatinine", creatinine_umol_l, "mg/dL")
    if creatinine_mg_dl <= 0 or _checked(height_cm) <= 0:
        raise UnitError(_("Height and creatinine must be positive to compute eGFR."))
    return SCHWARTZ_K * height_cm / creatinine_mg_dl


def egfr_for_display(egfr: Decimal) -> Decimal:
    """A computed eGFR as shown: to ``EGFR_ROUNDING_STEP``, rounded down.

    Down, so the number shown never contradicts the EXC3 verdict on the unrounded value:
    29.9985 shows as 29.9 ("below 30"), never as 30.0; 30 and above never show below 30.
    """
    return egfr.quantize(EGFR_ROUNDING_STEP, rounding=ROUND_FLOOR)


def format_decimal(value: Decimal) -> str:
    """A measurement as people write it: no exponent, no trailing zeros (3.50 → 3.5)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


# One way to write a unit everywhere (issue 19): the keys forms store, and spellings people
# type, written as the unit labels above.
_UNIT_SPELLINGS = MappingProxyType(
    {
        "10^9/L": "×10⁹/L",
        "x10^9/L": "×10⁹/L",
        "×10^9/L": "×10⁹/L",
        "10e9/L": "×10⁹/L",
        "x10⁹/L": "×10⁹/L",
        "10⁹/L": "×10⁹/L",
        "10^6/L": "×10⁶/L",
        "x10^6/L": "×10⁶/L",
        "×10^6/L": "×10⁶/L",
        "10⁶/L": "×10⁶/L",
        "/uL": "/µL",
        "cells/uL": "cells/µL",
        "umol/L": "µmol/L",
    }
)


def unit_text(unit: object) -> str:
    """A unit as written everywhere: "×10⁹/L", never "10^9/L" or "x10^9/L"."""
    text = str(unit or "").strip()
    return _UNIT_SPELLINGS.get(text, text)


def format_number(value: object) -> str:
    """A number as people read it, in the reader's language: no exponent, no trailing zeros
    (14.200 → 14.2, 21.000000 → 21), the language's decimal separator. Text that is not a
    number comes back as it is; ``None`` as an empty string."""
    from django.utils import formats

    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(value)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:
        return str(value)
    if not number.is_finite():
        return str(value)
    return formats.number_format(format_decimal(number), use_l10n=True)


def format_measure(value: object, unit: object = "") -> str:
    """A value and its unit, the unit after the value: "2.4 ×10⁹/L", "37.5 °C"."""
    number = format_number(value)
    label = unit_text(unit)
    return f"{number} {label}" if number and label else number
