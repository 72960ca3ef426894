"""Automatic protocol deviations: found in the course, recorded by dosing's services."""

from __future__ import annotations

from datetime import date, timedelta

from dosing.engine.facts import Deviation, DeviationCategory, Drug, Event, EventKind, EventStatus
from dosing.engine.labels import event_label_text, infusion_visit_code
from dosing.engine.plan import Plan
from trialsite.protocol import CRF_ENTRY_DAYS, RITUXIMAB_MAX_INFUSIONS
from trialsite.texts import Text


def _missed(event: Event, today: date) -> bool:
    """Missed: confirmed not done; or not recorded and the CRF entry period after its
    window has ended too (a later record turns the deviation into an out-of-window one, or
    withdraws it)."""
    if event.status is EventStatus.MISSED:
        return True
    return event.status is EventStatus.NOT_RECORDED and today > event.window_end + timedelta(
        days=CRF_ENTRY_DAYS
    )


def _label(event: Event) -> Text:
    drug = event.drug.value if event.drug is not None else None
    return event_label_text(event.kind.value, drug, event.number, event.visit_code)


def _window(event: Event) -> Text:
    return Text("window", {"start": event.window_start, "end": event.window_end})


def _deviation(code: DeviationCategory, event: Event, on: date, text: Text) -> Deviation:
    return Deviation(code, event.visit_code, on, str(text), text)


def event_deviations(events: list[Event], today: date) -> list[Deviation]:
    deviations: list[Deviation] = []
    for event in events:
        out_of_window = event.status is EventStatus.DONE_OUT_OF_WINDOW
        if not out_of_window and not _missed(event, today):
            continue  # no deviation: no text to build (most events)
        values = {"label": _label(event), "target": event.target, "window": _window(event)}
        infusion = event.kind is EventKind.INFUSION
        if out_of_window:
            assert event.actual is not None
            text = Text(
                "deviation.out_of_window",
                values | {"actual": event.actual, "day": event.actual_day},
            )
            code = (
                DeviationCategory.INFUSION_OUT_OF_WINDOW
                if infusion
                else DeviationCategory.VISIT_OUT_OF_WINDOW
            )
            deviations.append(_deviation(code, event, event.actual, text))
            continue
        if event.not_done is not None:
            text = Text(
                "deviation.not_done",
                values | {"date": event.not_done.confirmed_on, "reason": event.not_done.reason},
            )
        else:
            text = Text("deviation.missed", values | {"days": CRF_ENTRY_DAYS})
        code = DeviationCategory.INFUSION_MISSED if infusion else DeviationCategory.VISIT_MISSED
        deviations.append(_deviation(code, event, event.window_end, text))
    return deviations


def unplanned_deviations(plan: Plan, events: list[Event]) -> list[Deviation]:
    deviations: list[Deviation] = []
    phase = plan.rituximab
    reasons = (
        (phase.after_depletion, DeviationCategory.RITUXIMAB_AFTER_DEPLETION),
        (phase.beyond_maximum, DeviationCategory.RITUXIMAB_BEYOND_MAXIMUM),
        (phase.after_belimumab, DeviationCategory.RITUXIMAB_AFTER_BELIMUMAB),
        (plan.belimumab_extra, DeviationCategory.BELIMUMAB_BEYOND_PLAN),
    )  # the text's code is the category's: trialsite.texts "deviation.<category>"
    unplanned = {(e.drug, e.actual): e for e in events if e.status is EventStatus.DONE_NOT_PLANNED}
    for dates, code in reasons:
        if code is DeviationCategory.BELIMUMAB_BEYOND_PLAN and phase.last_before_belimumab is None:
            continue  # no rituximab at all: reported once as "before rituximab complete"
        drug = Drug.BELIMUMAB if code is DeviationCategory.BELIMUMAB_BEYOND_PLAN else Drug.RITUXIMAB
        for given_on in dates:
            event = unplanned[(drug, given_on)]
            text = Text(
                f"deviation.{code.value}",
                {"label": _label(event), "date": given_on, "maximum": RITUXIMAB_MAX_INFUSIONS},
            )
            deviations.append(_deviation(code, event, given_on, text))
    if plan.belimumab_early:
        first = plan.belimumab_given[0]
        text = Text("deviation.belimumab_before_rituximab_complete", {"date": first})
        deviations.append(
            Deviation(
                DeviationCategory.BELIMUMAB_BEFORE_RITUXIMAB_COMPLETE,
                infusion_visit_code(Drug.BELIMUMAB, 1),
                first,
                str(text),
                text,
            )
        )
    return deviations
