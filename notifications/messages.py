"""The text of each e-mail, in the recipient's language (rendered when it is sent)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from crf.models import SeriousAeAlert
from notifications.selectors import Digest
from trialsite import protocol


def in_languages(
    language: str, render: Callable[[], tuple[str, str]], *, all_when_unset: bool
) -> tuple[str, str]:
    """``render()`` in ``language``; without one, in every interface language (alerts) or
    in LANGUAGE_CODE (the digest). Several languages: subjects joined by " / "."""
    if language:
        languages = [language]
    elif all_when_unset:
        languages = [code for code, _name in settings.LANGUAGES]
    else:
        languages = [settings.LANGUAGE_CODE]
    subjects: list[str] = []
    bodies: list[str] = []
    for code in languages:
        with translation.override(code):
            subject, body = render()
        if subject not in subjects:
            subjects.append(subject)
            bodies.append(body)
    return " / ".join(subjects), "\n\n----\n\n".join(bodies)


def sae_alert_text(alert: SeriousAeAlert) -> tuple[str, str]:
    """The alert's subject and body in the active language."""
    event = alert.adverse_event
    participant = event.participant
    values = {
        "registry_id": protocol.REGISTRY_ID,
        "subject": participant.subject_id,
        "site": participant.site.code,
        "term": event.term,
        "onset": event.onset_date.isoformat(),
        "entered_by": alert.raised_by.printed_name if alert.raised_by else "—",
        "path": settings.SITE_URL + event.get_absolute_url(),
        "grade": event.get_grade_display(),
        "criteria": "; ".join(str(c) for c in event.get_serious_criteria_display()),
        "rituximab": event.get_related_rituximab_display(),
        "belimumab": event.get_related_belimumab_display(),
    }
    subject = _("[%(registry_id)s] Serious adverse event: %(subject)s (%(site)s)") % values
    body = (
        _(
            "A serious adverse event was recorded.\n\n"
            "Participant: %(subject)s (site %(site)s)\n"
            "Event: %(term)s\n"
            "CTCAE grade: %(grade)s\n"
            "Onset: %(onset)s\n"
            "Seriousness criteria: %(criteria)s\n"
            "Relatedness to rituximab: %(rituximab)s; to belimumab: %(belimumab)s\n"
            "Entered by: %(entered_by)s\n\n"
            "Open it in the EDC (%(path)s) and acknowledge it on your dashboard."
        )
        % values
    )
    return subject, body


def section_titles() -> dict[str, str]:
    return {
        "due": _("Infusions and visits due in the next %(days)s days")
        % {"days": settings.NOTIFICATIONS_HORIZON_DAYS},
        "missed": _("Not recorded after their window"),
        "crfs_overdue": _("CRFs past the entry period (%(days)s days after the visit)")
        % {"days": protocol.CRF_ENTRY_DAYS},
        "queries": _("Queries open for more than %(days)s days")
        % {"days": settings.NOTIFICATIONS_QUERY_DAYS},
        "saes": _("Serious adverse events awaiting investigator review"),
    }


def digest_text(digest: Digest, *, name: str, day) -> tuple[str, str]:
    """The digest's subject and body in the active language."""
    subject = _("[%(registry_id)s] Reminders for %(date)s (%(n)s)") % {
        "registry_id": protocol.REGISTRY_ID,
        "date": date_format(day, "DATE_FORMAT"),
        "n": digest.count,
    }
    lines = [_("Hello %(name)s, this is what is due at your sites.") % {"name": name}, ""]
    titles = section_titles()
    for key, items in digest.sections():
        if not items:
            continue
        lines.append(f"{titles[key]}:")
        for item in items:
            when = item.on.isoformat() if item.on else ""
            lines.append(f"- {item.subject_id} ({item.site}) {item.text} {when}".rstrip())
            lines.append(f"  {item.url}")
        lines.append("")
    lines.append(
        _("Change what you receive on your notification preferences: %(url)s")
        % {"url": settings.SITE_URL + reverse("notifications:preferences")}
    )
    return subject, "\n".join(lines)
