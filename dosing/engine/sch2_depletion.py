"""SCH2: B-cell depletion, and which result decides after a rituximab infusion.

Depleted = CD19⁺ B cells < 0.5 % of lymphocytes OR absolute CD19⁺ < 20 × 10⁶/L (strict);
both units of the absolute count are accepted and stored in one canonical unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from dosing.engine.facts import AbsoluteCountUnit, BCellResult, Depletion
from dosing.engine.windows import num as _num
from trialsite.protocol import B_CELL_DEPLETION_ABSOLUTE_10E6_L, B_CELL_DEPLETION_PERCENT

# Unit arithmetic, not protocol: CD19+ % of lymphocytes x lymphocytes (x10^9/L) gives
# x10^9/L after /100, and x10^6/L after x1000, i.e. a factor of 10 overall.
_PERCENT_TIMES_10E9_L_TO_10E6_L = Decimal(10)

# 1 cell/uL = 1 x10^6/L; 1 x10^9/L = 1000 x10^6/L (REFERENCE.md "Formulas and units").
_TO_10E6_L = {
    AbsoluteCountUnit.PER_10E6_L: Decimal(1),
    AbsoluteCountUnit.CELLS_PER_UL: Decimal(1),
    AbsoluteCountUnit.PER_10E9_L: Decimal(1000),
}


def cd19_absolute_in_canonical(value: Decimal, unit: AbsoluteCountUnit) -> Decimal:
    """An absolute CD19+ count converted to the canonical x10^6/L (SCH2 accepts both units)."""
    return value * _TO_10E6_L[unit]


def b_cell_absolute(result: BCellResult) -> tuple[Decimal | None, bool]:
    """The absolute CD19+ count (x10^6/L) SCH2 judges, and whether it is derived.

    The measured count; without it, % x lymphocytes when both are known (a measured count
    beats a derived one).  The number alone, without the texts of ``b_cell_depleted``
    (the B-cell chart plots thousands of them).
    """
    if result.cd19_absolute_10e6_l is not None:
        return result.cd19_absolute_10e6_l, False
    if result.cd19_percent is not None and result.lymphocytes_10e9_l is not None:
        derived = result.cd19_percent * result.lymphocytes_10e9_l * _PERCENT_TIMES_10E9_L_TO_10E6_L
        return derived, True
    return None, False


def b_cell_depleted(result: BCellResult) -> Depletion:
    """SCH2: depleted when CD19+ < 0.5 % OR absolute < 20 x10^6/L (strict on both).

    The absolute count is the measured one; without it, % x lymphocytes when both are
    known (``b_cell_absolute``).  SCH2 is an OR of two measures, so one
    measure below its threshold decides "depleted" alone, but "not depleted" needs both
    measures known and at or above their thresholds: a missing measure could be the low one.
    """
    percent = result.cd19_percent
    absolute, derived = b_cell_absolute(result)

    below: list[str] = []
    at_or_above: list[str] = []
    if percent is not None:
        values = {"value": _num(percent), "limit": _num(B_CELL_DEPLETION_PERCENT)}
        if percent < B_CELL_DEPLETION_PERCENT:
            below.append(_("CD19⁺ %(value)s %% < %(limit)s %%") % values)
        else:
            at_or_above.append(_("CD19⁺ %(value)s %% ≥ %(limit)s %%") % values)
    if absolute is not None:
        values = {"value": _num(absolute), "limit": _num(B_CELL_DEPLETION_ABSOLUTE_10E6_L)}
        if derived:
            text_below = _(
                "%(value)s ×10⁶/L (from %(percent)s %% × %(lymphocytes)s ×10⁹/L lymphocytes)"
                " < %(limit)s ×10⁶/L"
            )
            text_above = _(
                "%(value)s ×10⁶/L (from %(percent)s %% × %(lymphocytes)s ×10⁹/L lymphocytes)"
                " ≥ %(limit)s ×10⁶/L"
            )
            assert percent is not None and result.lymphocytes_10e9_l is not None
            values |= {"percent": _num(percent), "lymphocytes": _num(result.lymphocytes_10e9_l)}
        else:
            text_below = _("CD19⁺ %(value)s ×10⁶/L < %(limit)s ×10⁶/L")
            text_above = _("CD19⁺ %(value)s ×10⁶/L ≥ %(limit)s ×10⁶/L")
        if absolute < B_CELL_DEPLETION_ABSOLUTE_10E6_L:
            below.append(text_below % values)
        else:
            at_or_above.append(text_above % values)

    if below:
        depleted: bool | None = True
        comparison = _(" and ").join(below)
        reason = _("%(comparison)s: depleted (SCH2)") % {"comparison": comparison}
    elif percent is not None and absolute is not None:
        depleted = False
        comparison = _(" and ").join(at_or_above)
        reason = _("%(comparison)s: not depleted (SCH2)") % {"comparison": comparison}
    elif at_or_above:
        depleted = None
        missing = (
            _("absolute count (or lymphocyte count) not available")
            if absolute is None
            else _("CD19⁺ % not available")
        )
        comparison = _("%(known)s, %(missing)s") % {"known": at_or_above[0], "missing": missing}
        reason = _("%(comparison)s: depletion cannot be decided (SCH2)") % {
            "comparison": comparison
        }
    else:
        depleted = None
        comparison = _("no CD19⁺ value")
        reason = _("No CD19⁺ value: depletion cannot be decided (SCH2)")
    return Depletion(
        depleted=depleted,
        reason=reason,
        comparison=comparison,
        percent=percent,
        absolute_10e6_l=absolute,
        absolute_derived=derived,
    )


@dataclass(frozen=True)
class Verdict:
    result: BCellResult
    depletion: Depletion


def deciding_result(
    results: tuple[BCellResult, ...], after: date, until: date
) -> tuple[Verdict | None, Verdict | None]:
    """(latest decisive result, latest undecidable result) for one SCH2 decision.

    A result qualifies when dated strictly AFTER the infusion and on/before ``until`` (the
    next target day, or the next infusion if it came earlier).  Strictly after, because
    results carry a date and no time, and a sample on the infusion day is the pre-dose
    sample: it shows the B cells before that dose, so it cannot show what the dose did.
    The latest qualifying result decides (ties: the one entered last).
    """
    qualifying = sorted(
        (r for r in results if after < r.taken_on <= until), key=lambda r: r.taken_on
    )
    decisive: Verdict | None = None
    undecided: Verdict | None = None
    for result in qualifying:
        verdict = Verdict(result, b_cell_depleted(result))
        if verdict.depletion.depleted is None:
            undecided = verdict
        else:
            decisive = verdict
    return decisive, undecided
