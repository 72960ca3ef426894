"""Outcome rules (PROTOCOL.md "Outcomes"): ESSPRI, change from baseline, MCII, the
registry composite response at week 28, and the trial summary of change.

Pure functions: values in, a result that explains itself out.  Changes are always
``follow_up - baseline`` (negative = improvement for ESSDAI/ESSPRI); a "fall" is
``baseline - follow_up``.  Percent criteria are compared exactly in Decimal
(``fall x 100 >= percent x baseline``) so no rounding moves a participant across a
threshold; percentages shown to users are rounded only for display.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import TextChoices
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crf.essdai import EssdaiCategory, essdai_category
from trialsite.protocol import (
    COMPOSITE_ESR_FALL_PERCENT,
    COMPOSITE_IGG_OR_RF_FALL_PERCENT,
    COMPOSITE_MIN_COMPONENTS,
    COMPOSITE_PHYSICIAN_GLOBAL_FALL_PERCENT,
    COMPOSITE_SALIVARY_FLOW_RISE_PERCENT,
    COMPOSITE_SCHIRMER_RISE_MM,
    ESSDAI_MCII_FALL,
    ESSDAI_VERSION,
    ESSPRI_ACCEPTABLE_BELOW,
    ESSPRI_MCII_FALL_PERCENT,
    ESSPRI_MCII_FALL_POINTS,
    ESSPRI_VERSION,
)

ESSPRI_MIN = Decimal("0")
ESSPRI_MAX = Decimal("10")  # each ESSPRI scale is 0-10 by construction of the instrument
_TWO_PLACES = Decimal("0.01")
_ONE_PLACE = Decimal("0.1")
_HUNDRED = Decimal("100")

# The quartile method, named so the report can print it next to the numbers.
QUARTILE_METHOD = _(
    "Quartiles by linear interpolation between order statistics, the 'inclusive' method "
    "of Python's statistics.quantiles (type 7 in Hyndman & Fan, the default of R and Excel "
    "QUARTILE.INC)."
)


def _decimal(value: Decimal | int, name: str) -> Decimal:
    # Measured values are Decimal; a float has already lost the value the user typed.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(
            gettext("%(name)s must be a Decimal or an integer, not %(type)s.")
            % {"name": name, "type": type(value).__name__}
        )
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError(gettext("%(name)s must be a finite number.") % {"name": name})
    return value


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part`` as a percentage of ``whole`` for display (1 dp); None when whole is 0."""
    if whole == 0:
        return None
    return (part * _HUNDRED / whole).quantize(_ONE_PLACE, rounding=ROUND_HALF_UP)


# --- ESSPRI -----------------------------------------------------------------------


class InvalidEsspriValue(ValueError):
    code = "esspri_out_of_range"

    def __init__(self, scale: str, value: object) -> None:
        self.scale = scale
        self.value = value
        super().__init__(
            gettext("ESSPRI %(scale)s must be between 0 and 10, not %(value)s.")
            % {"scale": scale, "value": value}
        )


@dataclass(frozen=True)
class EsspriScore:
    dryness: Decimal
    fatigue: Decimal
    pain: Decimal
    score: Decimal  # mean of the three scales, 2 dp, half up: for display and export
    acceptable: bool  # patient acceptable symptom state: score < ESSPRI_ACCEPTABLE_BELOW
    version: str
    # The mean unrounded: changes and means are computed from it, rounded only when shown
    # (4.67 -> 4.33 is a change of -0.33, not -0.34).
    mean: Decimal = Decimal(0)


def esspri_score(
    *, dryness: Decimal | int, fatigue: Decimal | int, pain: Decimal | int
) -> EsspriScore:
    """ESSPRI = mean of the dryness, fatigue and limb-pain 0-10 scales."""
    values = {}
    for scale, raw in (("dryness", dryness), ("fatigue", fatigue), ("pain", pain)):
        value = _decimal(raw, scale)
        if not ESSPRI_MIN <= value <= ESSPRI_MAX:
            raise InvalidEsspriValue(scale, raw)
        values[scale] = value
    mean = sum(values.values()) / 3
    score = mean.quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)
    return EsspriScore(
        dryness=values["dryness"],
        fatigue=values["fatigue"],
        pain=values["pain"],
        score=score,
        acceptable=score < ESSPRI_ACCEPTABLE_BELOW,
        version=ESSPRI_VERSION,
        mean=mean,
    )


def _esspri_total(value: Decimal | int, name: str) -> Decimal:
    total = _decimal(value, name)
    if not ESSPRI_MIN <= total <= ESSPRI_MAX:
        raise InvalidEsspriValue(name, value)
    return total


# --- Change from baseline and MCII -------------------------------------------------


@dataclass(frozen=True)
class EssdaiChange:
    baseline: int
    follow_up: int
    change: int  # follow_up - baseline; negative is improvement
    fall: int  # baseline - follow_up
    baseline_category: EssdaiCategory
    follow_up_category: EssdaiCategory
    mcii: bool
    reason: str


def essdai_change(baseline: int, follow_up: int) -> EssdaiChange:
    """Primary outcome: ESSDAI change; MCII = fall >= ESSDAI_MCII_FALL (3)."""
    # essdai_category validates type and range of both totals.
    baseline_category = essdai_category(baseline)
    follow_up_category = essdai_category(follow_up)
    fall = baseline - follow_up
    mcii = fall >= ESSDAI_MCII_FALL
    params = {"fall": fall, "threshold": ESSDAI_MCII_FALL}
    if mcii:
        reason = gettext("ESSDAI fell by %(fall)s points (MCII is a fall of ≥ %(threshold)s).")
    else:
        reason = gettext(
            "ESSDAI fell by %(fall)s points, less than the MCII fall of %(threshold)s."
        )
    return EssdaiChange(
        baseline=baseline,
        follow_up=follow_up,
        change=follow_up - baseline,
        fall=fall,
        baseline_category=baseline_category,
        follow_up_category=follow_up_category,
        mcii=mcii,
        reason=reason % params,
    )


@dataclass(frozen=True)
class EsspriChange:
    # Shown to 2 decimals; decided (MCII) and summarised on the unrounded means.
    baseline: Decimal
    follow_up: Decimal
    change: Decimal  # follow_up - baseline; negative is improvement
    fall: Decimal  # baseline - follow_up
    fall_percent: Decimal | None  # of baseline, 1 dp for display; None when baseline is 0
    mcii: bool
    reason: str
    exact_change: Decimal = Decimal(0)  # follow_up - baseline on the unrounded means


def esspri_change(baseline: Decimal | int, follow_up: Decimal | int) -> EsspriChange:
    """ESSPRI MCII: fall >= 1 point OR fall >= 15 % of baseline.

    With a baseline of 0 the percentage is undefined and only the points rule applies.
    Give the unrounded means (``EsspriScore.mean``): the change is computed from them and
    rounded only for display.
    """
    base = _esspri_total(baseline, "baseline")
    follow = _esspri_total(follow_up, "follow_up")
    fall = base - follow
    by_points = fall >= ESSPRI_MCII_FALL_POINTS
    # A rise is never an improvement, whatever its percentage.
    by_percent = base > 0 and fall > 0 and fall * _HUNDRED >= ESSPRI_MCII_FALL_PERCENT * base
    fall_percent = _percent(fall, base)
    params = {
        "fall": _round(fall),
        "percent": fall_percent,
        "points": ESSPRI_MCII_FALL_POINTS,
        "threshold": ESSPRI_MCII_FALL_PERCENT,
    }
    if by_points:
        reason = gettext("ESSPRI fell by %(fall)s points (MCII: ≥ %(points)s point).")
    elif by_percent:
        reason = gettext(
            "ESSPRI fell by %(fall)s points, %(percent)s %% of baseline (MCII: ≥ %(threshold)s %%)."
        )
    elif fall_percent is None:
        reason = gettext(
            "ESSPRI fell by %(fall)s points from a baseline of 0; the percentage is undefined "
            "and the fall is less than %(points)s point."
        )
    else:
        reason = gettext(
            "ESSPRI fell by %(fall)s points (%(percent)s %% of baseline): less than "
            "%(points)s point and less than %(threshold)s %%."
        )
    return EsspriChange(
        baseline=_round(base),
        follow_up=_round(follow),
        change=_round(follow - base),
        fall=_round(fall),
        exact_change=follow - base,
        fall_percent=fall_percent,
        mcii=by_points or by_percent,
        reason=reason % params,
    )


# --- Registry composite response at week 28 ----------------------------------------


class ComponentStatus(TextChoices):
    MET = "met", _("met")
    NOT_MET = "not_met", _("not met")
    MISSING = "missing", _("missing")


class CompositeComponent(TextChoices):
    # Labels carry the thresholds from the protocol module, so an amendment shows on screen.
    PHYSICIAN_GLOBAL = (
        "physician_global",
        format_lazy(
            _("Physician global assessment fall ≥ {percent} %"),
            percent=COMPOSITE_PHYSICIAN_GLOBAL_FALL_PERCENT,
        ),
    )
    ESR = (
        "esr",
        format_lazy(
            # xgettext:no-python-format (a percent sign, not a placeholder)
            _("ESR fall ≥ {percent} % or normal ESR at week 28"),
            percent=COMPOSITE_ESR_FALL_PERCENT,
        ),
    )
    IGG_OR_RF = (
        "igg_or_rf",
        format_lazy(_("IgG or RF fall ≥ {percent} %"), percent=COMPOSITE_IGG_OR_RF_FALL_PERCENT),
    )
    SCHIRMER = (
        "schirmer",
        format_lazy(_("Schirmer test rise ≥ {mm} mm"), mm=COMPOSITE_SCHIRMER_RISE_MM),
    )
    SALIVARY_FLOW = (
        "salivary_flow",
        format_lazy(
            _("Unstimulated salivary flow rise ≥ {percent} %"),
            percent=COMPOSITE_SALIVARY_FLOW_RISE_PERCENT,
        ),
    )


class ResponseOutcome(TextChoices):
    RESPONDER = "responder", _("responder")
    NON_RESPONDER = "non_responder", _("non-responder")
    # Missing components could still change the answer.
    UNDETERMINED = "undetermined", _("undetermined")


@dataclass(frozen=True)
class CompositeMeasurements:
    """One visit's values for the composite; None = not done / not entered.

    Each value in one unit across visits (only falls/rises within a participant are
    compared): physician global on its scale, ESR mm/h, IgG g/L, RF IU/mL, Schirmer I
    mm/5 min (the one value the CRF records per visit), unstimulated salivary flow in
    mL per its collection time.
    """

    physician_global: Decimal | None = None
    esr: Decimal | None = None
    igg: Decimal | None = None
    rf: Decimal | None = None
    schirmer_mm: Decimal | None = None
    salivary_flow: Decimal | None = None


@dataclass(frozen=True)
class ComponentResult:
    component: CompositeComponent
    status: ComponentStatus
    reason: str

    @property
    def name(self) -> str | Promise:
        return self.component.label


@dataclass(frozen=True)
class CompositeResponse:
    components: tuple[ComponentResult, ...]  # in CompositeComponent order
    met: int
    not_met: int
    missing: int
    required: int  # COMPOSITE_MIN_COMPONENTS
    outcome: ResponseOutcome
    explanation: str


def _measured(value: Decimal | None, name: str) -> Decimal | None:
    if value is None:
        return None
    measured = _decimal(value, name)
    if measured < 0:
        raise ValueError(gettext("%(name)s cannot be negative.") % {"name": name})
    return measured


def _fall_meets(baseline: Decimal, follow_up: Decimal, percent: Decimal) -> bool:
    # Exact: fall x 100 >= percent x baseline, and there must be a fall at all.
    fall = baseline - follow_up
    return fall > 0 and fall * _HUNDRED >= percent * baseline


def _rise_meets(baseline: Decimal, follow_up: Decimal, percent: Decimal) -> bool:
    # From a baseline of 0 any rise is an infinite relative rise and so meets the
    # threshold (*check* with the investigators: measurable flow where there was none).
    rise = follow_up - baseline
    return rise > 0 and rise * _HUNDRED >= percent * baseline


def _fall_text(label: str, baseline: Decimal, follow_up: Decimal) -> str:
    percent = _percent(baseline - follow_up, baseline)
    if percent is None:
        return gettext("%(label)s baseline 0, week 28 %(follow_up)s: no fall possible.") % {
            "label": label,
            "follow_up": follow_up,
        }
    return gettext(
        "%(label)s %(baseline)s → %(follow_up)s: fall of %(percent)s %% of baseline."
    ) % {"label": label, "baseline": baseline, "follow_up": follow_up, "percent": percent}


def _missing_text(label: str, baseline: Decimal | None, follow_up: Decimal | None) -> str:
    if baseline is None and follow_up is None:
        return gettext("%(label)s missing at baseline and week 28.") % {"label": label}
    if baseline is None:
        return gettext("%(label)s missing at baseline.") % {"label": label}
    return gettext("%(label)s missing at week 28.") % {"label": label}


def _result(component: CompositeComponent, met: bool, reason: str) -> ComponentResult:
    status = ComponentStatus.MET if met else ComponentStatus.NOT_MET
    return ComponentResult(component, status, reason)


def _physician_global(b: Decimal | None, w: Decimal | None) -> ComponentResult:
    component = CompositeComponent.PHYSICIAN_GLOBAL
    label = gettext("Physician global")
    if b is None or w is None:
        return ComponentResult(component, ComponentStatus.MISSING, _missing_text(label, b, w))
    return _result(
        component,
        _fall_meets(b, w, COMPOSITE_PHYSICIAN_GLOBAL_FALL_PERCENT),
        _fall_text(label, b, w),
    )


def _esr(b: Decimal | None, w: Decimal | None, upper_limit: Decimal) -> ComponentResult:
    component = CompositeComponent.ESR
    label = "ESR"
    # "Normal at week 28" needs only the week-28 value: at or below the upper limit.
    if w is not None and w <= upper_limit:
        return ComponentResult(
            component,
            ComponentStatus.MET,
            gettext("ESR %(follow_up)s mm/h at week 28 is normal (upper limit %(limit)s mm/h).")
            % {"follow_up": w, "limit": upper_limit},
        )
    if b is None or w is None:
        return ComponentResult(component, ComponentStatus.MISSING, _missing_text(label, b, w))
    above = gettext("ESR at week 28 is above the upper limit %(limit)s mm/h.") % {
        "limit": upper_limit
    }
    return _result(
        component,
        _fall_meets(b, w, COMPOSITE_ESR_FALL_PERCENT),
        f"{_fall_text(label, b, w)} {above}",
    )


def _igg_or_rf(
    igg_b: Decimal | None, igg_w: Decimal | None, rf_b: Decimal | None, rf_w: Decimal | None
) -> ComponentResult:
    component = CompositeComponent.IGG_OR_RF
    parts = []
    any_met = False
    any_missing = False
    for label, b, w in (("IgG", igg_b, igg_w), ("RF", rf_b, rf_w)):
        if b is None or w is None:
            any_missing = True
            parts.append(_missing_text(label, b, w))
            continue
        any_met = any_met or _fall_meets(b, w, COMPOSITE_IGG_OR_RF_FALL_PERCENT)
        parts.append(_fall_text(label, b, w))
    reason = " ".join(parts)
    # Either fall suffices; a missing one only matters while the other has not met.
    if any_met:
        return ComponentResult(component, ComponentStatus.MET, reason)
    if any_missing:
        return ComponentResult(component, ComponentStatus.MISSING, reason)
    return ComponentResult(component, ComponentStatus.NOT_MET, reason)


def _schirmer(b: Decimal | None, w: Decimal | None) -> ComponentResult:
    component = CompositeComponent.SCHIRMER
    label = gettext("Schirmer")
    if b is None or w is None:
        return ComponentResult(component, ComponentStatus.MISSING, _missing_text(label, b, w))
    rise = w - b
    return _result(
        component,
        rise >= COMPOSITE_SCHIRMER_RISE_MM,
        gettext("Schirmer %(baseline)s → %(follow_up)s mm: rise of %(rise)s mm.")
        % {"baseline": b, "follow_up": w, "rise": rise},
    )


def _salivary_flow(b: Decimal | None, w: Decimal | None) -> ComponentResult:
    component = CompositeComponent.SALIVARY_FLOW
    label = gettext("Salivary flow")
    if b is None or w is None:
        return ComponentResult(component, ComponentStatus.MISSING, _missing_text(label, b, w))
    percent = _percent(w - b, b)
    if percent is None:
        reason = gettext(
            "Salivary flow 0 → %(follow_up)s at week 28: any rise from 0 counts as "
            "≥ %(threshold)s %%."
        ) % {"follow_up": w, "threshold": COMPOSITE_SALIVARY_FLOW_RISE_PERCENT}
    else:
        reason = gettext(
            "Salivary flow %(baseline)s → %(follow_up)s: rise of %(percent)s %% of baseline."
        ) % {"baseline": b, "follow_up": w, "percent": percent}
    return _result(component, _rise_meets(b, w, COMPOSITE_SALIVARY_FLOW_RISE_PERCENT), reason)


def composite_response(
    *,
    baseline: CompositeMeasurements,
    week28: CompositeMeasurements,
    esr_upper_limit: Decimal,
) -> CompositeResponse:
    """Registry composite at week 28: >= COMPOSITE_MIN_COMPONENTS (3) of 5 improved.

    ``esr_upper_limit`` is the site's normal ESR upper limit (mm/h), e.g.
    ``reference_ranges.reference_table()["esr"].upper``.  Responder as soon as enough
    components are met, non-responder when even every missing component turning
    positive could not reach the threshold, otherwise undetermined.
    """
    names = [field.name for field in fields(CompositeMeasurements)]
    b = {name: _measured(getattr(baseline, name), name) for name in names}
    w = {name: _measured(getattr(week28, name), name) for name in names}
    upper_limit = _decimal(esr_upper_limit, "esr_upper_limit")
    components = (
        _physician_global(b["physician_global"], w["physician_global"]),
        _esr(b["esr"], w["esr"], upper_limit),
        _igg_or_rf(b["igg"], w["igg"], b["rf"], w["rf"]),
        _schirmer(b["schirmer_mm"], w["schirmer_mm"]),
        _salivary_flow(b["salivary_flow"], w["salivary_flow"]),
    )
    met = sum(1 for c in components if c.status == ComponentStatus.MET)
    missing = sum(1 for c in components if c.status == ComponentStatus.MISSING)
    not_met = len(components) - met - missing
    params = {
        "met": met,
        "missing": missing,
        "total": len(components),
        "required": COMPOSITE_MIN_COMPONENTS,
    }
    if met >= COMPOSITE_MIN_COMPONENTS:
        outcome = ResponseOutcome.RESPONDER
        explanation = gettext(
            "%(met)s of %(total)s components met (%(required)s needed): responder."
        )
    elif met + missing < COMPOSITE_MIN_COMPONENTS:
        outcome = ResponseOutcome.NON_RESPONDER
        explanation = gettext(
            "%(met)s of %(total)s components met and %(missing)s missing: %(required)s cannot "
            "be reached, non-responder."
        )
    else:
        outcome = ResponseOutcome.UNDETERMINED
        explanation = gettext(
            "%(met)s of %(total)s components met and %(missing)s missing: the missing values "
            "decide whether %(required)s are reached."
        )
    return CompositeResponse(
        components=components,
        met=met,
        not_met=not_met,
        missing=missing,
        required=COMPOSITE_MIN_COMPONENTS,
        outcome=outcome,
        explanation=explanation % params,
    )


# --- Trial summary of change ---------------------------------------------------------


@dataclass(frozen=True)
class ParticipantScores:
    """One participant's instrument total at baseline and at follow-up (week 28)."""

    subject_id: str
    baseline: Decimal | int | None
    follow_up: Decimal | int | None


@dataclass(frozen=True)
class ParticipantChange:
    subject_id: str
    baseline: Decimal
    follow_up: Decimal
    change: Decimal  # follow_up - baseline
    mcii: bool


@dataclass(frozen=True)
class LackingTimePoint:
    subject_id: str
    lacks_baseline: bool
    lacks_follow_up: bool


@dataclass(frozen=True)
class ChangeSummary:
    instrument: str  # version string of the instrument summarised
    n_participants: int
    n_paired: int  # participants with both time points
    median_change: Decimal | None  # None when no participant is paired
    q1_change: Decimal | None
    q3_change: Decimal | None
    n_mcii: int
    quartile_method: str | Promise
    paired: tuple[ParticipantChange, ...]  # in input order
    lacking: tuple[LackingTimePoint, ...]  # in input order; never silently dropped


def _summarise(
    participants: Iterable[ParticipantScores], instrument: str, *, essdai: bool
) -> ChangeSummary:
    seen: set[str] = set()
    paired: list[ParticipantChange] = []
    lacking: list[LackingTimePoint] = []
    for record in participants:
        if record.subject_id in seen:
            raise ValueError(
                gettext("Participant %(subject_id)s appears more than once.")
                % {"subject_id": record.subject_id}
            )
        seen.add(record.subject_id)
        if record.baseline is None or record.follow_up is None:
            lacking.append(
                LackingTimePoint(
                    subject_id=record.subject_id,
                    lacks_baseline=record.baseline is None,
                    lacks_follow_up=record.follow_up is None,
                )
            )
            continue
        if essdai:
            result: EssdaiChange | EsspriChange = essdai_change(record.baseline, record.follow_up)
            change = Decimal(result.change)
        else:
            result = esspri_change(record.baseline, record.follow_up)
            change = result.exact_change  # summarised unrounded, rounded when shown
        paired.append(
            ParticipantChange(
                subject_id=record.subject_id,
                baseline=Decimal(result.baseline),
                follow_up=Decimal(result.follow_up),
                change=change,
                mcii=result.mcii,
            )
        )
    changes = sorted(p.change for p in paired)
    median = q1 = q3 = None
    if len(changes) == 1:
        median = q1 = q3 = changes[0]
    elif changes:
        median = statistics.median(changes)
        q1, _q2, q3 = statistics.quantiles(changes, n=4, method="inclusive")
    return ChangeSummary(
        instrument=instrument,
        n_participants=len(seen),
        n_paired=len(paired),
        median_change=_round(median),
        q1_change=_round(q1),
        q3_change=_round(q3),
        n_mcii=sum(1 for p in paired if p.mcii),
        quartile_method=QUARTILE_METHOD,
        paired=tuple(paired),
        lacking=tuple(lacking),
    )


def _round(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)


def summarise_essdai_change(participants: Iterable[ParticipantScores]) -> ChangeSummary:
    """Primary outcome over the trial: ESSDAI change baseline → week 28 (ints 0-123)."""
    return _summarise(participants, ESSDAI_VERSION, essdai=True)


def summarise_esspri_change(participants: Iterable[ParticipantScores]) -> ChangeSummary:
    """Secondary outcome over the trial: ESSPRI change baseline → week 28 (0-10)."""
    return _summarise(participants, ESSPRI_VERSION, essdai=False)
