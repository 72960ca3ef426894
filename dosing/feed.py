"""The investigator's iCalendar feed: subject IDs and event names only, no clinical value.

What goes in is deliberately narrow, because the feed leaves the EDC for a phone:
the site code, the subject ID, the event's name (e.g. "Belimumab infusion 1"), its
window and whether it is due, done or missed.  Never a dose, a lab, a B-cell value or
a decision text (those quote values).
"""

from __future__ import annotations

from datetime import UTC, date, timedelta

import icalendar
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dosing import engine, selectors
from trialsite import protocol
from trialsite.models import User


def feed_path(token: str) -> str:
    return reverse("dosing:feed_ics", kwargs={"token": token})


_STATUS_LABELS = {
    engine.EventStatus.DONE_IN_WINDOW: gettext_lazy("done"),
    engine.EventStatus.DONE_OUT_OF_WINDOW: gettext_lazy("done out of window"),
    engine.EventStatus.DONE_NOT_PLANNED: gettext_lazy("done (not planned)"),
    engine.EventStatus.DUE: gettext_lazy("due"),
    engine.EventStatus.OVERDUE: gettext_lazy("overdue"),
    engine.EventStatus.NOT_RECORDED: gettext_lazy("not recorded (overdue)"),
    engine.EventStatus.MISSED: gettext_lazy("missed (confirmed not done)"),
}


def status_label(event: engine.Event) -> str:
    # Only the label needed is translated (the month calendar asks for hundreds).
    if event.status is engine.EventStatus.PLANNED:
        return _("projected") if event.projected else _("planned")
    label = _STATUS_LABELS.get(event.status)
    return event.status.value if label is None else str(label)


def ics_for(user: User, today: date) -> bytes:
    """The user's feed: every event of the participants being treated at their sites."""
    cal = icalendar.Calendar()
    cal.add("prodid", f"-//{protocol.STUDY_SHORT_TITLE}//{protocol.REGISTRY_ID} EDC//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{protocol.STUDY_SHORT_TITLE} ({protocol.REGISTRY_ID})")
    stamp = timezone.now().astimezone(UTC)
    for item in selectors.feed_items(user, today):
        event = item.event
        participant = item.participant
        vevent = icalendar.Event()
        vevent.add(
            "uid",
            f"{participant.subject_id}-{event.visit_code}@{protocol.REGISTRY_ID.lower()}.edc",
        )
        vevent.add("dtstamp", stamp)
        vevent.add("dtstart", item.on)
        vevent.add("dtend", item.on + timedelta(days=1))
        vevent.add(
            "summary",
            f"{participant.subject_id} · {event.label} ({status_label(event)})",
        )
        if event.actual is None:
            description = _("Window %(start)s to %(end)s, target %(target)s.") % {
                "start": event.window_start.isoformat(),
                "end": event.window_end.isoformat(),
                "target": event.target.isoformat(),
            }
        else:
            description = _("Done on %(date)s (target %(target)s).") % {
                "date": event.actual.isoformat(),
                "target": event.target.isoformat(),
            }
        vevent.add("description", description)
        vevent.add("location", participant.site.code)
        vevent.add("transp", "TRANSPARENT")
        cal.add_component(vevent)
    return cal.to_ical()
