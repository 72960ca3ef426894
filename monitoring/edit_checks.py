"""Automatic edit checks: rules that open a data query by themselves.

Each rule has a code and a message and judges plain values (no database, no clock: ``now``
is passed in), so it is tested like the protocol modules.  A rule is for data that is
*allowed* but needs a second look; what can never be stored is refused by the forms,
the services and the database instead.

How checks run (decision, issue 8):

* after every write of a clinical record: the writing service calls
  ``trialsite.workflow.record_changed``, whose last step (``monitoring.hooks``) calls
  ``run_for_record`` in the same transaction — forms, the lab panel, infusions, visits,
  the automatic deviations (tests/conftest.py fails a test whose write skips it);
* on a clock: ``manage.py run_edit_checks`` (hourly from cron) for the time-based rule
  (a serious AE not reviewed 24 hours after its alert) and, with ``--all``, every rule over
  all data (after a protocol amendment changes a rule).

Idempotent: at most one unresolved query per rule and target (a database constraint
holds it too); a query a person closed for exactly the same data is not opened again;
when the data passes the rule again, the check closes its own query and says why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from dosing import doses
from trialsite import reference_ranges, texts
from trialsite.protocol import DOSE_TOLERANCE_FRACTION

# A serious AE must be reviewed by an investigator within this time of its alert
# (ICH E6/E2A practice: serious events are handled within 24 hours).
SAE_REVIEW_HOURS = 24


@dataclass(frozen=True)
class Rule:
    code: str
    message: str | Promise  # what the query asks
    model: str  # the model label the rule judges
    field: str  # the field the query is raised on


LAB_RANGE = Rule(
    "LAB_RANGE",
    gettext_lazy("Value outside the reference range: confirm it against the source or correct it."),
    "dosing.LabResult",
    "value_entered",
)
VISIT_WINDOW = Rule(
    "VISIT_WINDOW",
    gettext_lazy("Visit outside its window without an explanation: explain why."),
    "dosing.Visit",
    "out_of_window_explanation",
)
DOSE_DIFFERENCE = Rule(
    "DOSE_10PCT",
    gettext_lazy(
        # xgettext:no-python-format
        "Administered dose more than 10 % from the proposed dose without a reason: give the "
        "reason or correct the dose."
    ),
    "dosing.Infusion",
    "administered_dose_mg",
)
SAE_REVIEW = Rule(
    "SAE_REVIEW_24H",
    gettext_lazy(
        "Serious adverse event not reviewed by an investigator within 24 hours of its alert: "
        "the site's investigator must acknowledge it."
    ),
    "crf.AdverseEvent",
    "serious",
)
RULES: tuple[Rule, ...] = (LAB_RANGE, VISIT_WINDOW, DOSE_DIFFERENCE, SAE_REVIEW)
RULES_BY_MODEL: dict[str, tuple[Rule, ...]] = {
    label: tuple(r for r in RULES if r.model == label) for label in {r.model for r in RULES}
}


@dataclass(frozen=True)
class Finding:
    """A rule is broken: the query's question and a fingerprint of the data judged."""

    rule: Rule
    detail: str
    fingerprint: str
    # the detail as a code with parameters; not part of equality
    detail_text: texts.Text | None = field(default=None, compare=False)

    @property
    def question(self) -> str:
        return f"{self.detail} {self.rule.message}".strip()

    @property
    def question_text(self) -> texts.Text | None:
        """The question as a stored text (rendered in the reader's language)."""
        if self.detail_text is None:
            return None
        message = texts.Text(f"rule.{self.rule.code}")
        return texts.Text("query.auto", {"detail": self.detail_text, "message": message})


def _plain(value: Decimal) -> Decimal:
    """Without trailing zeros nor an exponent (500, not 5E+2; 12.5, not 12.50)."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


@dataclass(frozen=True)
class Judged:
    """The rule holds no more because a person judged the data (e.g. a lab value "expected
    for the disease"): no query is opened, and the check's open query is closed with
    ``note``."""

    note: texts.Text


def fingerprint(*values: object) -> str:
    return hashlib.sha256("|".join(str(v) for v in values).encode()).hexdigest()


# --- The rules: plain values in, a finding or None out -------------------------------------


def lab_out_of_range(
    analyte: str,
    value: Decimal,
    *,
    facts: reference_ranges.LabFacts | None = None,
    significance: str = "",
    judged_by: str = "",
    voided: bool = False,
) -> Finding | Judged | None:
    """LAB_RANGE: a study lab result outside the child's reference range
    (trialsite.reference_ranges: age at the sample, sex and site laboratory in ``facts``),
    unless ``judged_by`` judged it not clinically significant or expected for the disease."""
    if voided:
        return None
    facts = facts or reference_ranges.LabFacts(age=None, sex=None, site=None)
    try:
        result = facts.flag(analyte, value)
    except (reference_ranges.UnknownLabCode, TypeError, ValueError):
        return None
    if result.flag is None:
        return None
    if significance in reference_ranges.SETTLING_JUDGEMENTS:
        return Judged(
            texts.Text(
                "query.judged",
                {"who": judged_by, "judgement": texts.Text(f"significance.{significance}")},
            )
        )
    return Finding(
        LAB_RANGE,
        result.reason,
        fingerprint(analyte, result.value.normalize()),
        result.text,
    )


def visit_out_of_window(
    *,
    deviation_description: str | None,
    visit_explanation: str,
    deviation_explanation: str,
    voided: bool = False,
    deviation_text: texts.Text | None = None,
) -> Finding | None:
    """VISIT_WINDOW: the schedule recorded the visit as out of window (an automatic deviation)
    and the site explained it neither on the visit nor on the deviation."""
    if voided or deviation_description is None:
        return None
    if visit_explanation.strip() or deviation_explanation.strip():
        return None
    return Finding(
        VISIT_WINDOW, deviation_description, fingerprint(deviation_description), deviation_text
    )


def dose_without_reason(
    *, proposed_mg: Decimal, administered_mg: Decimal, reason: str, voided: bool = False
) -> Finding | None:
    """DOSE_10PCT: administered more than 10 % (protocol.DOSE_TOLERANCE_FRACTION) from the
    proposed dose, and no reason recorded."""
    if voided or reason.strip():
        return None
    check = doses.check_dose(proposed_mg, administered_mg)
    if not check.needs_reason:
        return None
    detail = texts.Text(
        "dose.needs_reason",
        {
            "given": _plain(administered_mg),
            "proposed": _plain(proposed_mg),
            "difference": _plain(
                (check.difference_fraction * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
            ),
            "tolerance": _plain(DOSE_TOLERANCE_FRACTION * 100),
        },
    )
    return Finding(
        DOSE_DIFFERENCE,
        check.explanation,
        fingerprint(proposed_mg.normalize(), administered_mg.normalize()),
        detail,
    )


def sae_not_reviewed(
    *,
    serious: bool,
    alerted_at: datetime | None,
    reviewed: bool,
    now: datetime,
    voided: bool = False,
) -> Finding | None:
    """SAE_REVIEW_24H: a serious AE whose alert is more than 24 hours old and that no
    investigator has reviewed.

    Decision: "reviewed by an investigator" = the serious-AE alert (crf.SeriousAeAlert,
    raised when the event is first saved as serious) has been acknowledged
    (crf.SaeAcknowledgement) by one of its recipients holding the investigator role; a data
    manager's acknowledgement does not count.
    """
    if voided or not serious or reviewed or alerted_at is None:
        return None
    if now - alerted_at <= timedelta(hours=SAE_REVIEW_HOURS):
        return None
    text = texts.Text("query.sae_alert", {"when": alerted_at.strftime("%Y-%m-%d %H:%M UTC")})
    return Finding(SAE_REVIEW, str(text), fingerprint(alerted_at.isoformat()), text)


# --- Facts from the database, per model --------------------------------------------------------

# Automatic deviations that mean "this visit was out of its window".
_WINDOW_CATEGORIES = ("visit_out_of_window", "infusion_out_of_window")


def _lab_findings(lab, now: datetime) -> dict[str, Finding | Judged | None]:
    facts = lab.participant.lab_facts(lab.taken_on)
    judged_by = lab.updated_by.printed_name if lab.significance and lab.updated_by else ""
    return {
        LAB_RANGE.code: lab_out_of_range(
            lab.analyte,
            lab.value,
            facts=facts,
            significance=lab.significance,
            judged_by=judged_by,
            voided=lab.is_voided,
        )
    }


def _visit_findings(visit, now: datetime) -> dict[str, Finding | None]:
    from dosing.models import Deviation

    deviation = (
        Deviation.objects.active()
        .filter(
            participant_id=visit.participant_id,
            visit_code=visit.visit_code,
            automatic=True,
            category__in=_WINDOW_CATEGORIES,
        )
        .order_by("pk")
        .first()
    )
    return {
        VISIT_WINDOW.code: visit_out_of_window(
            deviation_description=deviation.description if deviation else None,
            visit_explanation=visit.out_of_window_explanation,
            deviation_explanation=deviation.explanation if deviation else "",
            voided=visit.is_voided,
            deviation_text=deviation.stored_text if deviation else None,
        )
    }


def _infusion_findings(infusion, now: datetime) -> dict[str, Finding | None]:
    return {
        DOSE_DIFFERENCE.code: dose_without_reason(
            proposed_mg=infusion.proposed_dose_mg,
            administered_mg=infusion.administered_dose_mg,
            reason=infusion.dose_difference_reason,
            voided=infusion.is_voided,
        )
    }


def _sae_findings(event, now: datetime) -> dict[str, Finding | None]:
    from crf.models import SaeAcknowledgement, SeriousAeAlert
    from trialsite.roles import Role

    alert = SeriousAeAlert.objects.filter(adverse_event_id=event.pk).first()
    reviewed = (
        alert is not None
        and SaeAcknowledgement.objects.filter(
            alert=alert,
            user__in=alert.recipients.all(),
            user__groups__name=Role.INVESTIGATOR.group_name,
        ).exists()
    )
    return {
        SAE_REVIEW.code: sae_not_reviewed(
            serious=event.serious,
            alerted_at=alert.raised_at if alert else None,
            reviewed=reviewed,
            now=now,
            voided=event.is_voided,
        )
    }


FINDERS: dict[str, Callable] = {
    "dosing.LabResult": _lab_findings,
    "dosing.Visit": _visit_findings,
    "dosing.Infusion": _infusion_findings,
    "crf.AdverseEvent": _sae_findings,
}


def judged_records(record) -> list:
    """The records whose rules a save of ``record`` may change.

    A change of an automatic window deviation (created, explained, voided) is judged on
    the visit it is about.
    """
    label = record._meta.label
    if label in FINDERS:
        return [record]
    if label == "dosing.Deviation" and record.automatic and record.category in _WINDOW_CATEGORIES:
        from dosing.models import Visit

        return list(
            Visit.objects.active().filter(
                participant_id=record.participant_id, visit_code=record.visit_code
            )
        )
    return []


def run_for_record(record, *, now: datetime) -> list:
    """Judge ``record`` by its rules and bring its automatic queries in line (see module doc)."""
    from monitoring import services

    changed = []
    for judged in judged_records(record):
        findings = FINDERS[judged._meta.label](judged, now)
        changed += services.edit_check_sync(record=judged, findings=findings, now=now)
    return changed


def run_all(records: Iterable, *, now: datetime) -> int:
    """Run the rules over ``records`` (the management command); returns queries changed."""
    return sum(len(run_for_record(record, now=now)) for record in records)
