"""Reads for dosing: the schedule of a participant from what happened, and page panels.

Every schedule is computed by ``dosing.schedule`` from the stored facts; the readers
here only fetch those facts (in a fixed number of queries, however many participants)
and shape the result for the pages: the participant timeline, the month calendar, the
dashboard work list and the iCalendar feed.
"""

from __future__ import annotations

import calendar as pycalendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from dosing import engine
from dosing.models import (
    BCellResult,
    Day0Confirmation,
    Deviation,
    Infusion,
    LabResult,
    Prescription,
    Visit,
    VisitKind,
)
from enrollment.models import Participant
from enrollment.rules import ACTIVE_STATUSES, ParticipantStatus
from trialsite import access, roles
from trialsite.dates import study_day
from trialsite.models import User

# Work-list horizon of the dashboard ("due this week": today and the 6 days after).
DUE_SOON_DAYS = 7

# Event states that still need someone to act (the calendar and dashboard lists).
PENDING = frozenset(
    {engine.EventStatus.DUE, engine.EventStatus.OVERDUE, engine.EventStatus.PLANNED}
)
DONE = frozenset(
    {
        engine.EventStatus.DONE_IN_WINDOW,
        engine.EventStatus.DONE_OUT_OF_WINDOW,
        engine.EventStatus.DONE_NOT_PLANNED,
    }
)


# --- The facts the engine reads, in bulk ---------------------------------------------------


def course_facts_for(participants: list[Participant], today: date) -> dict[int, engine.CourseFacts]:
    """CourseFacts per participant pk, in 4 queries whatever the number of participants.

    The rows become facts through their models' ``as_fact()``, the one adapter."""
    ids = [p.pk for p in participants]
    facts: dict[str, dict[int, list]] = {
        kind: defaultdict(list) for kind in ("infusions", "b_cells", "visits", "labs")
    }
    readers = (
        ("infusions", Infusion.objects.only("participant_id", "drug", "given_on"), {}),
        (
            "b_cells",
            BCellResult.objects.only(
                "participant_id", "taken_on", "cd19_percent", "cd19_absolute", "lymphocytes_10e9_l"
            ),
            {},
        ),
        (
            "visits",
            Visit.objects.only("participant_id", "visit_code", "visit_date"),
            {"kind__in": [VisitKind.BASELINE, VisitKind.ASSESSMENT]},
        ),
        (
            "labs",
            LabResult.objects.only("participant_id", "analyte", "taken_on", "value"),
            {"analyte__in": list(engine.GATE_TESTS)},
        ),
    )
    dates = {"infusions": "given_on", "b_cells": "taken_on", "visits": "visit_date"}
    for kind, queryset, condition in readers:
        rows = queryset.filter(voided_at__isnull=True, participant_id__in=ids, **condition)
        for row in rows.order_by(dates.get(kind, "taken_on"), "pk"):
            facts[kind][row.participant_id].append(row.as_fact())
    return {
        p.pk: engine.CourseFacts(
            planned_day_0=p.planned_day_0,
            today=today,
            infusions=tuple(facts["infusions"][p.pk]),
            b_cell_results=tuple(facts["b_cells"][p.pk]),
            visits_done=tuple(facts["visits"][p.pk]),
            labs=tuple(facts["labs"][p.pk]),
        )
        for p in participants
    }


def course_facts(participant: Participant, today: date) -> engine.CourseFacts:
    """The facts the treatment engine needs, read from the database (4 queries)."""
    return course_facts_for([participant], today)[participant.pk]


def course_for(participant: Participant, today: date) -> engine.Course:
    """The participant's course (phase, events, next infusion, decisions)."""
    return engine.build_course(course_facts(participant, today))


def courses_for(
    participants: Iterable[Participant], today: date
) -> list[tuple[Participant, engine.Course]]:
    """(participant, course) for each participant, in 4 queries in all."""
    participants = list(participants)
    facts = course_facts_for(participants, today)
    return [(p, engine.build_course(facts[p.pk])) for p in participants]


def treated_participants(user: User) -> QuerySet[Participant]:
    """Participants at the user's sites whose schedule still runs (active statuses)."""
    return (
        access.scoped(Participant.objects.active(), user)
        .filter(status__in=ACTIVE_STATUSES)
        .select_related("site")
        .order_by("site__code", "sequence")
    )


# --- The EXC10/EXC11 gate as the pages show it -----------------------------------------


@dataclass(frozen=True)
class GateView:
    reference: date  # the first belimumab date the labs are judged against
    result: engine.GateResult


def gate_view(sched: engine.Course, inputs: engine.CourseFacts, today: date) -> GateView | None:
    reference = engine.gate_reference_date(sched, today)
    if reference is None:
        return None
    return GateView(reference, engine.belimumab_lab_gate(reference, inputs.labs))


# --- Participant timeline (server-rendered SVG) ------------------------------------------

_SVG_WIDTH = 720
_SVG_LEFT = 70  # room for the visit codes
_SVG_RIGHT = 10
_ROW = 16
_TOP = 18  # room for the axis labels


@dataclass(frozen=True)
class TimelineRow:
    event: engine.Event
    y: int
    band_x: float
    band_width: float
    target_x: float
    actual_x: float | None
    deviation: bool
    css: str  # status class for colours


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Timeline:
    rows: tuple[TimelineRow, ...]
    ticks: tuple[Tick, ...]
    today_x: float | None
    width: int
    height: int
    plot_left: int


def _scale(first_day: int, last_day: int):
    span = max(last_day - first_day, 1)
    plot = _SVG_WIDTH - _SVG_LEFT - _SVG_RIGHT

    def x(day: int) -> float:
        return round(_SVG_LEFT + (day - first_day) * plot / span, 1)

    return x


def shown_events(sched: engine.Course, *, treatment_ended: bool) -> list[engine.Event]:
    """The events a participant's timeline shows: once treatment has ended (discontinued,
    withdrawn), only what was done; nothing is planned any more."""
    if treatment_ended:
        return [e for e in sched.events if e.actual is not None]
    return list(sched.events)


def timeline(
    sched: engine.Course, today: date, events: list[engine.Event] | None = None
) -> Timeline:
    """Planned window bands, targets and actual dates of every event, on study days."""
    events = [
        e
        for e in (sched.events if events is None else events)
        if e.status is not engine.EventStatus.NOT_NEEDED
    ]
    deviating = {d.visit_code for d in sched.deviations}
    days = [study_day(e.window_start, sched.day_0) for e in events]
    days += [study_day(e.window_end, sched.day_0) for e in events]
    days += [e.actual_day for e in events if e.actual_day is not None]
    today_day = study_day(today, sched.day_0)
    first_day = min([*days, 0]) - 2
    last_day = max([*days, 0]) + 2
    x = _scale(first_day, last_day)
    rows = []
    for index, event in enumerate(events):
        start = study_day(event.window_start, sched.day_0)
        end = study_day(event.window_end, sched.day_0)
        band_x = x(start) - 2
        rows.append(
            TimelineRow(
                event=event,
                y=_TOP + index * _ROW,
                band_x=band_x,
                band_width=max(x(end) + 2 - band_x, 4),
                target_x=x(event.target_day),
                actual_x=None if event.actual_day is None else x(event.actual_day),
                deviation=event.visit_code in deviating,
                css=f"ev-{event.status.value}",
            )
        )
    weeks = range((first_day // 28 + 1) * 28, last_day + 1, 28)
    ticks = tuple(Tick(x(d), f"W{d // 7}") for d in weeks)
    today_x = x(today_day) if first_day <= today_day <= last_day else None
    return Timeline(
        rows=tuple(rows),
        ticks=ticks,
        today_x=today_x,
        width=_SVG_WIDTH,
        height=_TOP + len(rows) * _ROW + 6,
        plot_left=_SVG_LEFT,
    )


# --- B-cell trend ---------------------------------------------------------------------------

_CHART_WIDTH = 360
_CHART_HEIGHT = 160
_CHART_LEFT = 40
_CHART_BOTTOM = 20


@dataclass(frozen=True)
class BCellRow:
    result: BCellResult
    day: int | None
    depletion: engine.Depletion


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    label: str
    depleted: bool | None


@dataclass(frozen=True)
class BCellChart:
    points: tuple[ChartPoint, ...]
    polyline: str
    threshold_y: float
    threshold_label: str
    width: int
    height: int
    left: int
    bottom: float
    y_max_label: str


def b_cell_chart(rows: list[BCellRow]) -> BCellChart | None:
    """CD19⁺ % over study days with the SCH2 threshold line (None without a % value)."""
    from trialsite.protocol import B_CELL_DEPLETION_PERCENT

    plotted = [r for r in rows if r.result.cd19_percent is not None and r.day is not None]
    if not plotted:
        return None
    y_max = max([r.result.cd19_percent for r in plotted] + [B_CELL_DEPLETION_PERCENT * 2])
    y_max = Decimal(y_max) * Decimal("1.1")
    days = [r.day for r in plotted]
    first, last = min(days) - 3, max(days) + 3
    plot_w = _CHART_WIDTH - _CHART_LEFT - 10
    plot_h = _CHART_HEIGHT - _CHART_BOTTOM - 10
    bottom = _CHART_HEIGHT - _CHART_BOTTOM

    def px(day: int) -> float:
        return round(_CHART_LEFT + (day - first) * plot_w / max(last - first, 1), 1)

    def py(value: Decimal) -> float:
        return round(float(bottom - value * plot_h / y_max), 1)

    points = tuple(
        ChartPoint(
            px(r.day),
            py(r.result.cd19_percent),
            f"{engine.num(r.result.cd19_percent)} %",
            r.depletion.depleted,
        )
        for r in plotted
    )
    return BCellChart(
        points=points,
        polyline=" ".join(f"{p.x},{p.y}" for p in points),
        threshold_y=py(B_CELL_DEPLETION_PERCENT),
        threshold_label=f"{engine.num(B_CELL_DEPLETION_PERCENT)} %",
        width=_CHART_WIDTH,
        height=_CHART_HEIGHT,
        left=_CHART_LEFT,
        bottom=bottom,
        y_max_label=f"{engine.num(y_max.quantize(Decimal('0.1')))} %",
    )


# --- Participant page panel ------------------------------------------------------------------


def open_prescription(participant: Participant) -> Prescription | None:
    """The signed prescription not yet administered (at most one at a time)."""
    return (
        Prescription.objects.active()
        .filter(participant=participant, infusion__isnull=True)
        .select_related("prescribed_by")
        .order_by("-pk")
        .first()
    )


def participant_context(participant: Participant, user: User, today: date) -> dict[str, Any]:
    """Context for templates/dosing/participant_panel.html on the participant page."""
    inputs = course_facts(participant, today)
    sched = engine.build_course(inputs)
    b_cell_rows = [
        BCellRow(
            result=r,
            day=study_day(r.taken_on, sched.day_0),
            depletion=engine.b_cell_depleted(r.as_fact()),
        )
        for r in BCellResult.objects.active().filter(participant=participant)
    ]
    deviations = list(
        Deviation.objects.active().filter(participant=participant).select_related("reviewed_by")
    )
    active = participant.status in ACTIVE_STATUSES
    # Completed participants keep their full (all done) schedule; ended ones what was done.
    events = shown_events(
        sched,
        treatment_ended=participant.status
        in (ParticipantStatus.DISCONTINUED, ParticipantStatus.WITHDRAWN),
    )
    can_write = access.can_write(user)
    all_visits = list(
        Visit.objects.active().filter(participant=participant).order_by("visit_date", "pk")
    )
    visits = [v for v in all_visits if v.kind != VisitKind.INFUSION]
    return {
        "dosing": {
            "schedule": sched,
            "inputs": inputs,
            "events": events,
            "timeline": timeline(sched, today, events),
            "treatment_ended": not active,
            "infusions": list(
                Infusion.objects.active()
                .filter(participant=participant)
                .select_related("prescribed_by")
            ),
            "open_prescription": open_prescription(participant) if active else None,
            "b_cells": b_cell_rows,
            "b_cell_chart": b_cell_chart(b_cell_rows),
            "day_0_confirmations": list(
                Day0Confirmation.objects.active().filter(participant=participant)
            ),
            "gate": gate_view(sched, inputs, today) if active else None,
            "deviations": deviations,
            "open_deviations": [d for d in deviations if d.reviewed_at is None],
            "unscheduled_visits": [v for v in visits if v.kind == VisitKind.UNSCHEDULED],
            # Every recorded visit by code, for the links to its CRFs.
            "visits_by_code": {v.visit_code: v for v in all_visits},
            # Recorded assessment visits by code, for the timeline's edit links.
            "assessment_visits": {
                v.visit_code: v for v in visits if v.kind != VisitKind.UNSCHEDULED
            },
            "can_write": can_write and participant.status != ParticipantStatus.WITHDRAWN,
            "can_treat": can_write and active,
            "can_sign": user.has_perm(roles.SIGN) and active,
            "can_complete": can_write
            and participant.status == ParticipantStatus.BELIMUMAB
            and sched.phase is engine.Phase.TREATMENT_COMPLETE
            and sched.event("W28") is not None
            and sched.event("W28").actual is not None,
        }
    }


# --- Work lists: dashboard, month calendar, feed ---------------------------------------------


@dataclass(frozen=True)
class CalendarItem:
    participant: Participant
    event: engine.Event
    on: date  # where the item sits: the actual date when done, else the target

    @property
    def done(self) -> bool:
        return self.event.actual is not None


def calendar_items(
    pairs: list[tuple[Participant, engine.Course]],
) -> list[CalendarItem]:
    """Every event worth showing, placed on its actual date when done, else its target."""
    items = []
    for participant, sched in pairs:
        for event in sched.events:
            if event.status is engine.EventStatus.NOT_NEEDED:
                continue
            items.append(CalendarItem(participant, event, event.actual or event.target))
    items.sort(key=lambda i: (i.on, i.participant.subject_id, i.event.visit_code))
    return items


def work_list(user: User, today: date) -> dict[str, list[CalendarItem]]:
    """Overdue events (target passed, window still open) and those due this week."""
    items = calendar_items(courses_for(treated_participants(user), today))
    soon = today + timedelta(days=DUE_SOON_DAYS - 1)
    return {
        "overdue": [i for i in items if i.event.status is engine.EventStatus.OVERDUE],
        "due_this_week": [
            i
            for i in items
            if i.event.status in (engine.EventStatus.DUE, engine.EventStatus.PLANNED)
            and today <= i.event.target <= soon
        ],
        "missed": [i for i in items if i.event.status is engine.EventStatus.MISSED],
    }


def open_deviations(user: User) -> QuerySet[Deviation]:
    """Deviations at the user's sites not yet reviewed by an investigator."""
    return (
        access.scoped(Deviation.objects.active(), user)
        .filter(reviewed_at__isnull=True)
        .select_related("participant", "participant__site")
    )


def dashboard_context(user: User, today: date) -> dict[str, Any]:
    """Context for templates/dosing/dashboard_panel.html on the dashboard."""
    if not user.has_perm(roles.VIEW):
        return {}
    lists = work_list(user, today)
    return {
        "dosing_work": lists,
        "dosing_open_deviations": open_deviations(user).count(),
        "dosing_today": today,
    }


@dataclass(frozen=True)
class CalendarDay:
    day: date
    in_month: bool
    is_today: bool
    items: tuple[CalendarItem, ...]


@dataclass(frozen=True)
class MonthCalendar:
    month: date  # first day of the month
    previous: date
    next: date
    weeks: tuple[tuple[CalendarDay, ...], ...]
    overdue: tuple[CalendarItem, ...]
    weekdays: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        """Nothing falls in the month itself (the days shown around it do not count)."""
        return not any(day.items for week in self.weeks for day in week if day.in_month)


def parse_month(value: str | None, today: date) -> date:
    """``YYYY-MM`` as the first day of that month; the current month when absent or wrong."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        return today.replace(day=1)


def month_calendar(user: User, month: date, today: date) -> MonthCalendar:
    """Due, overdue, planned and done infusions and visits at the user's sites, by day."""
    from django.utils.dates import WEEKDAYS_ABBR

    grid = pycalendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    first, last = grid[0][0], grid[-1][-1]
    items = calendar_items(courses_for(treated_participants(user), today))
    by_day: dict[date, list[CalendarItem]] = defaultdict(list)
    for item in items:
        if first <= item.on <= last:
            by_day[item.on].append(item)
    weeks = tuple(
        tuple(
            CalendarDay(d, d.month == month.month, d == today, tuple(by_day.get(d, ())))
            for d in week
        )
        for week in grid
    )
    previous = (month - timedelta(days=1)).replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    return MonthCalendar(
        month=month,
        previous=previous,
        next=following,
        weeks=weeks,
        overdue=tuple(i for i in items if i.event.status is engine.EventStatus.OVERDUE),
        weekdays=tuple(str(WEEKDAYS_ABBR[i]) for i in range(7)),
    )


def feed_items(user: User, today: date) -> list[CalendarItem]:
    """What a user's iCalendar feed lists: the events of the participants at their sites."""
    return calendar_items(courses_for(treated_participants(user), today))


def site_deviations(user: User, *, site_code: str = "", open_only: bool = False):
    deviations = access.scoped(Deviation.objects.active(), user).select_related(
        "participant", "participant__site", "reviewed_by"
    )
    if site_code:
        deviations = deviations.filter(participant__site__code=site_code)
    if open_only:
        deviations = deviations.filter(reviewed_at__isnull=True)
    return deviations.order_by("-occurred_on", "pk")


def gate_lab_records(participant: Participant):
    """The pre-belimumab labs entered for the gate (not tied to a visit), newest first."""
    return LabResult.objects.filter(
        participant=participant, visit__isnull=True, analyte__in=list(engine.GATE_TESTS)
    ).order_by("-taken_on", "analyte", "-pk")


# --- The reminder digest's view of the course (notifications/) ------------------------------


@dataclass(frozen=True)
class DigestEvent:
    """One scheduled event a reminder is about, judged on ``today``."""

    participant: Participant
    visit_code: str
    label: str
    target: date
    window_start: date
    window_end: date
    missed: bool  # the window ended without the event; otherwise it is due (or coming)


def digest_events(
    participants: Iterable[Participant], today: date, horizon_days: int, missed_days: int
) -> list[DigestEvent]:
    """Events to remind the site of on ``today``, from the participants' courses.

    Due: not done, not projected, target within ``horizon_days`` from today (or already
    passed with the window still open). Missed: the window ended in the last
    ``missed_days`` days without the event. Done and not-needed events never appear.
    The one read of the course the notifications app makes (keep it the only one).
    """
    running = [p for p in participants if p.status in ACTIVE_STATUSES]
    last_due, first_missed = (
        today + timedelta(days=horizon_days),
        today - timedelta(days=missed_days),
    )
    found = []
    for participant, course in courses_for(running, today):
        for event in course.events:
            status = event.status
            missed = status is engine.EventStatus.MISSED
            if missed and not first_missed <= event.window_end < today:
                continue
            if not missed and (status not in PENDING or event.projected or event.target > last_due):
                continue
            found.append(
                DigestEvent(
                    participant=participant,
                    visit_code=event.visit_code,
                    label=event.label,
                    target=event.target,
                    window_start=event.window_start,
                    window_end=event.window_end,
                    missed=missed,
                )
            )
    found.sort(key=lambda e: (e.target, e.participant.subject_id, e.visit_code))
    return found
