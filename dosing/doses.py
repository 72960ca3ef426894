"""Proposed doses for the infusion form (PROTOCOL.md "Decision (doses)").

The app proposes, the investigator prescribes, the nurse records what was given.  Every
result carries an explanation in words so the form can show how the number came about.
Decimal throughout: a dose is a measurement, never a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from dosing.engine import Drug
from trialsite.dates import within_days_before
from trialsite.protocol import (
    ANTHROPOMETRY_MAX_AGE_DAYS,
    BELIMUMAB_DOSE_MG_PER_KG,
    DOSE_TOLERANCE_FRACTION,
    RITUXIMAB_DOSE_MG_PER_M2,
    RITUXIMAB_MAX_DOSE_MG,
)

# Mosteller: BSA (m2) = sqrt(height cm x weight kg / 3600); 3600 is part of the formula
# (REFERENCE.md "Formulas and units"), not a protocol parameter.
_MOSTELLER_DIVISOR = Decimal(3600)
_BSA_QUANTUM = Decimal("0.01")  # BSA in m2 to 2 decimals
_WHOLE_MG = Decimal(1)
_PERCENT = Decimal(100)


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _positive(name: str, value: Decimal) -> None:
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")


@dataclass(frozen=True)
class BodySurfaceArea:
    m2: Decimal  # rounded to 2 decimals
    explanation: str


@dataclass(frozen=True)
class DoseProposal:
    drug: Drug
    dose_mg: Decimal  # whole mg, after the cap
    uncapped_mg: Decimal  # whole mg, before the cap (equal to dose_mg when not capped)
    capped: bool
    bsa_m2: Decimal | None  # rituximab only
    weight_kg: Decimal
    explanation: str


@dataclass(frozen=True)
class DoseCheck:
    proposed_mg: Decimal
    given_mg: Decimal
    difference_fraction: Decimal  # |given - proposed| / proposed
    needs_reason: bool
    explanation: str


@dataclass(frozen=True)
class AnthropometryCheck:
    measured_on: date
    infusion_date: date
    days_old: int  # negative when measured after the infusion
    current: bool
    explanation: str


def body_surface_area(height_cm: Decimal, weight_kg: Decimal) -> BodySurfaceArea:
    """Mosteller BSA = sqrt(height cm x weight kg / 3600), rounded half-up to 0.01 m2."""
    _positive("height_cm", height_cm)
    _positive("weight_kg", weight_kg)
    m2 = (
        (height_cm * weight_kg / _MOSTELLER_DIVISOR)
        .sqrt()
        .quantize(_BSA_QUANTUM, rounding=ROUND_HALF_UP)
    )
    explanation = _("BSA (Mosteller) = √(%(height)s cm × %(weight)s kg / 3600) = %(bsa)s m²") % {
        "height": _num(height_cm),
        "weight": _num(weight_kg),
        "bsa": m2,
    }
    return BodySurfaceArea(m2=m2, explanation=explanation)


def propose_rituximab_dose(
    height_cm: Decimal, weight_kg: Decimal, max_dose_mg: Decimal = RITUXIMAB_MAX_DOSE_MG
) -> DoseProposal:
    """375 mg/m2 x Mosteller BSA (the rounded BSA the form shows), whole mg, capped.

    The BSA is rounded before multiplying so a nurse can redo the sum from the form.
    """
    _positive("max_dose_mg", max_dose_mg)
    bsa = body_surface_area(height_cm, weight_kg)
    uncapped = (RITUXIMAB_DOSE_MG_PER_M2 * bsa.m2).quantize(_WHOLE_MG, rounding=ROUND_HALF_UP)
    capped = uncapped > max_dose_mg
    dose = max_dose_mg.quantize(_WHOLE_MG, rounding=ROUND_HALF_UP) if capped else uncapped
    values = {
        "bsa_text": bsa.explanation,
        "per_m2": _num(RITUXIMAB_DOSE_MG_PER_M2),
        "bsa": bsa.m2,
        "uncapped": uncapped,
        "maximum": _num(max_dose_mg),
    }
    if capped:
        explanation = (
            _(
                "%(bsa_text)s; %(per_m2)s mg/m² × %(bsa)s m² = %(uncapped)s mg, capped at the "
                "maximum of %(maximum)s mg per infusion: proposed %(maximum)s mg."
            )
            % values
        )
    else:
        explanation = (
            _(
                "%(bsa_text)s; %(per_m2)s mg/m² × %(bsa)s m² = %(uncapped)s mg (maximum "
                "%(maximum)s mg not reached): proposed %(uncapped)s mg."
            )
            % values
        )
    return DoseProposal(
        drug=Drug.RITUXIMAB,
        dose_mg=dose,
        uncapped_mg=uncapped,
        capped=capped,
        bsa_m2=bsa.m2,
        weight_kg=weight_kg,
        explanation=explanation,
    )


def propose_belimumab_dose(weight_kg: Decimal) -> DoseProposal:
    """10 mg/kg, whole mg (no cap in the protocol; no day-14 loading dose)."""
    _positive("weight_kg", weight_kg)
    dose = (BELIMUMAB_DOSE_MG_PER_KG * weight_kg).quantize(_WHOLE_MG, rounding=ROUND_HALF_UP)
    explanation = _("%(per_kg)s mg/kg × %(weight)s kg = %(dose)s mg: proposed %(dose)s mg.") % {
        "per_kg": _num(BELIMUMAB_DOSE_MG_PER_KG),
        "weight": _num(weight_kg),
        "dose": dose,
    }
    return DoseProposal(
        drug=Drug.BELIMUMAB,
        dose_mg=dose,
        uncapped_mg=dose,
        capped=False,
        bsa_m2=None,
        weight_kg=weight_kg,
        explanation=explanation,
    )


def dose_difference_fraction(proposed: Decimal, given: Decimal) -> Decimal:
    """|given - proposed| / proposed, unrounded (0.1 means 10 %)."""
    _positive("proposed", proposed)
    if given < 0:
        raise ValueError(f"given must not be negative, got {given}")
    return abs(given - proposed) / proposed


def dose_needs_reason(proposed: Decimal, given: Decimal) -> bool:
    """True when the dose differs from the proposal by MORE than 10 % (exactly 10 % is fine)."""
    return dose_difference_fraction(proposed, given) > DOSE_TOLERANCE_FRACTION


def check_dose(proposed: Decimal, given: Decimal) -> DoseCheck:
    """``dose_needs_reason`` with the explanation the infusion form shows."""
    fraction = dose_difference_fraction(proposed, given)
    needs_reason = fraction > DOSE_TOLERANCE_FRACTION
    values = {
        "given": _num(given),
        "proposed": _num(proposed),
        "difference": _num((fraction * _PERCENT).quantize(Decimal("0.1"), ROUND_HALF_UP)),
        "tolerance": _num(DOSE_TOLERANCE_FRACTION * _PERCENT),
    }
    if needs_reason:
        explanation = (
            _(
                "%(given)s mg differs from the proposed %(proposed)s mg by %(difference)s %%, "
                "more than %(tolerance)s %%: give a reason (flagged)."
            )
            % values
        )
    else:
        explanation = (
            _(
                "%(given)s mg is within %(tolerance)s %% of the proposed %(proposed)s mg "
                "(difference %(difference)s %%)."
            )
            % values
        )
    return DoseCheck(
        proposed_mg=proposed,
        given_mg=given,
        difference_fraction=fraction,
        needs_reason=needs_reason,
        explanation=explanation,
    )


def anthropometry_is_current(measured_on: date, infusion_date: date) -> bool:
    """Weight/height usable for a dose: measured D-7 <= m <= D (exactly 7 days old counts)."""
    return within_days_before(measured_on, infusion_date, ANTHROPOMETRY_MAX_AGE_DAYS)


def check_anthropometry(measured_on: date, infusion_date: date) -> AnthropometryCheck:
    """``anthropometry_is_current`` with the explanation the infusion form shows."""
    current = anthropometry_is_current(measured_on, infusion_date)
    days_old = (infusion_date - measured_on).days
    values = {
        "measured": measured_on.isoformat(),
        "infusion": infusion_date.isoformat(),
        "days": days_old,
        "limit": ANTHROPOMETRY_MAX_AGE_DAYS,
    }
    if current:
        explanation = (
            _(
                "Measured on %(measured)s, %(days)s days before the infusion on %(infusion)s "
                "(at most %(limit)s): usable for the dose."
            )
            % values
        )
    elif days_old < 0:
        explanation = (
            _(
                "Measured on %(measured)s, after the infusion on %(infusion)s: cannot be the "
                "basis of its dose."
            )
            % values
        )
    else:
        explanation = (
            _(
                "Measured on %(measured)s, %(days)s days before the infusion on %(infusion)s "
                "(more than %(limit)s): measure weight and height again."
            )
            % values
        )
    return AnthropometryCheck(
        measured_on=measured_on,
        infusion_date=infusion_date,
        days_old=days_old,
        current=current,
        explanation=explanation,
    )
