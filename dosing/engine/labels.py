"""Visit codes and the names events carry (the codes are the protocol's: trialsite.protocol)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from dosing.engine.facts import Drug
from trialsite.protocol import (
    ASSESSMENT_VISITS,
    BASELINE_VISIT_CODE,
    BELIMUMAB_VISIT_PREFIX,
    DAYS_PER_WEEK,
    RITUXIMAB_VISIT_PREFIX,
)
from trialsite.texts import Text


def drug_label(drug: Drug) -> str:
    return _("Rituximab") if drug is Drug.RITUXIMAB else _("Belimumab")


def infusion_visit_code(drug: Drug, number: int) -> str:
    prefix = RITUXIMAB_VISIT_PREFIX if drug is Drug.RITUXIMAB else BELIMUMAB_VISIT_PREFIX
    return f"{prefix}{number}"


def infusion_label(drug: Drug, number: int) -> str:
    if drug is Drug.RITUXIMAB:
        return _("Rituximab infusion %(n)s") % {"n": number}
    return _("Belimumab infusion %(n)s") % {"n": number}


def visit_label(code: str, day: int) -> str:
    if code == BASELINE_VISIT_CODE:
        return _("Baseline visit (Day 0)")
    return _("Week %(week)s assessment visit") % {"week": day // DAYS_PER_WEEK}


def event_label_text(kind: str, drug: str | None, number: int | None, visit_code: str) -> Text:
    """An event's name as a generated text (rendered in the reader's language)."""
    if kind == "infusion" and number is not None:
        code = "event.rituximab" if drug == Drug.RITUXIMAB.value else "event.belimumab"
        return Text(code, {"n": number})
    if visit_code == BASELINE_VISIT_CODE:
        return Text("event.baseline")
    day = dict(ASSESSMENT_VISITS).get(visit_code, 0)
    return Text("event.week", {"week": day // DAYS_PER_WEEK})


def event_label(kind: str, drug: str, number: int | None, visit_code: str) -> str:
    """An event's name from its stored codes (the stored course, ``CourseEvent``)."""
    if kind == "infusion" and number is not None:
        return infusion_label(Drug(drug), number)
    day = dict(ASSESSMENT_VISITS).get(visit_code, 0)
    return visit_label(visit_code, day)
