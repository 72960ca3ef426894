"""Generated texts as a code with parameters, rendered in the reader's language.

Texts the system writes by itself (automatic query questions, deviation descriptions,
status-history notes, notifications…) are stored as a *code* (a key of ``TEMPLATES``)
and *parameters* (JSON) beside the English text, which stays filled for exports and the
audit trail.  Pages render the code in the reader's language (the ``generated`` filter in
``trialsite.templatetags.texts``); a row stored before codes existed has none and shows its
stored text.

Pure: no database, no request.  The templates are the catalogue's own English messages,
so their translations in locale/zh_Hans are reused.

Parameters are JSON values: strings, integers, ISO dates, a number as ``{"number": "21.00"}``
(shown with the project's number formatting), another text as ``{"code": …, "params": …}``
(rendered in the same language), texts one after the other as ``{"list": [...]}``, a
laboratory test as ``{"lab": "IGG"}`` and a drug
name as ``{"drug": "rituximab"}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import get_language, override
from django.utils.translation import gettext_lazy as _

from trialsite.units import format_number

TEMPLATES: dict[str, Promise] = {
    # trialsite.reference_ranges
    "lab.below": _("%(name)s %(value)s %(unit)s is below the lower limit %(lower)s %(unit)s."),
    "lab.above": _("%(name)s %(value)s %(unit)s is above the upper limit %(upper)s %(unit)s."),
    "lab.within": _("%(name)s %(value)s %(unit)s is within the reference range (%(limits)s)."),
    # monitoring.edit_checks: a query's question is the finding then the rule's request
    "query.auto": _("%(detail)s %(message)s"),
    "query.auto_closed": _("Closed by the automatic check: the data now passes the rule."),
    # A lab value outside its range judged by a person (reference_ranges.Significance).
    "query.judged": _("Closed by the automatic check: %(who)s judged the value “%(judgement)s”."),
    "significance.not_significant": _("Not clinically significant"),
    "significance.expected": _("Expected for the disease"),
    "query.sae_alert": _("Alert raised %(when)s."),
    "rule.LAB_RANGE": _(
        "Value outside the reference range: confirm it against the source or correct it."
    ),
    "rule.VISIT_WINDOW": _("Visit outside its window without an explanation: explain why."),
    "rule.DOSE_10PCT": _(
        # xgettext:no-python-format
        "Administered dose more than 10 % from the proposed dose without a reason: give the "
        "reason or correct the dose."
    ),
    "rule.SAE_REVIEW_24H": _(
        "Serious adverse event not reviewed by an investigator within 24 hours of its alert: "
        "the site's investigator must acknowledge it."
    ),
    # dosing.engine: event names, windows and automatic deviations
    "event.rituximab": _("Rituximab infusion %(n)s"),
    "event.belimumab": _("Belimumab infusion %(n)s"),
    "event.baseline": _("Baseline visit (Day 0)"),
    "event.week": _("Week %(week)s assessment visit"),
    "window": _("window %(start)s to %(end)s"),
    "deviation.out_of_window": _(
        "%(label)s done on %(actual)s (day %(day)s), outside its %(window)s (target %(target)s)."
    ),
    "deviation.not_done": _(
        "%(label)s not done (target %(target)s, %(window)s): confirmed by the "
        "investigator on %(date)s: %(reason)s"
    ),
    "deviation.missed": _(
        "%(label)s missed: not recorded by the end of its %(window)s (target "
        "%(target)s) nor in the %(days)s days of data entry after it."
    ),
    "deviation.rituximab_after_depletion": _(
        "%(label)s given on %(date)s after B-cell depletion had ended the rituximab phase (SCH2)."
    ),
    "deviation.rituximab_beyond_maximum": _(
        "%(label)s given on %(date)s beyond the maximum of %(maximum)s rituximab infusions (SCH1)."
    ),
    "deviation.rituximab_after_belimumab": _(
        "%(label)s given on %(date)s after belimumab had started (SCH1/SCH3)."
    ),
    "deviation.belimumab_beyond_plan": _(
        "%(label)s given on %(date)s beyond the last planned belimumab infusion (SCH3)."
    ),
    "deviation.belimumab_before_rituximab_complete": _(
        "Belimumab infusion 1 given on %(date)s before the rituximab phase was complete "
        "(SCH2/SCH3)."
    ),
    # eligibility engine decisions kept on a record (dosing.Day0Confirmation)
    "exc5.pass": _("No infection-related exclusion (re-confirm on Day 0)"),
    # dosing.engine.gate: a failing EXC10/EXC11 gate (the reason treatment ends)
    "gate.analyte.igg": _("IgG"),
    "gate.analyte.iga": _("IgA"),
    "gate.analyte.wbc": _("WBC"),
    "gate.analyte.neutrophils": _("neutrophils"),
    "gate.failing_line": _(
        "%(clause)s: %(analyte)s %(value)s %(unit)s < %(minimum)s %(unit)s (%(date)s)"
    ),
    "gate.fail": _(
        "Labs before the first belimumab on %(first)s fail %(failing)s: the first "
        "belimumab cannot be given and treatment ends (discontinued)."
    ),
    "gate.also_missing": _("Also without a result from %(oldest)s on: %(missing)s."),
    "sentences": _("%(first)s %(second)s"),
    # status history (enrollment, dosing)
    "status.enrolled": _("Enrolled from screening %(number)s"),
    "status.consent_withdrawn": _("Consent withdrawn on %(date)s"),
    "status.first_rituximab": _("First rituximab infusion given on %(date)s (Day 0)."),
    "status.first_belimumab": _("First belimumab infusion given on %(date)s."),
    "status.completed": _("Treatment complete and the week 28 visit recorded."),
    # dosing.doses
    "dose.needs_reason": _(
        "%(given)s mg differs from the proposed %(proposed)s mg by %(difference)s %%, "
        "more than %(tolerance)s %%: give a reason (flagged)."
    ),
}


@dataclass(frozen=True, eq=False)
class Text:
    """A generated text: its code and parameters; ``str()`` renders it in the active
    language, ``english()`` in English (the stored text column)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return render(self.code, self.json_params())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and self.json() == other.json()

    def __hash__(self) -> int:
        return hash(json.dumps(self.json(), sort_keys=True))

    def english(self) -> str:
        with override("en"):
            return str(self)

    def json_params(self) -> dict[str, Any]:
        return {key: _to_json(value) for key, value in self.params.items()}

    def json(self) -> dict[str, Any]:
        return {"code": self.code, "params": self.json_params()}


def number(value: Decimal | int | float | str) -> dict[str, str]:
    """A parameter shown as a number in the reader's format."""
    return {"number": str(value)}


def joined(items: list[Text], *, commas: bool = False) -> dict[str, Any]:
    """A parameter shown as its texts one after the other: "; " in English, "；" in Chinese
    (``commas``: ", " and "、")."""
    return {"list": [item.json() for item in items], "commas": commas}


def drug(name: str) -> dict[str, str]:
    """A parameter shown as the drug's name in the reader's language."""
    return {"drug": name}


def _to_json(value: Any) -> Any:
    if isinstance(value, Text):
        return value.json()
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Promise):
        return str(value)
    return value


_SEPARATORS = {(False, False): "; ", (True, False): "；", (False, True): ", ", (True, True): "、"}


def _shown(value: Any) -> Any:
    if isinstance(value, dict):
        if "code" in value:
            return render(value["code"], value.get("params") or {})
        if "number" in value:
            return format_number(Decimal(value["number"]))  # no trailing zeros
        if "list" in value:
            chinese = (get_language() or "").lower().startswith("zh")
            separator = _SEPARATORS[(chinese, bool(value.get("commas")))]
            return separator.join(str(_shown(item)) for item in value["list"])
        if "lab" in value:
            from trialsite.reference_ranges import LabCode

            return LabCode(value["lab"]).label
        if "drug" in value:
            from trialsite.drugs import display_name

            return display_name(value["drug"])
    return value


def render(code: str | None, params: Mapping[str, Any] | None, fallback: str = "") -> str:
    """The text of ``code`` with ``params`` in the active language; ``fallback`` (the stored
    text) when there is no code or the code is unknown (a row from before codes, or a
    retired template)."""
    template = TEMPLATES.get(code or "")
    if template is None:
        return fallback
    values = {key: _shown(value) for key, value in (params or {}).items()}
    try:
        return str(template) % values if values else str(template).replace("%%", "%")
    except (KeyError, TypeError, ValueError):
        return fallback or str(template)
