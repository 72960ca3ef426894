"""Eligibility of NCT06410833 as pure functions: one per criterion code, and the assessment.

Facts in (``ScreeningFacts``: what the coordinator entered, ``None`` = not answered yet), a
``CriterionResult`` out per code: PASS, FAIL or MISSING with a one-line reason a clinician can
check and the human labels of whatever is missing.  Nothing here reads the clock or the
database; the screening date and planned Day 0 are facts like any other.  Every number comes
from ``trialsite.protocol``; dates follow the one window convention of ``trialsite.dates``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import TextChoices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from eligibility.classification import (
    ClassificationResult,
    CriteriaSet,
    SetStatus,
    SjogrenFindings,
    classify,
)
from trialsite import drugs
from trialsite.dates import (
    add_months,
    age_in_completed_years,
    within_days_before,
    within_months_before,
)
from trialsite.protocol import (
    ASSENT_MIN_AGE_YEARS,
    BIOLOGICS,
    EGFR_MIN_ML_MIN_173,
    GLUCOCORTICOIDS,
    IGA_MIN_G_L,
    IGG_MIN_G_L,
    IMMUNOSUPPRESSANTS,
    INFECTION_HOSPITALISATION_DAYS,
    LIVE_VACCINE_MONTHS,
    MAX_AGE_YEARS,
    MIN_AGE_YEARS,
    NEUTROPHILS_MIN_10E9_L,
    NOT_COUNTED,
    OTHER_TRIAL_EXCLUSION_MONTHS,
    PARENTERAL_ANTIMICROBIAL_DAYS,
    PRE_BELIMUMAB_LAB_WINDOW_DAYS,
    PRIOR_RITUXIMAB_EXCLUSION_MONTHS,
    RESISTANT_MIN_IMMUNOSUPPRESSANTS,
    RESISTANT_THERAPY_MIN_DAYS,
    RITUXIMAB,
    SCREENING_WINDOW_DAYS,
    WBC_MIN_10E9_L,
)
from trialsite.reference_ranges import reference_range
from trialsite.units import (
    canonical_unit_label,
    egfr_for_display,
    format_decimal,
    get_analyte,
    schwartz_egfr,
)

# --- Choices -----------------------------------------------------------------------------------


class Status(TextChoices):
    PASS = "pass", gettext_lazy("pass")
    FAIL = "fail", gettext_lazy("fail")
    MISSING = "missing", gettext_lazy("missing")


class Outcome(TextChoices):
    ELIGIBLE = "eligible", gettext_lazy("eligible")
    NOT_ELIGIBLE = "not_eligible", gettext_lazy("not eligible")
    INCOMPLETE = "incomplete", gettext_lazy("incomplete")


class DrugClass(TextChoices):
    # INC3 / EXC1 drug classes; rituximab is its own class (EXC1 has a window for it only).
    IMMUNOSUPPRESSANT = "immunosuppressant", gettext_lazy("Immunosuppressant")
    GLUCOCORTICOID = "glucocorticoid", gettext_lazy("Glucocorticoid")
    BIOLOGIC = "biologic", gettext_lazy("Biologic (other than rituximab)")
    RITUXIMAB = "rituximab", gettext_lazy("Rituximab")
    OTHER = "other", gettext_lazy("Other (not counted)")


class SystemicInvolvement(TextChoices):
    # INC3(b) systemic involvement still present.
    POLYARTHRITIS = "polyarthritis", gettext_lazy("Polyarthritis")
    VASCULITIS = "vasculitis", gettext_lazy("Vasculitis")
    AUTOIMMUNE_CYTOPENIA = "autoimmune_cytopenia", gettext_lazy("Autoimmune cytopenia")
    SKIN = "skin", gettext_lazy("Skin involvement")
    KIDNEY = "kidney", gettext_lazy("Kidney involvement")
    LUNG = "lung", gettext_lazy("Lung involvement")
    NERVE = "nerve", gettext_lazy("Nerve involvement")
    LIVER = "liver", gettext_lazy("Liver involvement")


class BCellActivation(TextChoices):
    # INC3(b) B-cell activation still present.
    ELEVATED_IGG = "elevated_igg", gettext_lazy("Elevated IgG")
    LIGHT_CHAINS = "light_chains", gettext_lazy("Free light chains")
    HIGH_BETA2_MICROGLOBULIN = "high_beta2_microglobulin", gettext_lazy("High β2-microglobulin")
    LOW_C4 = "low_c4", gettext_lazy("Low C4")
    CRYOGLOBULINAEMIA = "cryoglobulinaemia", gettext_lazy("Cryoglobulinaemia")
    MONOCLONAL_COMPONENT = "monoclonal_component", gettext_lazy("Monoclonal component")


def _normalised(drug_name: str) -> str:
    """The English generic name, whether the site typed it in English or Chinese
    (吗替麦考酚酯 is mycophenolate mofetil: the same drug, counted once)."""
    return drugs.canonical(drug_name)


def classify_drug(name: str) -> DrugClass | None:
    """The configured class of a drug name; ``None`` when the name is on no list."""
    drug = _normalised(name)
    if drug == RITUXIMAB:
        return DrugClass.RITUXIMAB
    for names, drug_class in (
        (IMMUNOSUPPRESSANTS, DrugClass.IMMUNOSUPPRESSANT),
        (GLUCOCORTICOIDS, DrugClass.GLUCOCORTICOID),
        (BIOLOGICS, DrugClass.BIOLOGIC),
        (NOT_COUNTED, DrugClass.OTHER),
    ):
        if drug in names:
            return drug_class
    return None


# --- Input -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorTherapy:
    """One period of one drug.  ``stop`` None = ongoing (runs to the screening date)."""

    drug_name: str
    drug_class: DrugClass
    start: date
    stop: date | None = None

    def __post_init__(self) -> None:
        if self.stop is not None and self.stop < self.start:
            raise ValueError(
                _("%(drug)s stops (%(stop)s) before it starts (%(start)s).")
                % {
                    "drug": self.drug_name,
                    "stop": self.stop.isoformat(),
                    "start": self.start.isoformat(),
                }
            )


@dataclass(frozen=True)
class LabResult:
    """A screening lab value in the analyte's canonical unit (``trialsite.units``)."""

    value: Decimal
    taken_on: date

    def __post_init__(self) -> None:
        if not isinstance(self.value, Decimal):
            raise TypeError(_("A lab value must be a Decimal."))


@dataclass(frozen=True)
class ScreeningFacts:
    """Everything the criteria need.  ``None`` = not answered; an empty set = "none"."""

    screening_date: date
    date_of_birth: date | None = None
    sex: str | None = None  # picks the child's reference ranges (with the age at the sample)
    planned_day_0: date | None = None
    # INC2
    sjogren: SjogrenFindings = field(default_factory=SjogrenFindings)
    # INC3(a) and EXC1: the therapy history; () = answered "no prior therapy".
    prior_therapies: tuple[PriorTherapy, ...] | None = None
    # INC3(b): features still present.
    systemic_involvement: frozenset[SystemicInvolvement] | None = None
    b_cell_activation: frozenset[BCellActivation] | None = None
    esr_persistently_raised: bool | None = None
    # Screening labs, canonical units: creatinine µmol/L, eGFR mL/min/1.73 m², height cm,
    # IgG/IgA g/L, WBC/neutrophils × 10⁹/L.
    creatinine: LabResult | None = None
    egfr: LabResult | None = None
    height: LabResult | None = None
    igg: LabResult | None = None
    iga: LabResult | None = None
    wbc: LabResult | None = None
    neutrophils: LabResult | None = None
    # EXC4 serology.
    hbsag: bool | None = None
    hbsab: bool | None = None
    hbcab: bool | None = None
    hcv_ab: bool | None = None
    hiv_ever: bool | None = None
    active_tb: bool | None = None
    # EXC2
    other_trial: bool | None = None
    other_trial_last_date: date | None = None
    # EXC5
    chronic_infection_suppressive_therapy: bool | None = None
    infection_hospitalisation: bool | None = None
    infection_hospitalisation_last_date: date | None = None  # last day in hospital
    parenteral_antimicrobials: bool | None = None
    parenteral_antimicrobials_last_date: date | None = None
    live_vaccine: bool | None = None
    live_vaccine_date: date | None = None
    high_infection_risk: bool | None = None  # investigator judgement
    # EXC6-EXC9
    primary_immunodeficiency: bool | None = None
    malignancy_history: bool | None = None
    severe_uncontrolled_other_disease: bool | None = None
    other_disease_needing_systemic_corticosteroids: bool | None = None
    # INC4
    guardian_agrees: bool | None = None
    child_agrees: bool | None = None


SCREENING_LABS = ("creatinine", "egfr", "height", "igg", "iga", "wbc", "neutrophils")

# Human labels of the facts, for missing-item lists (and for the forms that collect them).
FIELD_LABELS = {
    "screening_date": gettext_lazy("Screening date"),
    "date_of_birth": gettext_lazy("Date of birth"),
    "planned_day_0": gettext_lazy("Planned Day 0 (first rituximab infusion)"),
    "prior_therapies": gettext_lazy("Prior therapy history"),
    "systemic_involvement": gettext_lazy("Systemic involvement still present"),
    "b_cell_activation": gettext_lazy("B-cell activation still present"),
    "esr_persistently_raised": gettext_lazy("Persistently raised ESR"),
    "hbsag": gettext_lazy("HBsAg"),
    "hbsab": gettext_lazy("HBsAb"),
    "hbcab": gettext_lazy("HBcAb"),
    "hcv_ab": gettext_lazy("HCV antibody"),
    "hiv_ever": gettext_lazy("HIV ever positive"),
    "active_tb": gettext_lazy("Active tuberculosis"),
    "other_trial": gettext_lazy("Other clinical trial participation"),
    "other_trial_last_date": gettext_lazy("Date of last participation in another trial"),
    "chronic_infection_suppressive_therapy": gettext_lazy(
        "Suppressive therapy for a chronic infection"
    ),
    "infection_hospitalisation": gettext_lazy("Hospitalisation for infection"),
    "infection_hospitalisation_last_date": gettext_lazy("Last day in hospital for infection"),
    "parenteral_antimicrobials": gettext_lazy("Parenteral antimicrobials"),
    "parenteral_antimicrobials_last_date": gettext_lazy("Last day of parenteral antimicrobials"),
    "live_vaccine": gettext_lazy("Live-attenuated vaccine"),
    "live_vaccine_date": gettext_lazy("Date of live-attenuated vaccine"),
    "high_infection_risk": gettext_lazy("Investigator judges infection risk high"),
    "primary_immunodeficiency": gettext_lazy("Primary immunodeficiency"),
    "malignancy_history": gettext_lazy("History of malignancy"),
    "severe_uncontrolled_other_disease": gettext_lazy(
        "Severe, progressive or uncontrolled non-SS disease"
    ),
    "other_disease_needing_systemic_corticosteroids": gettext_lazy(
        "Non-SS disease requiring systemic corticosteroids"
    ),
    "guardian_agrees": gettext_lazy("Guardian agrees to rituximab and belimumab"),
    "child_agrees": gettext_lazy("Child agrees to rituximab and belimumab (assent)"),
}
FIELD_LABELS.update({lab: get_analyte(lab).name for lab in SCREENING_LABS})


# --- Output ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionResult:
    code: str
    status: Status
    reason: str
    missing_items: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SjogrenCriterionResult(CriterionResult):
    """INC2 also records both classifications (which set(s) are met, and why)."""

    classifications: tuple[ClassificationResult, ...] = ()

    @property
    def criteria_sets_met(self) -> tuple[CriteriaSet, ...]:
        return tuple(c.criteria_set for c in self.classifications if c.status == SetStatus.MET)


@dataclass(frozen=True)
class Assessment:
    outcome: Outcome
    results: tuple[CriterionResult, ...]  # protocol order
    failed_codes: tuple[str, ...]
    missing_items: tuple[str, ...]
    criteria_sets_met: tuple[CriteriaSet, ...]
    warnings: tuple[str, ...]


# --- Helpers -----------------------------------------------------------------------------------


def _label(name: str) -> str:
    return str(FIELD_LABELS[name])


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _iso(day: date) -> str:
    return day.isoformat()


def _pass(code: str, reason: str, warnings: tuple[str, ...] = ()) -> CriterionResult:
    return CriterionResult(code, Status.PASS, reason, (), warnings)


def _fail(code: str, reasons: Iterable[str]) -> CriterionResult:
    return CriterionResult(code, Status.FAIL, "; ".join(reasons))


def _missing(code: str, items: Iterable[str]) -> CriterionResult:
    missing = _unique(items)
    return CriterionResult(
        code, Status.MISSING, _("Missing: %(items)s") % {"items": "; ".join(missing)}, missing
    )


def _measure(lab_name: str, value: Decimal) -> str:
    return f"{format_decimal(value)} {canonical_unit_label(lab_name)}"


def _stale_lab_label(facts: ScreeningFacts, name: str, lab: LabResult) -> str | None:
    """SCR1: a lab dated outside the 28 days before planned Day 0 counts as missing."""
    day_0 = facts.planned_day_0
    if day_0 is None or within_days_before(lab.taken_on, day_0, SCREENING_WINDOW_DAYS):
        return None
    return _(
        "%(lab)s dated within %(days)s days before planned Day 0 (%(day_0)s); "
        "the one entered is dated %(date)s"
    ) % {
        "lab": _label(name),
        "days": SCREENING_WINDOW_DAYS,
        "day_0": _iso(day_0),
        "date": _iso(lab.taken_on),
    }


def _current_lab(facts: ScreeningFacts, name: str) -> tuple[LabResult | None, str | None]:
    """The lab if it can be used, else ``None`` and the missing-item label."""
    lab: LabResult | None = getattr(facts, name)
    if lab is None:
        return None, _label(name)
    stale = _stale_lab_label(facts, name, lab)
    return (None, stale) if stale else (lab, None)


def _recent_days(day: date, reference: date, days: int) -> bool:
    # "Within N days before R" (R - N <= D <= R); a date after R is more recent still.
    return within_days_before(day, reference, days) or day > reference


def _recent_months(day: date, reference: date, months: int) -> bool:
    return within_months_before(day, reference, months) or day > reference


def _yes_no_exclusion(facts: ScreeningFacts, code: str, name: str) -> CriterionResult:
    answer = getattr(facts, name)
    if answer is None:
        return _missing(code, [_label(name)])
    if answer:
        return _fail(code, [_("%(item)s: yes") % {"item": _label(name)}])
    return _pass(code, _("%(item)s: no") % {"item": _label(name)})


# --- Inclusion ---------------------------------------------------------------------------------


def inc1_age(facts: ScreeningFacts) -> CriterionResult:
    """INC1: 5-18 inclusive in completed years on the screening date."""
    if facts.date_of_birth is None:
        return _missing("INC1", [_label("date_of_birth")])
    age = age_in_completed_years(facts.date_of_birth, facts.screening_date)
    values = {
        "age": age,
        "date": _iso(facts.screening_date),
        "min": MIN_AGE_YEARS,
        "max": MAX_AGE_YEARS,
    }
    if MIN_AGE_YEARS <= age <= MAX_AGE_YEARS:
        return _pass("INC1", _("Age %(age)s years on screening (%(date)s)") % values)
    return _fail(
        "INC1",
        [_("Age %(age)s years on screening (%(date)s); must be %(min)s to %(max)s") % values],
    )


def sjogren_classifications(facts: ScreeningFacts) -> tuple[ClassificationResult, ...]:
    """AECG 2002 and Japanese 1999 decided from the captured items (INC2)."""
    return classify(facts.sjogren)


def inc2_sjogren(facts: ScreeningFacts) -> SjogrenCriterionResult:
    """INC2: primary SS by AECG 2002 or Japanese 1999; records which set(s) are met."""
    results = sjogren_classifications(facts)
    met = [r for r in results if r.status == SetStatus.MET]
    if met:
        status, shown, missing = Status.PASS, met, ()
    elif all(r.status == SetStatus.NOT_MET for r in results):
        status, shown, missing = Status.FAIL, list(results), ()
    else:
        status, shown = Status.MISSING, list(results)
        missing = _unique(m for r in results for m in r.missing_items)
    reason = "; ".join(r.explanation for r in shown)
    return SjogrenCriterionResult("INC2", status, reason, missing, (), results)


def _periods(facts: ScreeningFacts, therapies: Iterable[PriorTherapy]) -> list[tuple[date, date]]:
    # A therapy still ongoing runs to the screening date; nothing after it counts.
    periods = []
    for therapy in therapies:
        stop = min(therapy.stop or facts.screening_date, facts.screening_date)
        if therapy.start < stop:
            periods.append((therapy.start, stop))
    return periods


def _union(periods: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    merged: list[tuple[date, date]] = []
    for start, stop in sorted(periods):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def _days(periods: Iterable[tuple[date, date]]) -> int:
    # Duration = stop - start in days; periods of a union never overlap.
    return sum((stop - start).days for start, stop in periods)


def _overlap_days(first: list[tuple[date, date]], second: list[tuple[date, date]]) -> int:
    return sum(
        max(0, (min(a_stop, b_stop) - max(a_start, b_start)).days)
        for a_start, a_stop in first
        for b_start, b_stop in second
    )


def immunosuppressant_days(facts: ScreeningFacts) -> dict[str, int]:
    """INC3(a)(i): days on each immunosuppressant (union of its periods), by drug."""
    by_drug: dict[str, list[tuple[date, date]]] = defaultdict(list)
    for therapy in facts.prior_therapies or ():
        if therapy.drug_class == DrugClass.IMMUNOSUPPRESSANT:
            by_drug[_normalised(therapy.drug_name)] += _periods(facts, [therapy])
    return {drug: _days(_union(periods)) for drug, periods in by_drug.items()}


def glucocorticoid_with_immunosuppressant_days(facts: ScreeningFacts) -> int:
    """INC3(a)(ii): days a glucocorticoid and an immunosuppressant were taken together.

    Reading in use (PROTOCOL.md INC3(a)(ii), "a glucocorticoid and at least one
    immunosuppressant taken at the same time for more than 90 days"): the overlap is counted
    between the union of all glucocorticoid periods and the union of all immunosuppressant
    periods, so switching immunosuppressant under the same steroid keeps counting
    (prednisone with methotrexate 60 days, then azathioprine 39 days = 99 days: resistant).
    It is not required that one single immunosuppressant overlap for more than 90 days.
    """
    therapies = facts.prior_therapies or ()

    def taken(drug_class: DrugClass) -> list[tuple[date, date]]:
        return _union(_periods(facts, (t for t in therapies if t.drug_class == drug_class)))

    return _overlap_days(taken(DrugClass.GLUCOCORTICOID), taken(DrugClass.IMMUNOSUPPRESSANT))


def _inc3a(facts: ScreeningFacts) -> tuple[Status, str]:
    days = immunosuppressant_days(facts)
    long_enough = {drug: d for drug, d in days.items() if d > RESISTANT_THERAPY_MIN_DAYS}
    together = glucocorticoid_with_immunosuppressant_days(facts)
    shown = ", ".join(
        _("%(drug)s %(days)s days") % {"drug": drug, "days": d} for drug, d in days.items()
    )
    values = {
        "drugs": shown or _("none"),
        "count": RESISTANT_MIN_IMMUNOSUPPRESSANTS,
        "min": RESISTANT_THERAPY_MIN_DAYS,
        "together": together,
    }
    if len(long_enough) >= RESISTANT_MIN_IMMUNOSUPPRESSANTS:
        return Status.PASS, _(
            "at least %(count)s different immunosuppressants each taken more than %(min)s days "
            "(%(drugs)s)"
        ) % values
    if together > RESISTANT_THERAPY_MIN_DAYS:
        return Status.PASS, _(
            "a glucocorticoid and an immunosuppressant taken together for %(together)s days "
            "(more than %(min)s)"
        ) % values
    return Status.FAIL, _(
        "prior therapy does not show resistance: immunosuppressants %(drugs)s (needs "
        "%(count)s different, each more than %(min)s days); glucocorticoid with "
        "immunosuppressant together %(together)s days (needs more than %(min)s)"
    ) % values


def _inc3b(facts: ScreeningFacts) -> tuple[Status, str, tuple[str, ...]]:
    present = [str(SystemicInvolvement(x).label) for x in sorted(facts.systemic_involvement or ())]
    present += [str(BCellActivation(x).label) for x in sorted(facts.b_cell_activation or ())]
    if facts.esr_persistently_raised:
        present.append(_label("esr_persistently_raised"))
    if present:
        return Status.PASS, _("still present: %(features)s") % {"features": ", ".join(present)}, ()
    unanswered = tuple(
        _label(name)
        for name in ("systemic_involvement", "b_cell_activation", "esr_persistently_raised")
        if getattr(facts, name) is None
    )
    if unanswered:
        return Status.MISSING, "", unanswered
    return (
        Status.FAIL,
        _("no systemic involvement, B-cell activation or persistently raised ESR still present"),
        (),
    )


def inc3b_igg_warnings(facts: ScreeningFacts) -> tuple[str, ...]:
    """INC3(b): a warning when the "Elevated IgG" tick box contradicts the IgG entered.

    The tick box stays the source (elevated may mean persistently, beyond one sample); the
    screening IgG only cross-checks it against the upper limit of the project's IgG
    reference range for the child's age at the sample and sex
    (trialsite.reference_ranges.reference_range, the placeholders sites replace with their own).
    Nothing to check until both the IgG and the B-cell activation items are entered.
    """
    if facts.igg is None or facts.b_cell_activation is None:
        return ()
    age = (
        age_in_completed_years(facts.date_of_birth, facts.igg.taken_on)
        if facts.date_of_birth
        else None
    )
    upper = reference_range("igg", age=age, sex=facts.sex).upper
    if upper is None:
        return ()
    elevated = facts.igg.value > upper
    ticked = BCellActivation.ELEVATED_IGG in facts.b_cell_activation
    values = {
        "item": BCellActivation.ELEVATED_IGG.label,
        "value": _measure("igg", facts.igg.value),
        "date": _iso(facts.igg.taken_on),
        "upper": _measure("igg", upper),
    }
    if ticked and not elevated:
        return (
            _(
                "INC3(b): “%(item)s” is ticked, but the screening IgG %(value)s (%(date)s) is "
                "not above the upper reference limit %(upper)s: check the tick box or the value"
            )
            % values,
        )
    if elevated and not ticked:
        return (
            _(
                "INC3(b): the screening IgG %(value)s (%(date)s) is above the upper reference "
                "limit %(upper)s, but “%(item)s” is not ticked: check the B-cell activation items"
            )
            % values,
        )
    return ()


def inc3_resistant(facts: ScreeningFacts) -> CriterionResult:
    """INC3: resistant disease = (a) enough prior therapy AND (b) a feature still present."""
    return replace(_inc3_verdict(facts), warnings=inc3b_igg_warnings(facts))


def _inc3_verdict(facts: ScreeningFacts) -> CriterionResult:
    if facts.prior_therapies is None:
        a_status, a_reason, a_missing = Status.MISSING, "", (_label("prior_therapies"),)
    else:
        a_status, a_reason = _inc3a(facts)
        a_missing = ()
    b_status, b_reason, b_missing = _inc3b(facts)
    if Status.FAIL in (a_status, b_status):
        return _fail(
            "INC3",
            [
                _("Not resistant: %(reason)s") % {"reason": reason}
                for status, reason in ((a_status, a_reason), (b_status, b_reason))
                if status == Status.FAIL
            ],
        )
    if Status.MISSING in (a_status, b_status):
        return _missing("INC3", a_missing + b_missing)
    return _pass(
        "INC3",
        _("Resistant: %(therapy)s; %(features)s") % {"therapy": a_reason, "features": b_reason},
    )


def assent_required(date_of_birth: date, consent_date: date) -> bool:
    """INC4: child assent from age 8 (completed years on the consent date)."""
    return age_in_completed_years(date_of_birth, consent_date) >= ASSENT_MIN_AGE_YEARS


def assent_birth_date_limit(on: date) -> date:
    """The latest date of birth of a child who is old enough to assent on ``on``.

    ``born <= assent_birth_date_limit(on)`` is ``assent_required(born, on)`` as a
    date comparison a database query can use.
    """
    return add_months(on, -12 * ASSENT_MIN_AGE_YEARS)


def inc4_agreement(facts: ScreeningFacts) -> CriterionResult:
    """INC4: the guardian agrees, and the child assents from age 8.

    Whether assent is *required* is decided at enrolment by the child's age on the
    consent date (``assent_required`` below, the one rule). At screening
    the same rule is applied to the screening date: a child already 8 must agree; for
    a younger child who turns 8 by planned Day 0 the result warns early that assent
    will be needed if consent is dated on or after that birthday.
    """
    missing: list[str] = []
    failed: list[str] = []
    if facts.guardian_agrees is None:
        missing.append(_label("guardian_agrees"))
    elif not facts.guardian_agrees:
        failed.append(_("Guardian does not agree to the treatment"))
    if facts.child_agrees is not True:
        if facts.date_of_birth is None:
            # Whether assent is needed depends on the child's age.
            missing.append(_label("date_of_birth"))
        elif assent_required(facts.date_of_birth, facts.screening_date):
            if facts.child_agrees is None:
                missing.append(_label("child_agrees"))
            else:
                failed.append(_("Child does not assent to the treatment"))
    if failed:
        return _fail("INC4", failed)
    if missing:
        return _missing("INC4", missing)
    if facts.child_agrees:
        return _pass("INC4", _("Guardian agrees and child assents"))
    birthday = add_months(facts.date_of_birth, 12 * ASSENT_MIN_AGE_YEARS)
    if not assent_required(facts.date_of_birth, birthday):
        birthday += timedelta(days=1)  # born on 29 February: 1 March in a common year
    if facts.planned_day_0 is not None and birthday <= facts.planned_day_0:
        return _pass(
            "INC4",
            _("Guardian agrees; the child is under %(age)s on the screening date")
            % {"age": ASSENT_MIN_AGE_YEARS},
            warnings=(
                _(
                    "INC4 early warning: the child turns %(age)s on %(birthday)s, before "
                    "planned Day 0: "
                    "child assent will be required if consent is dated on or after that day "
                    "(checked at enrolment)."
                )
                % {"age": ASSENT_MIN_AGE_YEARS, "birthday": _iso(birthday)},
            ),
        )
    return _pass(
        "INC4",
        _("Guardian agrees; child assent not required under %(age)s years")
        % {"age": ASSENT_MIN_AGE_YEARS},
    )


def scr1_window(facts: ScreeningFacts) -> CriterionResult:
    """SCR1: screening and every dated screening lab within 28 days before planned Day 0."""
    day_0 = facts.planned_day_0
    if day_0 is None:
        return _missing("SCR1", [_label("planned_day_0")])
    values = {
        "screening": _iso(facts.screening_date),
        "days": SCREENING_WINDOW_DAYS,
        "day_0": _iso(day_0),
    }
    if not within_days_before(facts.screening_date, day_0, SCREENING_WINDOW_DAYS):
        return _fail(
            "SCR1",
            [
                _(
                    "Screening (%(screening)s) is not within the %(days)s days before planned "
                    "Day 0 (%(day_0)s)"
                )
                % values
            ],
        )
    stale = [
        label
        for name in SCREENING_LABS
        if (lab := getattr(facts, name)) is not None
        and (label := _stale_lab_label(facts, name, lab)) is not None
    ]
    if stale:
        return _missing("SCR1", stale)
    return _pass(
        "SCR1",
        _(
            "Screening (%(screening)s) and dated labs within the %(days)s days before planned "
            "Day 0 (%(day_0)s)"
        )
        % values,
    )


# --- Exclusion ---------------------------------------------------------------------------------


def exc1_prior_biologics(facts: ScreeningFacts) -> CriterionResult:
    """EXC1: rituximab within 6 calendar months before screening, or any other biologic ever."""
    if facts.prior_therapies is None:
        return _missing("EXC1", [_label("prior_therapies")])
    screening = facts.screening_date
    failed = [
        _("Previous biologic %(drug)s (started %(start)s); any previous biologic excludes")
        % {"drug": t.drug_name, "start": _iso(t.start)}
        for t in facts.prior_therapies
        if t.drug_class == DrugClass.BIOLOGIC
    ]
    rituximab = [t for t in facts.prior_therapies if t.drug_class == DrugClass.RITUXIMAB]
    # Last rituximab = its stop date, or the screening date if still ongoing.
    last = max(
        (min(t.stop or screening, screening) for t in rituximab if t.start <= screening),
        default=None,
    )
    values = {
        "last": _iso(last) if last else "",
        "months": PRIOR_RITUXIMAB_EXCLUSION_MONTHS,
        "screening": _iso(screening),
        "limit": _iso(add_months(screening, -PRIOR_RITUXIMAB_EXCLUSION_MONTHS)),
    }
    if last is not None and _recent_months(last, screening, PRIOR_RITUXIMAB_EXCLUSION_MONTHS):
        failed.append(
            _(
                "Rituximab last given %(last)s, within %(months)s months of screening "
                "(%(screening)s)"
            )
            % values
        )
    if failed:
        return _fail("EXC1", failed)
    if last is None:
        return _pass("EXC1", _("No previous rituximab or other biologic"))
    return _pass(
        "EXC1",
        _(
            "No other biologic; rituximab last given %(last)s, before %(limit)s (%(months)s "
            "months before screening)"
        )
        % values,
    )


def exc2_other_trial(facts: ScreeningFacts) -> CriterionResult:
    """EXC2: another clinical trial within 6 calendar months before screening."""
    if facts.other_trial is None:
        return _missing("EXC2", [_label("other_trial")])
    if not facts.other_trial:
        return _pass("EXC2", _("No other clinical trial"))
    last = facts.other_trial_last_date
    if last is None:
        return _missing("EXC2", [_label("other_trial_last_date")])
    values = {
        "last": _iso(last),
        "months": OTHER_TRIAL_EXCLUSION_MONTHS,
        "screening": _iso(facts.screening_date),
    }
    if _recent_months(last, facts.screening_date, OTHER_TRIAL_EXCLUSION_MONTHS):
        return _fail(
            "EXC2",
            [
                _(
                    "In another clinical trial until %(last)s, within %(months)s months of "
                    "screening (%(screening)s)"
                )
                % values
            ],
        )
    return _pass(
        "EXC2",
        _(
            "Last other clinical trial %(last)s, more than %(months)s months before screening "
            "(%(screening)s)"
        )
        % values,
    )


def exc3_renal(facts: ScreeningFacts) -> CriterionResult:
    """EXC3: eGFR < 30; entered eGFR if any, else bedside Schwartz from height and creatinine."""
    egfr, egfr_missing = _current_lab(facts, "egfr")
    if egfr is not None:
        value, source = egfr.value, _("entered, %(date)s") % {"date": _iso(egfr.taken_on)}
        shown = value
    else:
        height, height_missing = _current_lab(facts, "height")
        creatinine, creatinine_missing = _current_lab(facts, "creatinine")
        if height is None or creatinine is None:
            # eGFR itself is optional; only a stale entered eGFR is worth mentioning.
            stale_egfr = [egfr_missing] if facts.egfr is not None and egfr_missing else []
            return _missing(
                "EXC3", stale_egfr + [m for m in (height_missing, creatinine_missing) if m]
            )
        if creatinine.value <= 0:
            return _missing("EXC3", [_label("creatinine")])
        # Compared unrounded (29.9985 is below 30); shown to 0.1, rounded down.
        value = schwartz_egfr(height.value, creatinine.value)
        shown = egfr_for_display(value)
        source = _("bedside Schwartz from height %(height)s and creatinine %(creatinine)s") % {
            "height": _measure("height", height.value),
            "creatinine": _measure("creatinine", creatinine.value),
        }
    values = {
        "egfr": _measure("egfr", shown),
        "source": source,
        "min": format_decimal(EGFR_MIN_ML_MIN_173),
    }
    if value < EGFR_MIN_ML_MIN_173:
        return _fail("EXC3", [_("eGFR %(egfr)s (%(source)s) is below %(min)s") % values])
    return _pass("EXC3", _("eGFR %(egfr)s (%(source)s) is not below %(min)s") % values)


def exc4_chronic_infection(facts: ScreeningFacts) -> CriterionResult:
    """EXC4: HBsAg+; HBsAb+ with HBcAb+; HCV Ab+; HIV ever; active tuberculosis."""
    failed: list[str] = []
    missing: list[str] = []

    def check(name: str, positive_text: str) -> None:
        answer = getattr(facts, name)
        if answer is None:
            missing.append(_label(name))
        elif answer:
            failed.append(positive_text)

    check("hbsag", _("HBsAg positive"))
    # HBsAb positive alone passes; HBcAb is only needed when HBsAb is positive.
    if facts.hbsab is None:
        missing.append(_label("hbsab"))
    elif facts.hbsab:
        check("hbcab", _("HBsAb and HBcAb both positive"))
    check("hcv_ab", _("HCV antibody positive"))
    check("hiv_ever", _("HIV positive (ever)"))
    check("active_tb", _("Active tuberculosis"))
    if failed:
        return _fail("EXC4", failed)
    if missing:
        return _missing("EXC4", missing)
    return _pass("EXC4", _("No hepatitis B or C, HIV or active tuberculosis on screening"))


def exc5_infection(facts: ScreeningFacts) -> CriterionResult:
    """EXC5: infection-related exclusions; windows counted back from the planned Day 0."""
    failed: list[str] = []
    missing: list[str] = []
    day_0 = facts.planned_day_0

    def check(name: str, positive_text: str) -> None:
        answer = getattr(facts, name)
        if answer is None:
            missing.append(_label(name))
        elif answer:
            failed.append(positive_text)

    check("chronic_infection_suppressive_therapy", _("Suppressive therapy for a chronic infection"))

    # (answer, its date, window length, how the window counts, reason when within it)
    windows: tuple[tuple[str, str, int, Callable[[date, date, int], bool], str], ...] = (
        (
            "infection_hospitalisation",
            "infection_hospitalisation_last_date",
            INFECTION_HOSPITALISATION_DAYS,
            _recent_days,
            _(
                "In hospital for infection until %(date)s, within %(window)s days before "
                "planned Day 0 (%(day_0)s)"
            ),
        ),
        (
            "parenteral_antimicrobials",
            "parenteral_antimicrobials_last_date",
            PARENTERAL_ANTIMICROBIAL_DAYS,
            _recent_days,
            _(
                "Parenteral antimicrobials until %(date)s, within %(window)s days before "
                "planned Day 0 (%(day_0)s)"
            ),
        ),
        (
            "live_vaccine",
            "live_vaccine_date",
            LIVE_VACCINE_MONTHS,
            _recent_months,
            _(
                "Live-attenuated vaccine on %(date)s, within %(window)s months before planned "
                "Day 0 (%(day_0)s)"
            ),
        ),
    )
    for answer_name, date_name, window, is_recent, text in windows:
        answer, when = getattr(facts, answer_name), getattr(facts, date_name)
        if answer is None:
            missing.append(_label(answer_name))
        elif not answer:
            continue
        elif when is None:
            missing.append(_label(date_name))
        elif day_0 is None:
            missing.append(_label("planned_day_0"))
        elif is_recent(when, day_0, window):
            failed.append(text % {"date": _iso(when), "day_0": _iso(day_0), "window": window})
    check("high_infection_risk", _("Investigator judges the infection risk high"))
    if failed:
        return _fail("EXC5", failed)
    if missing:
        return _missing("EXC5", missing)
    return _pass("EXC5", _("No infection-related exclusion (re-confirm on Day 0)"))


def exc6_primary_immunodeficiency(facts: ScreeningFacts) -> CriterionResult:
    """EXC6: primary immunodeficiency."""
    return _yes_no_exclusion(facts, "EXC6", "primary_immunodeficiency")


def exc7_malignancy(facts: ScreeningFacts) -> CriterionResult:
    """EXC7: history of malignancy."""
    return _yes_no_exclusion(facts, "EXC7", "malignancy_history")


def exc8_severe_other_disease(facts: ScreeningFacts) -> CriterionResult:
    """EXC8: severe, progressive or uncontrolled non-SS disease (investigator judgement)."""
    return _yes_no_exclusion(facts, "EXC8", "severe_uncontrolled_other_disease")


def exc9_other_disease_on_steroids(facts: ScreeningFacts) -> CriterionResult:
    """EXC9: non-SS comorbidity requiring systemic corticosteroids."""
    return _yes_no_exclusion(facts, "EXC9", "other_disease_needing_systemic_corticosteroids")


def _pre_belimumab_gate(
    facts: ScreeningFacts, code: str, limits: tuple[tuple[str, Decimal], ...]
) -> CriterionResult:
    # EXC10/EXC11 are a gate before the first belimumab (PROTOCOL.md decision): at screening a
    # low value is an early warning only and never fails.
    warnings = tuple(
        _(
            "%(code)s early warning: screening %(lab)s %(value)s (%(date)s) is below %(min)s; "
            "it must be at least that within %(days)s days before the first belimumab"
        )
        % {
            "code": code,
            "lab": _label(name),
            "value": _measure(name, lab.value),
            "date": _iso(lab.taken_on),
            "min": _measure(name, minimum),
            "days": PRE_BELIMUMAB_LAB_WINDOW_DAYS,
        }
        for name, minimum in limits
        if (lab := getattr(facts, name)) is not None and lab.value < minimum
    )
    return _pass(
        code,
        _("Checked within %(days)s days before the first belimumab, not at screening")
        % {"days": PRE_BELIMUMAB_LAB_WINDOW_DAYS},
        warnings,
    )


def exc10_immunoglobulins(facts: ScreeningFacts) -> CriterionResult:
    """EXC10: IgG < 4 g/L or IgA < 0.1 g/L (screening: warning only)."""
    return _pre_belimumab_gate(facts, "EXC10", (("igg", IGG_MIN_G_L), ("iga", IGA_MIN_G_L)))


def exc11_leucocytes(facts: ScreeningFacts) -> CriterionResult:
    """EXC11: WBC < 1.5 or neutrophils < 1.0 × 10⁹/L (screening: warning only)."""
    return _pre_belimumab_gate(
        facts, "EXC11", (("wbc", WBC_MIN_10E9_L), ("neutrophils", NEUTROPHILS_MIN_10E9_L))
    )


# --- Assessment --------------------------------------------------------------------------------

# In protocol order; callers may iterate (one result per code).
CRITERIA: tuple[Callable[[ScreeningFacts], CriterionResult], ...] = (
    inc1_age,
    inc2_sjogren,
    inc3_resistant,
    inc4_agreement,
    scr1_window,
    exc1_prior_biologics,
    exc2_other_trial,
    exc3_renal,
    exc4_chronic_infection,
    exc5_infection,
    exc6_primary_immunodeficiency,
    exc7_malignancy,
    exc8_severe_other_disease,
    exc9_other_disease_on_steroids,
    exc10_immunoglobulins,
    exc11_leucocytes,
)


def assess(facts: ScreeningFacts) -> Assessment:
    """Eligible, not eligible (every failed code) or incomplete (every missing item)."""
    results = tuple(criterion(facts) for criterion in CRITERIA)
    failed = tuple(r.code for r in results if r.status == Status.FAIL)
    missing = _unique(m for r in results for m in r.missing_items)
    if failed:
        outcome = Outcome.NOT_ELIGIBLE
    elif missing:
        outcome = Outcome.INCOMPLETE
    else:
        outcome = Outcome.ELIGIBLE
    sets_met = next(
        (r.criteria_sets_met for r in results if isinstance(r, SjogrenCriterionResult)), ()
    )
    return Assessment(
        outcome=outcome,
        results=results,
        failed_codes=failed,
        missing_items=missing,
        criteria_sets_met=sets_met,
        warnings=_unique(w for r in results for w in r.warnings),
    )
