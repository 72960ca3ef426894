"""The authorisation matrix: every URL of the app, for every role at its own site and at
another site, against the status code it must answer.

URL patterns come from the resolver, so a new view is covered automatically: a view
the matrix does not know fails the test until it is classified below. Along the way
every HTML page is checked for inline scripts (the Content-Security-Policy forbids
them) and pages seen by another site's users for identifiers of the target site.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from demo import seed as demo
from trialsite.models import Site, User
from trialsite.roles import Role

pytestmark = pytest.mark.django_db

OK = {200, 302}

# --- how each view behaves ---------------------------------------------------------------
# READ: site data, any role of the site may look.     LIST: no object, scoped lists.
# WRITE: data entry (coordinators, investigators).     SIGN: investigators only.
# EXPORT: data managers.  OUTCOMES: investigators and data managers.
# PUBLIC: no login needed.  SELF: any logged-in user, about themselves.
KINDS = {
    "dashboard": "LIST",
    "login": "PUBLIC",
    "logout": "SELF",
    "password_change": "SELF",
    "password_change_done": "SELF",
    "healthz": "PUBLIC",
    "favicon": "PUBLIC",
    "set_language": "PUBLIC",
    "record_history": "READ",
    "eligibility:log": "LIST",
    "eligibility:new": "CREATE",
    "eligibility:detail": "READ",
    "eligibility:labs": "WRITE",
    "eligibility:therapy_add": "WRITE",
    "eligibility:therapy_edit": "WRITE",
    "eligibility:therapy_void": "WRITE",
    "eligibility:sign": "SIGN_POST",
    "eligibility:fail": "WRITE",
    "eligibility:section": "WRITE",
    "enrollment:list": "LIST",
    "enrollment:consent_add": "WRITE",
    "enrollment:consent_forms": "CONSENT_FORMS",
    "enrollment:enrol": "WRITE",
    "participant_detail": "READ",
    "enrollment:status": "WRITE",
    "enrollment:withdraw": "WRITE",
    "enrollment:reschedule": "WRITE",
    "dosing:calendar": "LIST",
    "dosing:feed": "SELF",
    "dosing:feed_ics": "PUBLIC",
    "dosing:deviations": "LIST",
    "dosing:deviation_explain": "READ_WRITE",
    "dosing:deviation_review": "SIGN_POST",
    "dosing:day_0": "SIGN",
    "dosing:prescribe": "SIGN",
    "dosing:dose_proposal": "READ",
    "dosing:prescription_void": "SIGN_POST",
    "dosing:infusion": "WRITE",
    "dosing:b_cells": "WRITE",
    "dosing:b_cell_void": "WRITE",
    "dosing:infusion_correct": "WRITE",
    "dosing:gate_lab_void": "WRITE",
    "dosing:gate_labs": "READ_WRITE",
    "dosing:gate_discontinue": "SIGN_POST",
    "dosing:visit_add": "WRITE",
    "dosing:visit_edit": "WRITE",
    "dosing:complete": "WRITE",
    "dosing:not_done": "SIGN",
    "dosing:not_done_void": "SIGN_POST",
    "dosing:participant_deviations": "READ",
    "dosing:deviation_add": "WRITE",
    "crf:visit": "READ",
    "crf:visit_labs": "WRITE",
    "crf:visit_form": "WRITE",
    "crf:visit_form_void": "WRITE",
    "crf:ae_list": "READ",
    "crf:ae_add": "WRITE",
    "crf:ae_edit": "WRITE",
    "crf:ae_detail": "READ",
    "crf:ae_void": "WRITE",
    "crf:ae_update_add": "WRITE",
    "crf:ae_update_edit": "WRITE",
    "crf:ae_update_void": "WRITE",
    "crf:alert_acknowledge": "ALERT",
    "crf:con_meds": "READ",
    "crf:con_med_add": "WRITE",
    "crf:con_med_edit": "WRITE",
    "crf:con_med_void": "WRITE",
    "crf:form_status": "LIST",
    "crf:outcomes": "OUTCOMES",
    "exports:list": "EXPORT",
    "exports:detail": "EXPORT_OWN",
    "exports:download": "EXPORT_OWN",
    "exports:casebook": "CASEBOOK",
    "search": "LIST",
    "crf:blank_index": "LIST",
    "crf:blank": "LIST",
    "monitoring:queries": "LIST",
    "monitoring:query_new": "QUERIES",
    "monitoring:query": "READ",
    "monitoring:query_answer": "WRITE_POST",
    "monitoring:query_correct": "WRITE",
    "monitoring:query_close": "QUERIES_POST",
    "monitoring:query_reopen": "QUERIES_POST",
    "monitoring:quality": "QUALITY",
    "monitoring:visit": "READ",
    "monitoring:verify_visit": "VERIFY_POST",
    "monitoring:lock_visit": "LOCK_POST",
    "monitoring:sign_visit": "SIGN",
    "monitoring:participant": "READ",
    "monitoring:lock_participant": "LOCK_POST",
    "monitoring:sign_casebook": "SIGN",
    "monitoring:verify": "VERIFY",
    "monitoring:lock_record": "LOCK_POST",
    "monitoring:unlock": "LOCK_POST",
    "notifications:list": "SELF",
    "notifications:preferences": "SELF",
    "notifications:log": "DATA_MANAGER",
    "jobs": "DATA_MANAGER",
    "job_retry": "DATA_MANAGER_POST",
    "accounts:users": "DATA_MANAGER",
    "accounts:user_invite": "DATA_MANAGER",
    "accounts:user_detail": "DATA_MANAGER",
    "accounts:user_history": "DATA_MANAGER",
    "accounts:user_role": "DATA_MANAGER_POST",
    "accounts:user_site": "DATA_MANAGER_POST",
    "accounts:user_password_reset": "DATA_MANAGER_POST",
    "accounts:user_deactivate": "DATA_MANAGER_POST",
    "accounts:password_set": "PUBLIC",
    "accounts:user_mfa_reset": "DATA_MANAGER_POST",
    "accounts:mfa_enrol": "SELF",
    "login_code": "PUBLIC",
}

# Views run last in the POST sweep: an accepted lock would change what every later
# write is allowed to do.
LAST = {
    "monitoring:lock_visit",
    "monitoring:lock_participant",
    "monitoring:lock_record",
    "monitoring:unlock",
}

# Views that take one method only: the other is refused with 405 before anything else
# (the login check comes first: anonymous users are sent to the login page).
POST_ONLY = {
    "crf:ae_update_void",
    "crf:ae_void",
    "crf:con_med_void",
    "crf:visit_form_void",
    "dosing:b_cell_void",
    "dosing:complete",
    "dosing:gate_lab_void",
    "dosing:not_done_void",
    "eligibility:fail",
    "eligibility:therapy_void",
}
GET_ONLY = {
    "accounts:users",
    "accounts:user_detail",
    "accounts:user_history",
    "dosing:dose_proposal",
    "dosing:feed_ics",
    "favicon",
    "healthz",
    "password_change_done",
    "search",
}

# Which roles hold each capability-gated kind (trialsite/roles.py).
CAPABLE = {
    "QUERIES": {Role.MONITOR, Role.DATA_MANAGER},
    "QUERIES_POST": {Role.MONITOR, Role.DATA_MANAGER},
    "VERIFY": {Role.MONITOR},
    "VERIFY_POST": {Role.MONITOR},
    "LOCK_POST": {Role.DATA_MANAGER},
    "CONSENT_FORMS": {Role.DATA_MANAGER},
}


@dataclass(frozen=True)
class Persona:
    name: str
    role: Role | None
    own_site: bool  # belongs to the site the target objects are at (PUMCH)


PERSONAS = (
    Persona("coordinator_pumch", Role.COORDINATOR, True),
    Persona("investigator_pumch", Role.INVESTIGATOR, True),
    Persona("monitor_pumch_only", Role.MONITOR, True),
    Persona("datamanager", Role.DATA_MANAGER, True),
    Persona("coordinator_chcmu", Role.COORDINATOR, False),
    Persona("investigator_chcmu", Role.INVESTIGATOR, False),
    Persona("monitor_chcmu_only", Role.MONITOR, False),
    Persona("anonymous", None, False),
)


def expected(kind: str, persona: Persona, method: str, name: str = "") -> set[int]:
    """The status codes ``persona`` may get from view ``name`` of ``kind``."""
    if method == "POST" and name in GET_ONLY and (persona.role or kind == "PUBLIC"):
        return {405}
    if (
        method == "GET"
        and persona.role
        and (name in POST_ONLY or kind.endswith("_POST") or kind == "ALERT")
    ):
        return {405}
    if kind == "PUBLIC":
        return OK
    if persona.role is None:
        return {302}  # to the login page
    if kind == "SELF":
        return OK
    role, own = persona.role, persona.own_site
    writer = role in (Role.COORDINATOR, Role.INVESTIGATOR)
    if kind == "LIST":
        return {200}
    if kind == "QUALITY":
        return {200} if role in (Role.MONITOR, Role.DATA_MANAGER) else {403}
    if kind in CAPABLE:
        if kind.endswith("_POST") and method == "GET":
            return {405}
        if role not in CAPABLE[kind]:
            # Refused either way; whether the role or the site is checked first does not
            # matter as long as nothing is shown.
            return {403} if own or role is Role.DATA_MANAGER else {403, 404}
        return OK if own or role is Role.DATA_MANAGER else {404}
    if kind == "CREATE":
        return OK if writer else {403}
    if kind == "OUTCOMES":
        return {200} if role in (Role.INVESTIGATOR, Role.DATA_MANAGER) else {403}
    if kind in ("EXPORT", "DATA_MANAGER", "DATA_MANAGER_POST"):
        return OK if role is Role.DATA_MANAGER else {403}
    if kind == "EXPORT_OWN":
        return OK if role is Role.DATA_MANAGER else {403}
    if kind == "CASEBOOK":
        if role is Role.DATA_MANAGER:
            return OK
        if role is Role.INVESTIGATOR:
            return OK if own else {404}
        return {403}
    if not own and role is not Role.DATA_MANAGER:
        return {404}  # another site's record: the same answer as a missing one
    if kind == "READ":
        return {200}
    if kind == "READ_WRITE":
        return {200} if method == "GET" else (OK if writer else {403})
    if kind == "WRITE":
        return OK if writer else {403}
    if kind == "WRITE_POST":
        return {405} if method == "GET" else (OK if writer else {403})
    if kind in ("SIGN", "SIGN_POST"):
        if kind == "SIGN_POST" and method == "GET":
            return {405}
        return OK if role is Role.INVESTIGATOR else {403}
    if kind == "ALERT":
        return (
            {405}
            if method == "GET"
            else (OK if role in (Role.INVESTIGATOR, Role.DATA_MANAGER) else {403, 404})
        )
    raise AssertionError(f"unknown kind {kind}")


def url_patterns(resolver=None, namespace=None):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                continue  # Django's admin site has its own permission system
            yield from url_patterns(pattern, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), pattern


def _confirmable_event(site, locked) -> dict[str, str]:
    """An event an investigator can confirm not done today (the demo's late entry has them)."""
    from dosing import engine
    from dosing.selectors import course_for
    from enrollment.models import Participant

    today = timezone.localdate()
    for candidate in Participant.objects.filter(site=site).exclude(pk__in=list(locked)):
        for event in course_for(candidate, today).events:
            if not engine.not_done_refusal(event, today):
                return {"subject_id": candidate.subject_id, "code": event.visit_code}
    raise AssertionError("the demo has an event awaiting confirmation that it was not done")


@pytest.fixture
def world(db):
    """The demo trial (PUMCH and CHCMU), personas, and one object of each kind at PUMCH."""
    from crf.models import AdverseEvent, AdverseEventUpdate, ConcomitantMedication, SeriousAeAlert
    from dosing.models import (
        BCellResult,
        Deviation,
        EventNotDone,
        Infusion,
        LabResult,
        Prescription,
        Visit,
    )
    from dosing.services import calendar_feed_create
    from eligibility.models import PriorTherapy, Screening
    from enrollment.models import Participant
    from exports import services as export_services
    from exports.rows import ExportFilters, ExportOptions
    from tests.factories.trialsite import UserFactory

    demo.seed_sites_and_users()
    demo.seed_trial_data(timezone.localdate())
    pumch, chcmu = Site.objects.get(code="PUMCH"), Site.objects.get(code="CHCMU")
    UserFactory(username="monitor_pumch_only", role=Role.MONITOR, sites=[pumch])
    UserFactory(username="monitor_chcmu_only", role=Role.MONITOR, sites=[chcmu])
    from monitoring.models import Lock

    locked = Lock.objects.filter(unlocked_at__isnull=True).values_list("participant", flat=True)
    # The target: a treated PUMCH participant with a baseline visit and nothing locked.
    participant = (
        Participant.objects.filter(
            site=pumch, visits__visit_code="BASELINE", adverse_events__isnull=False
        )
        .exclude(pk__in=list(locked))
        .distinct()
        .first()
    )
    assert participant is not None, "the demo has an unlocked treated PUMCH participant"
    at = {"participant": participant}
    prescribe_next_infusion(participant, User.objects.get(username="investigator_pumch"))
    visit = Visit.objects.get(participant=participant, visit_code="BASELINE")
    event = AdverseEvent.objects.filter(**at).first()
    data_manager = User.objects.get(username="datamanager")
    update = event.updates.first() or AdverseEventUpdate.objects.create(
        adverse_event=event,
        reported_on=timezone.localdate(),
        grade=event.grade,
        outcome=event.outcome,
        notes="matrix",
        created_by=data_manager,
    )
    medication = ConcomitantMedication.objects.filter(**at).first() or (
        ConcomitantMedication.objects.filter(participant__site=pumch).first()
    )
    screening = Screening.objects.filter(site=pumch, status="eligible").first()
    export = export_services.export_create(
        user=data_manager, kind="csv", filters=ExportFilters(), options=ExportOptions()
    )
    export_services.export_run(export)
    token = calendar_feed_create(user=User.objects.get(username="coordinator_pumch"))
    from monitoring.models import DataQuery
    from monitoring.services import query_open

    query = DataQuery.objects.filter(participant=participant).first() or query_open(
        record=event,
        user=User.objects.get(username="monitor"),
        question="Please check.",
        field_name="term",
    )
    # Any monitor or data manager may close an automatic query (a person's: its opener).
    automatic = DataQuery.objects.filter(site=pumch, opened_by__isnull=True).first()
    assert automatic is not None, "the demo's edit checks opened automatic queries"
    lock = Lock.objects.filter(participant__site=pumch).first()
    assert lock is not None, "the demo has a lock at PUMCH"
    deviation = Deviation.objects.filter(**at).first()
    if deviation is None:
        deviation = Deviation.objects.create(
            participant=participant,
            category="other",
            occurred_on=timezone.localdate(),
            description="matrix",
            created_by=data_manager,
        )
    # A confirmation that an event was not done, for its void button (set-up shortcut).
    not_done = EventNotDone.objects.filter(**at).first() or EventNotDone.objects.create(
        participant=participant,
        visit_code="W12",
        confirmed_on=timezone.localdate(),
        reason="matrix",
        confirmed_by=data_manager,
    )
    confirmable = _confirmable_event(pumch, locked)
    values = {
        "number": screening.number,
        "subject_id": participant.subject_id,
        "section": "candidate",
        "kind": "essdai",
        "app_label": "eligibility",
        "model_name": "screening",
        "token": token,
        "code": "W12",
        "uidb64": "MQ",
    }
    account = {"pk": User.objects.get(username="coordinator_pumch").pk}
    by_view = {
        **{
            f"accounts:{name}": account
            for name in (
                "user_detail",
                "user_history",
                "user_role",
                "user_site",
                "user_password_reset",
                "user_deactivate",
                "user_mfa_reset",
            )
        },
        "record_history": {"pk": screening.pk},
        "eligibility:therapy_edit": {
            "pk": PriorTherapy.objects.filter(screening=screening).first().pk
        },
        "eligibility:therapy_void": {
            "pk": PriorTherapy.objects.filter(screening=screening).first().pk
        },
        "dosing:deviation_explain": {"pk": deviation.pk},
        "dosing:deviation_review": {"pk": deviation.pk},
        "dosing:prescription_void": {
            "pk": (Prescription.objects.filter(participant=participant).first().pk)
        },
        "dosing:b_cell_void": {
            "pk": BCellResult.objects.filter(participant=participant).first().pk
        },
        "dosing:infusion_correct": {
            "pk": Infusion.objects.filter(participant=participant).first().pk
        },
        "dosing:gate_lab_void": {
            "pk": (
                LabResult.objects.filter(participant=participant, visit__isnull=True).first()
                or LabResult.objects.filter(**at).first()
            ).pk
        },
        "dosing:visit_edit": {"pk": Visit.objects.filter(participant=participant).first().pk},
        "dosing:not_done_void": {"pk": not_done.pk},
        "dosing:not_done": confirmable,
        "crf:visit": {"pk": visit.pk},
        "crf:visit_labs": {"pk": visit.pk},
        "crf:visit_form": {"pk": visit.pk},
        "crf:visit_form_void": {"pk": visit.pk},
        "crf:ae_detail": {"pk": event.pk},
        "crf:ae_void": {"pk": event.pk},
        "crf:ae_update_add": {"pk": event.pk},
        "crf:ae_update_edit": {"pk": event.pk, "update_pk": update.pk},
        "crf:ae_update_void": {"pk": event.pk, "update_pk": update.pk},
        "crf:ae_edit": {"pk": event.pk},
        "crf:alert_acknowledge": {
            "pk": SeriousAeAlert.objects.filter(adverse_event__participant__site=pumch).first().pk
        },
        "crf:con_med_edit": {"pk": medication.pk, "subject_id": medication.participant.subject_id},
        "crf:con_med_void": {"pk": medication.pk, "subject_id": medication.participant.subject_id},
        "exports:detail": {"pk": export.pk},
        "exports:download": {"pk": export.pk},
        "crf:blank": {"visit_type": "baseline"},
        "monitoring:query_new": {"app_label": "crf", "model_name": "adverseevent", "pk": event.pk},
        "monitoring:query": {"pk": query.pk},
        "monitoring:query_answer": {"pk": query.pk},
        "monitoring:query_correct": {"pk": query.pk},
        "monitoring:query_close": {"pk": automatic.pk},
        "monitoring:query_reopen": {"pk": automatic.pk},
        "monitoring:visit": {"pk": visit.pk},
        "monitoring:verify_visit": {"pk": visit.pk},
        "monitoring:lock_visit": {"pk": visit.pk},
        "monitoring:sign_visit": {"pk": visit.pk},
        "monitoring:verify": {"app_label": "crf", "model_name": "adverseevent", "pk": event.pk},
        "monitoring:lock_record": {
            "app_label": "crf",
            "model_name": "adverseevent",
            "pk": event.pk,
        },
        "monitoring:unlock": {"pk": lock.pk},
    }
    # Identifiers of the target site that other sites' pages must never show.
    secrets = [participant.subject_id, screening.number]
    return values, by_view, secrets


def prescribe_next_infusion(participant, investigator):
    """Prescribe (and sign) the participant's next infusion through the real service, so
    the infusion form has an open prescription to record (the demo infuses at once)."""
    from dosing import selectors as dosing_selectors
    from dosing import services as dosing_services

    today = timezone.localdate()
    upcoming = dosing_selectors.course_for(participant, today).next_infusion
    assert upcoming is not None and upcoming.drug is not None, "the target has an infusion due"
    weight, height = Decimal("32"), Decimal("140")
    proposal = dosing_services.propose_dose(upcoming.drug.value, weight_kg=weight, height_cm=height)
    return dosing_services.prescription_create(
        participant=participant,
        user=investigator,
        password=demo.DEMO_PASSWORD,
        today=today,
        drug=upcoming.drug.value,
        planned_on=today,
        weight_kg=weight,
        height_cm=height,
        anthropometry_measured_on=today,
        prescribed_dose_mg=proposal.dose_mg,
    )


def url_for(name, pattern, values, by_view):
    kwargs = {}
    for key in pattern.pattern.converters:
        if name in by_view and key in by_view[name]:
            kwargs[key] = by_view[name][key]
        elif key in values:
            kwargs[key] = values[key]
        else:
            raise AssertionError(f"the matrix does not know how to build {name} ({key})")
    return reverse(name, kwargs=kwargs)


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
# Inline script in another form: an event-handler attribute (onclick=, onload=...) or a
# javascript: URL, both refused by the Content-Security-Policy too.
EVENT_HANDLER = re.compile(r"<[a-z][^>]*?\s(on[a-z]+)\s*=", re.I)
JAVASCRIPT_URL = re.compile(r"""\b(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.I)

# A URL whose secret is in the URL itself: the PUMCH coordinator's calendar feed token,
# which shows that coordinator's calendar to whoever holds it (by design).
CAPABILITY_URLS = {"dosing:feed_ics"}


def script_problems(html: str) -> list[str]:
    problems = []
    if INLINE_SCRIPT.search(html):
        problems.append("inline script")
    problems += [f"event handler {m.group(1)}=" for m in EVENT_HANDLER.finditer(html)]
    if JAVASCRIPT_URL.search(html):
        problems.append("javascript: URL")
    return problems


def body_text(response) -> str:
    """What a response shows, whatever its type: HTML, JSON, .ics, a PDF's text, a zip's CSVs."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    content_type = response.get("Content-Type", "")
    if content_type.startswith("application/pdf") and raw:
        from pypdf import PdfReader

        return "\n".join(page.extract_text() or "" for page in PdfReader(BytesIO(raw)).pages)
    if content_type.startswith("application/zip") and raw:
        with zipfile.ZipFile(BytesIO(raw)) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", errors="replace") for name in archive.namelist()
            )
    return raw.decode("utf-8", errors="replace")


def _body_kind(response) -> str:
    content_type = response.get("Content-Type", "").split(";")[0] or "empty"
    kind = {
        "text/html": "HTML",
        "application/json": "JSON",
        "text/calendar": ".ics",
        "application/pdf": "PDF",
        "application/zip": "zip/CSV",
        "text/csv": "CSV",
    }.get(content_type, content_type)
    if 300 <= response.status_code < 400:
        return "redirects"
    if kind == "HTML" and response.status_code >= 400:
        return f"{response.status_code} pages"
    return kind


def own_site_downloads() -> list[tuple[str, str]]:
    """Downloads other sites' users make about their own site: (persona, URL)."""
    from dosing.services import calendar_feed_create
    from enrollment.models import Participant

    chcmu = Participant.objects.filter(site__code="CHCMU").order_by("sequence").first()
    assert chcmu is not None, "the demo has CHCMU participants"
    downloads = []
    for persona in ("coordinator_chcmu", "investigator_chcmu"):
        token = calendar_feed_create(user=User.objects.get(username=persona))
        downloads.append((persona, reverse("dosing:feed_ics", args=[token])))
    downloads.append(("investigator_chcmu", reverse("exports:casebook", args=[chcmu.subject_id])))
    return downloads


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<button type="button" onclick="alert(1)">x</button>',
        "<body onload='go()'>",
        '<img src="x.png"\n     onerror = "alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        "<form action='JavaScript:void(0)'></form>",
    ],
)
def test_the_page_scan_catches_every_form_of_inline_script(html):
    assert script_problems(html)


def test_the_page_scan_leaves_external_scripts_and_plain_text_alone():
    html = (
        '<script src="/static/js/trialsite.js"></script>'
        '<script type="application/json" id="data">{"onload": 1}</script>'
        '<p data-online="yes">Patients online=3; see the onset date</p>'
    )
    assert script_problems(html) == []


def test_every_view_answers_every_persona_as_it_must(world, figure):
    values, by_view, secrets = world
    unknown = [name for name, _p in url_patterns() if name not in KINDS]
    assert not unknown, f"views missing from the authorisation matrix: {unknown}"
    clients = {}
    for persona in PERSONAS:
        client = Client()
        if persona.role is not None:
            client.force_login(User.objects.get(username=persona.name))
        clients[persona.name] = client

    failures, checked, pages = [], 0, 0
    statuses: Counter[int] = Counter()
    scanned: Counter[str] = Counter()
    patterns = sorted(url_patterns(), key=lambda item: item[0] in LAST)
    for method in ("GET", "POST"):
        for name, pattern in patterns:
            if name in ("logout", "set_language") and method == "GET":
                continue
            url = url_for(name, pattern, values, by_view)
            kind = KINDS[name]
            for persona in PERSONAS:
                if name == "logout":
                    continue  # would end the persona's session for the rest of the run
                client = clients[persona.name]
                response = getattr(client, method.lower())(url)
                checked += 1
                want = expected(kind, persona, method, name)
                statuses[response.status_code] += 1
                if response.status_code not in want:
                    failures.append(
                        f"{method} {name} as {persona.name}: "
                        f"{response.status_code}, expected {sorted(want)}"
                    )
                content_type = response.get("Content-Type", "")
                text = body_text(response)
                if response.status_code == 200 and content_type.startswith("text/html"):
                    pages += 1
                    failures += [f"{problem} on {name}" for problem in script_problems(text)]
                if not persona.own_site and persona.role is not Role.DATA_MANAGER:
                    # Every answer, error pages and non-HTML bodies included.
                    scanned[_body_kind(response)] += 1
                    # (An identifier the user typed into the URL may be echoed back.)
                    leaked = [s for s in secrets if s in text and s not in url]
                    if leaked and name not in CAPABILITY_URLS:
                        failures.append(
                            f"{method} {name} ({response.status_code}) shows {leaked} "
                            f"to {persona.name}"
                        )
    # What other sites' users download about their own site (their calendar feed, a
    # casebook) must not name the target site's participants either.
    for persona, url in own_site_downloads():
        response = clients[persona].get(url)
        assert response.status_code == 200, (persona, url, response.status_code)
        scanned[_body_kind(response)] += 1
        text = body_text(response)
        assert len(text) > 100, (persona, url, "an empty download proves nothing")
        leaked = [s for s in secrets if s in text]
        if leaked:
            failures.append(f"{persona}'s own download {url} shows {leaked}")
    by_status = ", ".join(f"{n} x {code}" for code, n in sorted(statuses.items()))
    figure(
        "authorisation matrix",
        f"{len(patterns)} views x {len(PERSONAS)} personas: {checked} (view, persona, method) "
        f"checks, each status asserted ({by_status}); "
        f"{pages} pages scanned for inline scripts and event-handler attributes; "
        f"{sum(scanned.values())} answers to other sites' users scanned for the target "
        f"site's identifiers ({', '.join(f'{n} {k}' for k, n in sorted(scanned.items()))})",
    )
    assert not failures, "\n".join(failures)
