"""Prednisone-equivalent dose for the concomitant-medication log (PROTOCOL.md "Outcomes":
glucocorticoid dose is a secondary outcome).

Each glucocorticoid is defined by the dose equivalent to 5 mg of prednisone (standard
anti-inflammatory equivalence tables); the factor is 5 / that dose, kept as an exact
ratio so 0.75 mg of dexamethasone comes out as exactly 5 mg, not 5.0025.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

from django.db.models import TextChoices
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

_PREDNISONE_REFERENCE_MG = Decimal("5")
# Results are shown to 0.01 mg/day and 0.001 mg/kg/day; rounding happens once, at the end.
_MG_PLACES = Decimal("0.01")
_MG_PER_KG_PLACES = Decimal("0.001")

# mg of each drug equivalent to 5 mg prednisone.  Keys must equal protocol.GLUCOCORTICOIDS
# (a test checks), so every glucocorticoid the eligibility rules know can be converted.
EQUIVALENT_TO_5_MG_PREDNISONE: Mapping[str, Decimal] = MappingProxyType(
    {
        "prednisone": Decimal("5"),
        "prednisolone": Decimal("5"),
        "methylprednisolone": Decimal("4"),  # factor 1.25
        "hydrocortisone": Decimal("20"),  # factor 0.25
        "dexamethasone": Decimal("0.75"),  # factor 6.67 (20/3)
    }
)

PREDNISONE_FACTORS: Mapping[str, Decimal] = MappingProxyType(
    {
        drug: _PREDNISONE_REFERENCE_MG / equivalent
        for drug, equivalent in EQUIVALENT_TO_5_MG_PREDNISONE.items()
    }
)


class DoseFrequency(TextChoices):
    ONCE_DAILY = "qd", _("once daily")
    TWICE_DAILY = "bid", _("twice daily")
    THREE_TIMES_DAILY = "tid", _("three times daily")
    EVERY_OTHER_DAY = "qod", _("every other day")
    WEEKLY = "weekly", _("once weekly")
    ONCE = "once", _("single dose")


@dataclass(frozen=True)
class Frequency:
    doses: int
    per_days: int  # doses per this many days


# A single dose (e.g. a methylprednisolone pulse) is counted as that day's dose: the log
# records the day it was given, not an average over a period the dose does not define.
FREQUENCIES: Mapping[str, Frequency] = MappingProxyType(
    {
        DoseFrequency.ONCE_DAILY: Frequency(1, 1),
        DoseFrequency.TWICE_DAILY: Frequency(2, 1),
        DoseFrequency.THREE_TIMES_DAILY: Frequency(3, 1),
        DoseFrequency.EVERY_OTHER_DAY: Frequency(1, 2),
        DoseFrequency.WEEKLY: Frequency(1, 7),
        DoseFrequency.ONCE: Frequency(1, 1),
    }
)


# Routes by which a glucocorticoid acts on the whole body and counts towards the dose
# (codes of crf.models.Route); topical, eye drops, inhaled and the others do not.
SYSTEMIC_ROUTES: frozenset[str] = frozenset({"oral", "iv", "im"})

# Salt and ester words of glucocorticoid preparations ("methylprednisolone sodium
# succinate", "prednisolone acetate"): dropped to find the drug.  Doses of these
# preparations are labelled as the base drug (40 mg methylprednisolone as the sodium
# succinate is 40 mg methylprednisolone), so the factor of the base applies.
_SALT_AND_ESTER_WORDS = frozenset(
    {
        "acetate",
        "sodium",
        "disodium",
        "succinate",
        "hemisuccinate",
        "phosphate",
        "tebutate",
        "butyrate",
        "valerate",
        "propionate",
        "dipropionate",
        "cypionate",
    }
)


def _normalise(drug: str) -> str:
    return " ".join(drug.split()).lower()


def glucocorticoid_name(drug: str) -> str | None:
    """The glucocorticoid a drug name is, salt or ester aside, e.g. "Methylprednisolone
    sodium succinate" -> "methylprednisolone"; None for any other drug."""
    words = _normalise(drug).replace("-", " ").replace(",", " ").split()
    base = " ".join(word for word in words if word not in _SALT_AND_ESTER_WORDS)
    return base if base in PREDNISONE_FACTORS else None


def is_glucocorticoid(drug: str) -> bool:
    return glucocorticoid_name(drug) is not None


def is_systemic(route: str) -> bool:
    return route in SYSTEMIC_ROUTES


def counts_towards_dose(drug: str, route: str) -> bool:
    """A glucocorticoid taken systemically: converted to prednisone equivalent."""
    return is_glucocorticoid(drug) and is_systemic(route)


def _positive(value: Decimal | int, name: str, *, allow_zero: bool) -> Decimal:
    # Doses and weights are measured values: Decimal, never float.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(
            gettext("%(name)s must be a Decimal or an integer, not %(type)s.")
            % {"name": name, "type": type(value).__name__}
        )
    number = Decimal(value)
    if not number.is_finite() or number < 0 or (number == 0 and not allow_zero):
        raise ValueError(
            gettext("%(name)s %(value)s is not valid.") % {"name": name, "value": value}
        )
    return number


def _daily_prednisone_mg(drug: str, dose_mg: Decimal | int, frequency: str) -> Decimal | None:
    name = glucocorticoid_name(drug)
    factor = None if name is None else PREDNISONE_FACTORS[name]
    dose = _positive(dose_mg, "dose_mg", allow_zero=True)
    try:
        schedule = FREQUENCIES[frequency]
    except KeyError:
        raise ValueError(
            gettext("Unknown dose frequency %(frequency)s.") % {"frequency": frequency}
        ) from None
    if factor is None:
        return None
    return dose * factor * schedule.doses / schedule.per_days


def prednisone_equivalent_mg_per_day(
    drug: str, dose_mg: Decimal | int, frequency: str
) -> Decimal | None:
    """Prednisone-equivalent mg/day (2 dp); None for a drug that is not a glucocorticoid.

    ``drug`` is the generic name (case, spacing, salt and ester ignored); ``frequency`` a
    ``DoseFrequency`` value; ``dose_mg`` the amount per administration.
    """
    daily = _daily_prednisone_mg(drug, dose_mg, frequency)
    if daily is None:
        return None
    return daily.quantize(_MG_PLACES, rounding=ROUND_HALF_UP)


def prednisone_equivalent_mg_per_kg_per_day(
    drug: str, dose_mg: Decimal | int, frequency: str, weight_kg: Decimal | int
) -> Decimal | None:
    """Prednisone-equivalent mg/kg/day (3 dp); None for a drug that is not a glucocorticoid."""
    weight = _positive(weight_kg, "weight_kg", allow_zero=False)
    daily = _daily_prednisone_mg(drug, dose_mg, frequency)
    if daily is None:
        return None
    return (daily / weight).quantize(_MG_PER_KG_PLACES, rounding=ROUND_HALF_UP)
