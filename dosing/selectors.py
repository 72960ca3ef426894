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

from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from dosing import engine
from dosing.models import (
    BCellResult,
    CourseEvent,
    Day0Confirmation,
    Deviation,
    Drug,
    EventNotDone,
    EventOutcome,
    Infusion,
    LabResult,
    Prescription,
    Visit,
    VisitKind,
)
from enrollment.models import Participant
from enrollment.rules import ACTIVE_STATUSES, ParticipantStatus
from trialsite import access, protocol, roles
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
    """CourseFacts per participant pk, in 6 queries whatever the number of participants.

    The rows become facts through their models' ``as_fact()``, the one adapter."""
    ids = [p.pk for p in participants]
    facts: dict[str, dict[int, list]] = {
        kind: defaultdict(list) for kind in ("infusions", "b_cells", "visits", "labs", "not_done")
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
        (
            "not_done",
            EventNotDone.objects.only("participant_id", "visit_code", "confirmed_on", "reason"),
            {},
        ),
    )
    dates = {
        "infusions": "given_on",
        "b_cells": "taken_on",
        "visits": "visit_date",
        "not_done": "confirmed_on",
    }
    for kind, queryset, condition in readers:
        rows = queryset.filter(voided_at__isnull=True, participant_id__in=ids, **condition)
        for row in rows.order_by(dates.get(kind, "taken_on"), "pk"):
            facts[kind][row.participant_id].append(row.as_fact())
    # The first belimumab, once prescribed, is the date its gate judges (engine.gate).
    prescribed = dict(
        Prescription.objects.active()
        .filter(participant_id__in=ids, drug=Drug.BELIMUMAB, infusion__isnull=True)
        .values_list("participant_id", "planned_on")
    )
    return {
        p.pk: engine.CourseFacts(
            planned_day_0=p.planned_day_0,
            today=today,
            infusions=tuple(facts["infusions"][p.pk]),
            b_cell_results=tuple(facts["b_cells"][p.pk]),
            visits_done=tuple(facts["visits"][p.pk]),
            labs=tuple(facts["labs"][p.pk]),
            not_done=tuple(facts["not_done"][p.pk]),
            belimumab_prescribed_on=prescribed.get(p.pk),
        )
        for p in participants
    }


def course_facts(participant: Participant, today: date) -> engine.CourseFacts:
    """The facts the treatment engine needs, read from the database (6 queries)."""
    return course_facts_for([participant], today)[participant.pk]


def course_for(participant: Participant, today: date) -> engine.Course:
    """The participant's course (phase, events, next infusion, decisions)."""
    return engine.build_course(course_facts(participant, today))


def courses_for(
    participants: Iterable[Participant], today: date
) -> list[tuple[Participant, engine.Course]]:
    """(participant, course) for each participant, in 6 queries in all."""
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
    prescribed: bool  # that date is the prescription's (else the planned target)
    result: engine.GateResult

    @property
    def failed(self) -> bool:
        return self.result.outcome is engine.GateOutcome.FAIL


def gate_view(sched: engine.Course, inputs: engine.CourseFacts) -> GateView | None:
    """The EXC10/EXC11 gate as the pages show it, judged on the date the engine gives."""
    reference = engine.gate_reference_date(sched, inputs)
    if reference is None:
        return None
    prescribed = reference == inputs.belimumab_prescribed_on
    return GateView(reference, prescribed, engine.belimumab_lab_gate(reference, inputs.labs))


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
    step = protocol.CHART_TICK_DAYS
    weeks = range((first_day // step + 1) * step, last_day + 1, step)
    ticks = tuple(Tick(x(d), f"W{d // protocol.DAYS_PER_WEEK}") for d in weeks)
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


def default_event_date(course: engine.Course, visit_code: str, today: date) -> date:
    """The date a form for a scheduled event starts from: the event's target date when
    it is not in the future, else today.

    A coordinator mostly enters an event on its day or, from paper, later: the target is
    then the likeliest date and one to check, not to type.  A target still ahead cannot
    be the date of something done (dates in the future are refused), so today it is.
    An unscheduled visit, or a code the course does not know, starts from today.
    """
    event = course.event(visit_code)
    if event is None or event.target > today:
        return today
    return event.target


def open_prescription(participant: Participant) -> Prescription | None:
    """The signed prescription not yet administered (at most one at a time)."""
    return (
        Prescription.objects.active()
        .filter(participant=participant, infusion__isnull=True)
        .select_related("prescribed_by")
        .order_by("-pk")
        .first()
    )


# Statuses a row of the participant's event table is highlighted for.
_ROW_CLASS = {
    engine.EventStatus.DONE_OUT_OF_WINDOW: "table-danger",
    engine.EventStatus.MISSED: "table-danger",
    engine.EventStatus.DONE_NOT_PLANNED: "table-danger",
    engine.EventStatus.NOT_RECORDED: "table-warning",
    engine.EventStatus.OVERDUE: "table-warning",
    engine.EventStatus.NOT_NEEDED: "text-muted",
}
_AWAITED = frozenset(
    {
        engine.EventStatus.DUE,
        engine.EventStatus.OVERDUE,
        engine.EventStatus.NOT_RECORDED,
        engine.EventStatus.PLANNED,
    }
)


@dataclass(frozen=True)
class EventRow:
    """One line of the participant's event table, with what the user can do on it."""

    event: engine.Event
    row_class: str
    crf_visit: Visit | None  # the recorded visit whose CRFs the row links
    edit_visit: Visit | None  # an assessment visit the user may correct
    can_record_visit: bool  # an assessment visit still to be recorded
    can_confirm_not_done: bool  # an investigator may confirm it was not done


@dataclass(frozen=True)
class NextAction:
    """What the participant's course awaits next, and who can do it (issue 15: always
    offered for the earliest unrecorded event, whatever today is)."""

    day_0_confirmation: bool  # the investigator re-confirms EXC5 before rituximab 1
    prescribe: bool  # the investigator prescribes the next infusion
    record_infusion: bool  # the open prescription is to be administered and recorded
    awaiting_prescription: bool  # the coordinator waits for the investigator
    investigators: tuple[str, ...]  # who can prescribe (printed names, this site)
    b_cell_result: bool  # SCH2 awaits a B-cell result
    gate_labs: bool  # the first belimumab awaits its EXC10/EXC11 labs
    complete: bool  # the course is complete and the status can follow


def _event_rows(
    events: list[engine.Event],
    visits: list[Visit],
    user: User,
    today: date,
    *,
    active: bool,
    can_write: bool,
) -> list[EventRow]:
    by_code = {v.visit_code: v for v in visits}
    can_sign = user.has_perm(roles.SIGN) and active
    rows = []
    for event in events:
        visit = by_code.get(event.visit_code) if event.actual is not None else None
        assessment = event.kind is engine.EventKind.ASSESSMENT
        rows.append(
            EventRow(
                event=event,
                row_class=_ROW_CLASS.get(event.status, ""),
                crf_visit=visit,
                edit_visit=visit if assessment and visit is not None and can_write else None,
                can_record_visit=assessment
                and can_write
                and event.status in _AWAITED
                and not event.projected,
                can_confirm_not_done=can_sign and not engine.not_done_refusal(event, today),
            )
        )
    return rows


def _next_action(
    participant: Participant, course: engine.Course, user: User, *, prescribed: bool
) -> NextAction:
    active = participant.status in ACTIVE_STATUSES
    can_treat = access.can_write(user) and active
    can_sign = user.has_perm(roles.SIGN) and active
    awaits = course.next_infusion is not None and active
    awaited = {d.code for d in course.decisions[-1:]}
    investigators = ()
    if awaits and not prescribed and not can_sign:
        investigators = tuple(
            u.printed_name
            for u in User.objects.filter(
                is_active=True,
                sites=participant.site_id,
                groups__name=roles.Role.INVESTIGATOR.group_name,
            ).order_by("last_name", "username")
        )
    return NextAction(
        day_0_confirmation=can_sign and course.phase is engine.Phase.NOT_STARTED,
        prescribe=can_sign and awaits and not prescribed,
        record_infusion=can_treat and prescribed,
        awaiting_prescription=can_treat and awaits and not prescribed and not can_sign,
        investigators=investigators,
        b_cell_result=can_treat
        and course.phase is engine.Phase.RITUXIMAB
        and engine.DecisionCode.B_CELL_RESULT_AWAITED in awaited,
        gate_labs=can_treat
        and course.phase in (engine.Phase.RITUXIMAB, engine.Phase.AWAITING_FIRST_BELIMUMAB),
        complete=can_treat
        and participant.status == ParticipantStatus.BELIMUMAB
        and course.phase is engine.Phase.TREATMENT_COMPLETE,
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
    can_write = access.can_write(user) and participant.status != ParticipantStatus.WITHDRAWN
    all_visits = list(
        Visit.objects.active().filter(participant=participant).order_by("visit_date", "pk")
    )
    prescription = open_prescription(participant) if active else None
    return {
        "dosing": {
            "schedule": sched,
            "inputs": inputs,
            "events": events,
            "event_rows": _event_rows(
                events, all_visits, user, today, active=active, can_write=can_write
            ),
            "next": _next_action(participant, sched, user, prescribed=prescription is not None),
            "timeline": timeline(sched, today, events),
            "treatment_ended": not active,
            "infusions": list(
                Infusion.objects.active()
                .filter(participant=participant)
                .select_related("prescribed_by")
            ),
            "open_prescription": prescription,
            "b_cells": b_cell_rows,
            "b_cell_chart": b_cell_chart(b_cell_rows),
            "day_0_confirmations": list(
                Day0Confirmation.objects.active().filter(participant=participant)
            ),
            "not_done": list(
                EventNotDone.objects.active()
                .filter(participant=participant)
                .select_related("confirmed_by")
            ),
            "gate": gate_view(sched, inputs) if active else None,
            "deviations": deviations,
            "open_deviations": [d for d in deviations if d.reviewed_at is None],
            "unscheduled_visits": [v for v in all_visits if v.kind == VisitKind.UNSCHEDULED],
            "can_write": can_write,
            "can_sign": user.has_perm(roles.SIGN) and active,
        }
    }


# --- Work lists: dashboard, month calendar, feed ---------------------------------------------


# --- The stored course: what the pages across participants read (issue 14) ------------------


def status_today(today: date) -> Case:
    """An event's status on ``today``, computed in SQL from the stored course's dates: the
    same rules as ``engine.windows.status`` (tests/test_course_store.py holds them equal)."""
    S = engine.EventStatus  # noqa: N806
    return Case(
        When(~Q(outcome=EventOutcome.AWAITED), then=F("outcome")),
        When(projected=True, then=Value(S.PLANNED.value)),
        When(moves_with_plan=True, target__gt=today, then=Value(S.PLANNED.value)),
        When(moves_with_plan=True, target=today, then=Value(S.DUE.value)),
        When(moves_with_plan=True, then=Value(S.OVERDUE.value)),
        When(window_start__gt=today, then=Value(S.PLANNED.value)),
        When(target__gte=today, then=Value(S.DUE.value)),
        When(window_end__gte=today, then=Value(S.OVERDUE.value)),
        default=Value(S.NOT_RECORDED.value),
        output_field=CharField(),
    )


def stored_course(user: User, today: date) -> QuerySet[CourseEvent]:
    """Every stored event at the user's sites, with its status on ``today``."""
    return (
        access.scoped(CourseEvent.objects.all(), user)
        .filter(participant__voided_at__isnull=True)
        .annotate(status_today=status_today(today), on=Coalesce("actual", "target"))
        .select_related("participant", "participant__site")
    )


def stored_events_of(participants, today: date) -> dict[int, list[CourseEvent]]:
    """The stored events of ``participants`` (a queryset or list), by participant pk."""
    events: dict[int, list[CourseEvent]] = defaultdict(list)
    for event in (
        CourseEvent.objects.filter(participant__in=participants)
        .annotate(status_today=status_today(today))
        .order_by("target", "pk")
    ):
        events[event.participant_id].append(event)
    return events


@dataclass(frozen=True)
class CalendarItem:
    participant: Participant
    event: CourseEvent
    on: date  # where the item sits: the actual date when done, else the target

    @property
    def done(self) -> bool:
        return self.event.actual is not None


def _in_date_order(events: QuerySet[CourseEvent]) -> QuerySet[CourseEvent]:
    return events.order_by("on", "participant__subject_id", "visit_code")


def _items(events: QuerySet[CourseEvent]) -> list[CalendarItem]:
    return [CalendarItem(e.participant, e, e.on) for e in _in_date_order(events)]


def _shown(events: QuerySet[CourseEvent]) -> QuerySet[CourseEvent]:
    """Done events of every participant stay on the day they were done (completed,
    discontinued and withdrawn included); awaited ones only while treatment runs."""
    return events.exclude(outcome=EventOutcome.NOT_NEEDED).filter(
        Q(actual__isnull=False) | Q(participant__status__in=ACTIVE_STATUSES)
    )


def _awaited(user: User, today: date, *statuses: engine.EventStatus) -> QuerySet[CourseEvent]:
    return stored_course(user, today).filter(
        outcome=EventOutcome.AWAITED,
        participant__status__in=ACTIVE_STATUSES,
        status_today__in=[s.value for s in statuses],
    )


# How many items a work list shows (the count is always complete).
WORK_LIST_LENGTH = 50


@dataclass(frozen=True)
class WorkList:
    items: tuple[CalendarItem, ...]
    count: int

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        return iter(self.items)


def work_list(user: User, today: date) -> dict[str, WorkList]:
    """Overdue events (target passed, window still open), those due this week, and those
    not recorded after their window (still to be entered, or confirmed not done)."""
    soon = today + timedelta(days=DUE_SOON_DAYS - 1)
    S = engine.EventStatus  # noqa: N806
    lists = {
        "overdue": Q(status_today=S.OVERDUE),
        "due_this_week": Q(status_today__in=[S.DUE, S.PLANNED], target__range=(today, soon)),
        "not_recorded": Q(status_today=S.NOT_RECORDED),
    }
    awaited = _awaited(user, today, S.OVERDUE, S.DUE, S.PLANNED, S.NOT_RECORDED)
    # One query counts the three lists; one query each reads their first items.
    counts = awaited.aggregate(**{name: Count("pk", filter=q) for name, q in lists.items()})
    return {
        name: WorkList(
            tuple(_items_first(awaited.filter(q), WORK_LIST_LENGTH)),
            counts[name],
        )
        for name, q in lists.items()
    }


def _items_first(events: QuerySet[CourseEvent], n: int) -> list[CalendarItem]:
    return [CalendarItem(e.participant, e, e.on) for e in _in_date_order(events)[:n]]


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


def month_calendar(user: User, month: date, today: date, *, subject_id: str = "") -> MonthCalendar:
    """Due, overdue, planned and done infusions and visits at the user's sites, by day
    (one participant's with ``subject_id``), read from the stored course."""
    from django.utils.dates import WEEKDAYS_ABBR

    grid = pycalendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    first, last = grid[0][0], grid[-1][-1]
    events = _shown(stored_course(user, today))
    if subject_id:
        events = events.filter(participant__subject_id=subject_id)
    in_grid = events.filter(
        Q(actual__range=(first, last)) | Q(actual__isnull=True, target__range=(first, last))
    )
    by_day: dict[date, list[CalendarItem]] = defaultdict(list)
    for item in _items(in_grid):
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
    overdue = _awaited(user, today, engine.EventStatus.OVERDUE)
    if subject_id:
        overdue = overdue.filter(participant__subject_id=subject_id)
    return MonthCalendar(
        month=month,
        previous=previous,
        next=following,
        weeks=weeks,
        overdue=tuple(_items(overdue)),
        weekdays=tuple(str(WEEKDAYS_ABBR[i]) for i in range(7)),
    )


def feed_items(user: User, today: date) -> list[CalendarItem]:
    """What a user's iCalendar feed lists: the events at their sites, as the calendar."""
    return _items(_shown(stored_course(user, today)))


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
    return (
        LabResult.objects.filter(
            participant=participant, visit__isnull=True, analyte__in=list(engine.GATE_TESTS)
        )
        # Each result's H/L flag reads the child's facts (LabResult.reference_flag).
        .select_related("participant__site", "participant__screening")
        .order_by("-taken_on", "analyte", "-pk")
    )


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
    not_recorded: bool  # the window ended and nothing is recorded; otherwise it is due


def digest_events(
    participants: Iterable[Participant], today: date, horizon_days: int
) -> list[DigestEvent]:
    """Events to remind the site of on ``today``, from the participants' stored courses.

    Due: not done, not projected, target within ``horizon_days`` from today (or already
    passed with the window still open). Not recorded: the window ended and nothing is
    recorded (to record, or to confirm as not done). Done, confirmed-missed and not-needed
    events never appear. The one read of the course the notifications app makes.
    """
    running = {p.pk: p for p in participants if p.status in ACTIVE_STATUSES}
    last_due = today + timedelta(days=horizon_days)
    S = engine.EventStatus  # noqa: N806
    events = (
        CourseEvent.objects.filter(participant__in=list(running), outcome=EventOutcome.AWAITED)
        .annotate(status_today=status_today(today))
        .filter(
            Q(status_today=S.NOT_RECORDED)
            | Q(status_today__in=[s.value for s in PENDING], projected=False, target__lte=last_due)
        )
        .order_by("target", "participant__subject_id", "visit_code")
    )
    return [
        DigestEvent(
            participant=running[event.participant_id],
            visit_code=event.visit_code,
            label=event.label,
            target=event.target,
            window_start=event.window_start,
            window_end=event.window_end,
            not_recorded=event.status is S.NOT_RECORDED,
        )
        for event in events
    ]
