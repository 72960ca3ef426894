"""EXC10/EXC11: the gate before the first belimumab, on labs within the 10 days before it.

IgG < 4 g/L or IgA < 0.1 g/L (EXC10), WBC < 1.5 or neutrophils < 1.0 × 10⁹/L (EXC11): the
first belimumab cannot be given and treatment ends; without a qualifying result for each
test it cannot be given yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from dosing.engine.facts import (
    Course,
    CourseFacts,
    Drug,
    GateFailure,
    GateOutcome,
    GateResult,
    LabValue,
    Phase,
)
from dosing.engine.labels import infusion_visit_code
from dosing.engine.windows import days as _days
from dosing.engine.windows import num as _num
from trialsite import texts
from trialsite.dates import within_days_before
from trialsite.protocol import (
    IGA_MIN_G_L,
    IGG_MIN_G_L,
    NEUTROPHILS_MIN_10E9_L,
    PRE_BELIMUMAB_LAB_WINDOW_DAYS,
    WBC_MIN_10E9_L,
)
from trialsite.texts import Text
from trialsite.units import LabTest

# The tests of the gate, as lab results store them.
GATE_TESTS = (LabTest.IGG, LabTest.IGA, LabTest.WBC, LabTest.NEUTROPHILS)

_GATE_RULES: tuple[tuple[LabTest, Decimal, str], ...] = (
    (LabTest.IGG, IGG_MIN_G_L, "EXC10"),
    (LabTest.IGA, IGA_MIN_G_L, "EXC10"),
    (LabTest.WBC, WBC_MIN_10E9_L, "EXC11"),
    (LabTest.NEUTROPHILS, NEUTROPHILS_MIN_10E9_L, "EXC11"),
)


def analyte_label(analyte: LabTest) -> str:
    return {
        LabTest.IGG: _("IgG"),
        LabTest.IGA: _("IgA"),
        LabTest.WBC: _("WBC"),
        LabTest.NEUTROPHILS: _("neutrophils"),
    }[analyte]


def analyte_unit(analyte: LabTest) -> str:
    return "g/L" if analyte in (LabTest.IGG, LabTest.IGA) else "×10⁹/L"


def belimumab_lab_gate(first_belimumab_date: date, labs: Iterable[LabValue]) -> GateResult:
    """EXC10/EXC11 on the most recent result per analyte within the 10 days before.

    D-10 <= date <= D (a result exactly 10 days old counts, PROTOCOL.md "Time").  Any
    failing analyte gives FAIL (failing labs end treatment, even if others are missing);
    otherwise any analyte without a qualifying result gives MISSING; otherwise PASS.
    """
    result = _judged(first_belimumab_date, labs)
    if not result.failures:
        return result
    return replace(result, text=_failing_text(first_belimumab_date, result))


def _judged(first_belimumab_date: date, labs: Iterable[LabValue]) -> GateResult:
    labs = tuple(labs)
    oldest = first_belimumab_date - _days(PRE_BELIMUMAB_LAB_WINDOW_DAYS)
    used: list[LabValue] = []
    failures: list[GateFailure] = []
    missing: list[LabTest] = []
    lines: list[str] = []
    failing: list[str] = []
    for analyte, minimum, clause in _GATE_RULES:
        qualifying = sorted(
            (
                lab
                for lab in labs
                if lab.analyte is analyte
                and within_days_before(
                    lab.taken_on, first_belimumab_date, PRE_BELIMUMAB_LAB_WINDOW_DAYS
                )
            ),
            key=lambda lab: lab.taken_on,
        )
        if not qualifying:
            missing.append(analyte)
            continue
        latest = qualifying[-1]  # stable sort: same-day ties go to the one entered last
        used.append(latest)
        values = {
            "analyte": analyte_label(analyte),
            "value": _num(latest.value),
            "minimum": _num(minimum),
            "unit": analyte_unit(analyte),
            "date": latest.taken_on.isoformat(),
            "clause": clause,
        }
        if latest.value < minimum:
            failures.append(GateFailure(clause, analyte, latest.value, minimum, latest.taken_on))
            failing.append(
                _("%(clause)s: %(analyte)s %(value)s %(unit)s < %(minimum)s %(unit)s (%(date)s)")
                % values
            )
        else:
            lines.append(
                _("%(analyte)s %(value)s %(unit)s ≥ %(minimum)s %(unit)s (%(date)s)") % values
            )

    period = {"first": first_belimumab_date.isoformat(), "oldest": oldest.isoformat()}
    missing_text = ", ".join(analyte_label(a) for a in missing)
    if failures:
        reason = _(
            "Labs before the first belimumab on %(first)s fail %(failing)s: the first "
            "belimumab cannot be given and treatment ends (discontinued)."
        ) % (period | {"failing": "; ".join(failing)})
        if missing:
            reason += " " + _("Also without a result from %(oldest)s on: %(missing)s.") % (
                period | {"missing": missing_text}
            )
        outcome = GateOutcome.FAIL
    elif missing:
        reason = _(
            "No result dated %(oldest)s to %(first)s (within %(days)s days before the first "
            "belimumab) for: %(missing)s (EXC10/EXC11)."
        ) % (period | {"missing": missing_text, "days": PRE_BELIMUMAB_LAB_WINDOW_DAYS})
        outcome = GateOutcome.MISSING
    else:
        reason = _(
            "Labs before the first belimumab on %(first)s pass EXC10/EXC11: %(results)s."
        ) % (period | {"results": "; ".join(lines)})
        outcome = GateOutcome.PASS
    return GateResult(
        outcome=outcome,
        used=tuple(used),
        failures=tuple(failures),
        missing=tuple(missing),
        reason=reason,
    )


def _failing_text(first_belimumab_date: date, result: GateResult) -> Text:
    """The reason of a failing gate as a generated text (the reader's language)."""
    oldest = first_belimumab_date - _days(PRE_BELIMUMAB_LAB_WINDOW_DAYS)
    period = {"first": first_belimumab_date.isoformat(), "oldest": oldest.isoformat()}
    lines = [
        Text(
            "gate.failing_line",
            {
                "clause": f.clause,
                "analyte": Text(f"gate.analyte.{f.analyte.value}"),
                "value": _num(f.value),
                "unit": analyte_unit(f.analyte),
                "minimum": _num(f.minimum),
                "date": f.taken_on.isoformat(),
            },
        )
        for f in result.failures
    ]
    text = Text("gate.fail", period | {"failing": texts.joined(lines)})
    if not result.missing:
        return text
    missing = texts.joined([Text(f"gate.analyte.{a.value}") for a in result.missing], commas=True)
    also = Text("gate.also_missing", period | {"missing": missing})
    return Text("sentences", {"first": text, "second": also})


def gate_reference_date(course: Course, facts: CourseFacts) -> date | None:
    """The first belimumab date the gate labs are judged against, while it is awaited.

    The planned date of the first belimumab once it is prescribed, its target before that;
    never today (labs entered late qualify for the day they were taken for).  Recording it
    judges the labs against the day it was given (``refusals``).
    """
    if course.phase is not Phase.AWAITING_FIRST_BELIMUMAB:
        return None
    if facts.belimumab_prescribed_on is not None:
        return facts.belimumab_prescribed_on
    first = course.event(infusion_visit_code(Drug.BELIMUMAB, 1))
    return None if first is None else first.target
