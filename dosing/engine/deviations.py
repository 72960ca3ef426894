"""Automatic protocol deviations: found in the course, recorded by dosing's services."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from dosing.engine.facts import Deviation, DeviationCategory, Drug, Event, EventKind, EventStatus
from dosing.engine.labels import infusion_visit_code
from dosing.engine.plan import Plan
from dosing.engine.windows import window_text as _window_text
from trialsite.protocol import CRF_ENTRY_DAYS, RITUXIMAB_MAX_INFUSIONS


def _missed(event: Event, today: date) -> bool:
    """Missed: confirmed not done; or not recorded and the CRF entry period after its
    window has ended too (a later record turns the deviation into an out-of-window one, or
    withdraws it)."""
    if event.status is EventStatus.MISSED:
        return True
    return event.status is EventStatus.NOT_RECORDED and today > event.window_end + timedelta(
        days=CRF_ENTRY_DAYS
    )


def event_deviations(events: list[Event], today: date) -> list[Deviation]:
    deviations: list[Deviation] = []
    for event in events:
        out_of_window = event.status is EventStatus.DONE_OUT_OF_WINDOW
        if not out_of_window and not _missed(event, today):
            continue  # no deviation: no text to build (most events)
        values = {
            "label": event.label,
            "target": event.target.isoformat(),
            "window": _window_text(event.window_start, event.window_end),
        }
        infusion = event.kind is EventKind.INFUSION
        if out_of_window:
            assert event.actual is not None
            text = _(
                "%(label)s done on %(actual)s (day %(day)s), outside its %(window)s "
                "(target %(target)s)."
            ) % (values | {"actual": event.actual.isoformat(), "day": event.actual_day})
            code = (
                DeviationCategory.INFUSION_OUT_OF_WINDOW
                if infusion
                else DeviationCategory.VISIT_OUT_OF_WINDOW
            )
            deviations.append(Deviation(code, event.visit_code, event.actual, text))
            continue
        if event.not_done is not None:
            text = _(
                "%(label)s not done (target %(target)s, %(window)s): confirmed by the "
                "investigator on %(date)s: %(reason)s"
            ) % (
                values
                | {"date": event.not_done.confirmed_on.isoformat(), "reason": event.not_done.reason}
            )
        else:
            text = _(
                "%(label)s missed: not recorded by the end of its %(window)s (target "
                "%(target)s) nor in the %(days)s days of data entry after it."
            ) % (values | {"days": CRF_ENTRY_DAYS})
        code = DeviationCategory.INFUSION_MISSED if infusion else DeviationCategory.VISIT_MISSED
        deviations.append(Deviation(code, event.visit_code, event.window_end, text))
    return deviations


def unplanned_deviations(plan: Plan, events: list[Event]) -> list[Deviation]:
    deviations: list[Deviation] = []
    phase = plan.rituximab
    reasons = (
        (
            phase.after_depletion,
            DeviationCategory.RITUXIMAB_AFTER_DEPLETION,
            gettext_noop(
                "%(label)s given on %(date)s after B-cell depletion had ended the rituximab "
                "phase (SCH2)."
            ),
        ),
        (
            phase.beyond_maximum,
            DeviationCategory.RITUXIMAB_BEYOND_MAXIMUM,
            gettext_noop(
                "%(label)s given on %(date)s beyond the maximum of %(maximum)s rituximab "
                "infusions (SCH1)."
            ),
        ),
        (
            phase.after_belimumab,
            DeviationCategory.RITUXIMAB_AFTER_BELIMUMAB,
            gettext_noop("%(label)s given on %(date)s after belimumab had started (SCH1/SCH3)."),
        ),
        (
            plan.belimumab_extra,
            DeviationCategory.BELIMUMAB_BEYOND_PLAN,
            gettext_noop(
                "%(label)s given on %(date)s beyond the last planned belimumab infusion (SCH3)."
            ),
        ),
    )  # translated only when a deviation is found (rare), not for every schedule
    unplanned = {(e.drug, e.actual): e for e in events if e.status is EventStatus.DONE_NOT_PLANNED}
    for dates, code, template in reasons:
        if code is DeviationCategory.BELIMUMAB_BEYOND_PLAN and phase.last_before_belimumab is None:
            continue  # no rituximab at all: reported once as "before rituximab complete"
        drug = Drug.BELIMUMAB if code is DeviationCategory.BELIMUMAB_BEYOND_PLAN else Drug.RITUXIMAB
        for given_on in dates:
            event = unplanned[(drug, given_on)]
            text = _(template) % {
                "label": event.label,
                "date": given_on.isoformat(),
                "maximum": RITUXIMAB_MAX_INFUSIONS,
            }
            deviations.append(Deviation(code, event.visit_code, given_on, text))
    if plan.belimumab_early:
        first = plan.belimumab_given[0]
        text = _(
            "Belimumab infusion 1 given on %(date)s before the rituximab phase was complete "
            "(SCH2/SCH3)."
        ) % {"date": first.isoformat()}
        deviations.append(
            Deviation(
                DeviationCategory.BELIMUMAB_BEFORE_RITUXIMAB_COMPLETE,
                infusion_visit_code(Drug.BELIMUMAB, 1),
                first,
                text,
            )
        )
    return deviations
