"""No lost updates: two people editing the same record at the same time.

Both open the form (it carries the version it was loaded at); the first save wins,
the second is refused with a message naming what changed, and nothing is overwritten.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django import forms
from django.db import connection
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import resolve, reverse

from crf.models import AdverseEvent
from eligibility.models import Screening
from enrollment.models import Participant
from monitoring.models import DataQuery
from monitoring.targets import describe
from tests.factories.crf import make_participant, make_visit, record_ae, save_vitals
from tests.factories.eligibility import make_screening
from tests.html_forms import HtmlForm, main_form
from tests.test_authorization_matrix import world  # noqa: F401
from tests.test_fuzz_forms import form_urls
from trialsite.forms import VERSION_MISSING
from trialsite.models import Site, User

pytestmark = pytest.mark.django_db


def post_data(form) -> dict:
    """What the browser would send back for an unchanged form."""
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        if isinstance(field, forms.NullBooleanField):
            value = "true" if value else "false"
        elif isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
            continue
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, list):
            data[name] = [str(v) for v in value]
            continue
        data[name] = str(value)
    return data


def two_sessions(first_user, second_user):
    first, second = Client(), Client()
    first.force_login(first_user)
    second.force_login(second_user)
    return first, second


def report(figure, record_kind: str) -> None:
    figure(
        f"no lost updates ({record_kind})",
        "two sessions edit at once: the second save refused with what changed, the first kept",
    )


def test_the_second_of_two_concurrent_screening_edits_is_refused(
    coordinator_pumch, investigator_pumch, site_pumch, figure
):
    screening = make_screening(site=site_pumch, user=coordinator_pumch, sex="F")
    url = reverse("eligibility:section", args=[screening.number, "candidate"])
    first, second = two_sessions(coordinator_pumch, investigator_pumch)
    first_form = post_data(first.get(url).context["form"])
    second_form = post_data(second.get(url).context["form"])

    first_form.update(sex="M", reason_for_change="Transcription error")
    assert first.post(url, first_form).status_code == 302
    second_form.update(planned_day_0="2026-11-22", reason_for_change="Family request")
    response = second.post(url, second_form)

    assert response.status_code == 200
    assert "Someone else saved this record" in response.content.decode()
    assert "sex" in response.content.decode()  # says what changed
    screening = Screening.objects.get(pk=screening.pk)
    assert (screening.sex, screening.planned_day_0.isoformat()) == ("M", "2026-11-20")
    report(figure, "screening")


def test_the_second_of_two_concurrent_adverse_event_edits_is_refused(
    coordinator_pumch, investigator_pumch, site_pumch, figure
):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    event = record_ae(participant, coordinator_pumch)
    url = reverse("crf:ae_edit", args=[participant.subject_id, event.pk])
    first, second = two_sessions(coordinator_pumch, investigator_pumch)
    first_form = post_data(first.get(url).context["form"])
    second_form = post_data(second.get(url).context["form"])

    first_form.update(term="Upper respiratory infection", reason_for_change="MedDRA term")
    assert first.post(url, first_form).status_code == 302
    second_form.update(grade="2", reason_for_change="Regraded")
    response = second.post(url, second_form)

    assert response.status_code == 200
    assert "Someone else saved this record" in response.content.decode()
    event = AdverseEvent.objects.get(pk=event.pk)
    assert event.term == "Upper respiratory infection"
    assert str(event.grade) == str(model_to_dict(event)["grade"])
    assert event.version == 2
    report(figure, "adverse event")


def test_the_second_of_two_concurrent_visit_form_edits_is_refused(
    coordinator_pumch, investigator_pumch, site_pumch, figure
):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    visit = make_visit(participant, "BASELINE", user=coordinator_pumch)
    vitals = save_vitals(visit, coordinator_pumch, weight="40.0")
    url = reverse("crf:visit_form", args=[visit.pk, "vitals"])
    first, second = two_sessions(coordinator_pumch, investigator_pumch)
    first_form = post_data(first.get(url).context["form"])
    second_form = post_data(second.get(url).context["form"])

    first_form.update(weight_kg="41.0", reason_for_change="Scale recalibrated")
    assert first.post(url, first_form).status_code == 302
    second_form.update(weight_kg="39.0", reason_for_change="Re-weighed")
    response = second.post(url, second_form)

    assert response.status_code == 200
    assert "Someone else saved this record" in response.content.decode()
    vitals.refresh_from_db()
    assert str(vitals.weight_kg) == "41.0"
    report(figure, "visit CRF")


# --- Every editable clinical form ------------------------------------------------------
# The forms come from the URL map (the data-entry views of the authorisation matrix, over
# every visit CRF kind and screening section): any page whose form posts back a version or
# a lab panel's fingerprint edits saved data. Each is opened by two sessions; the second
# changes a field and saves, then the first's save must be refused, naming that field, and
# a post without its version is refused too. Pages are read and posted as a browser does.

# The field each editable form's sessions change, and (where the message names it
# otherwise than the model field) the words the conflict message uses for it.
EDIT_FORMS: dict[str, tuple[str, str | None]] = {
    "crf:visit_form[vitals]": ("weight_kg", None),
    "crf:visit_form[essdai]": ("articular", None),
    "crf:visit_form[esspri]": ("dryness", None),
    "crf:visit_form[physician_global]": ("score", None),
    "crf:visit_form[glands]": ("schirmer_mm_5min", None),
    "crf:visit_form[safety_review]": ("notes", None),
    "crf:visit_labs": ("esr_value", "ESR"),
    "crf:ae_edit": ("term", None),
    "crf:ae_update_edit": ("notes", None),
    "crf:con_med_edit": ("indication", None),
    "eligibility:section[candidate]": ("sex", None),
    "eligibility:section[sjogren]": ("recurrent_sand_or_gravel_in_eyes", None),
    "eligibility:section[therapy]": ("no_prior_therapy", None),
    "eligibility:section[disease]": ("esr_persistently_raised", None),
    "eligibility:section[exclusions]": ("malignancy_history", None),
    "eligibility:section[agreement]": ("child_agrees", None),
    "eligibility:labs": ("igg_value", "IgG"),
    "eligibility:therapy_edit": ("start", None),
    "dosing:infusion_correct": ("lot_number", None),
    "dosing:visit_edit": ("out_of_window_explanation", None),
    "dosing:deviation_explain": ("explanation", None),
    "enrollment:reschedule": ("planned_day_0", "planned Day 0"),
    # Correcting in answer to a query: the queried form (here a lab panel) itself.
    "monitoring:query_correct": ("esr_value", "ESR"),
}
LOCK_FIELDS = ("version", "fingerprint")
CONFLICT = "Someone else saved"


def lock_of(form: HtmlForm) -> tuple[str, str] | None:
    """The lock the page was loaded with (version or fingerprint), if it edits saved data."""
    for name in LOCK_FIELDS:
        if form.hidden.get(name):
            return name, form.hidden[name]
    return None


def load(client: Client, url: str) -> HtmlForm:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    form = main_form(page.content.decode(), url)
    assert form is not None, (url, "no form")
    return form


def changed(form: HtmlForm, name: str, step: int) -> str:
    """A different valid value for field ``name``, as a user would enter it."""
    info = form.fields[name]
    current = (form.sent.get(name) or [""])[0]
    if info.kind in ("radio", "select"):
        others = [o for o in info.options if o not in (current, "")]
        return others[step % len(others)]
    if info.kind == "checkbox":
        return "" if form.sent.get(name) else "on"
    # A clinical number is a text input with the decimal keyboard (issue 19).
    if info.kind == "number" or info.attrs.get("inputmode") in ("decimal", "numeric"):
        value = Decimal(current or "0") + step
        if info.attrs.get("max") and value > Decimal(info.attrs["max"]):
            value = Decimal(current) - step
        return str(value)
    if info.kind == "date":
        return (date.fromisoformat(current) - timedelta(days=step)).isoformat()
    return f"{current} (checked {step})".strip()


def edited(form: HtmlForm, name: str, step: int) -> dict[str, list[str]]:
    """What the browser posts after the user changed ``name`` and gave a reason."""
    data = form.data()
    value = changed(form, name, step)
    data[name] = [value] if value else []
    for other, info in form.fields.items():
        empty = not any(v.strip() for v in data.get(other, []))
        if other.startswith("reason") or (
            empty
            and "required" in info.attrs
            and info.kind
            in (
                "text",
                "textarea",
            )
        ):
            data[other] = ["Checked against the source"]
    return data


def conflict_label(page, name: str, label: str | None) -> str:
    if label:
        return label
    form = page.context["form"]
    return str(form._meta.model._meta.get_field(name).verbose_name)


def editable_form_urls(world_values) -> dict[str, str]:
    """Every form page of the URL map (fuzz list), and a participant who can move Day 0."""
    values, by_view, _secrets = world_values
    forms, _actions, _no_input = form_urls(values, by_view)
    waiting = (
        Participant.objects.filter(site__code="PUMCH", infusions__isnull=True, status="enrolled")
        .order_by("sequence")
        .first()
    )
    assert waiting is not None, "the demo has a PUMCH participant waiting for Day 0"
    forms["enrollment:reschedule"] = reverse("enrollment:reschedule", args=[waiting.subject_id])
    # "No prior therapy" can only change on a screening without therapy periods.
    fresh = make_screening(site=Site.objects.get(code="PUMCH"))
    forms["eligibility:section[therapy]"] = reverse(
        "eligibility:section", args=[fresh.number, "therapy"]
    )
    return forms


def saved_meanwhile_at(name: str, url: str) -> str:
    """Where the other session saves: the same page, except for a correction in answer to
    a query, which a colleague's plain edit of the queried form overtakes."""
    if name != "monitoring:query_correct":
        return url
    query = DataQuery.objects.get(pk=resolve(url).kwargs["pk"])
    return describe(query.target, query.field_name).edit_url


@pytest.mark.slow
def test_every_editable_form_refuses_the_second_of_two_concurrent_saves(world, figure):  # noqa: F811
    coordinator = User.objects.get(username="coordinator_pumch")
    investigator = User.objects.get(username="investigator_pumch")
    editable = {}
    for name, url in editable_form_urls(world).items():
        form = load(two_sessions(investigator, investigator)[0], url)
        if lock_of(form):
            editable[name] = url
    assert set(editable) == set(EDIT_FORMS), (
        "editable forms found and known differ: "
        f"not in EDIT_FORMS {set(editable) - set(EDIT_FORMS)}, "
        f"not found {set(EDIT_FORMS) - set(editable)}"
    )

    for name, url in editable.items():
        field_name, label = EDIT_FORMS[name]
        first, second = two_sessions(coordinator, investigator)
        check = Client()
        check.force_login(coordinator)
        other_url = saved_meanwhile_at(name, url)
        first_form, second_form = load(first, url), load(second, other_url)

        saved = second.post(other_url, edited(second_form, field_name, 1))
        assert saved.status_code == 302, (name, _page_errors(saved))
        after_second = load(check, url)
        assert lock_of(after_second) != lock_of(first_form), (name, "the save moved no lock")

        refused = first.post(url, edited(first_form, field_name, 2))
        assert refused.status_code == 200, (name, refused.status_code)
        message = unescape(refused.content.decode())
        assert CONFLICT in message, (name, _page_errors(refused))
        expected = conflict_label(refused, field_name, label)
        assert expected.lower() in message.lower(), (name, "the conflict names", expected)
        now = load(check, url)
        assert lock_of(now) == lock_of(after_second), (name, "the refused save changed the lock")
        assert now.sent.get(field_name) == after_second.sent.get(field_name), name

        # A post without its version (or with a made-up one) is refused, never applied.
        lock_name = lock_of(now)[0]
        for lock_value in (None, "not-a-version"):
            data = edited(now, field_name, 3)
            if lock_value is None:
                data.pop(lock_name)
            else:
                data[lock_name] = [lock_value]
            response = first.post(url, data)
            assert response.status_code == 200, (name, lock_value, response.status_code)
            assert str(VERSION_MISSING) in unescape(response.content.decode()), name
            again = load(check, url)
            assert lock_of(again) == lock_of(now), (name, "a post without version saved")
            assert again.sent.get(field_name) == now.sent.get(field_name), name

    figure(
        "no lost updates (every form)",
        f"{len(editable)} editable clinical forms (every visit CRF kind, every screening "
        "section, both lab panels, the Day 0 move, a correction in answer to a query) opened "
        "by two sessions: the save from the stale page refused each time, naming the field "
        "the other changed, whose value was kept; a post without its version or with a "
        "made-up one refused, nothing changed",
    )


def _page_errors(response) -> object:
    context = response.context
    if context is not None and "form" in context:
        return context["form"].errors
    return response.status_code


# --- Two sessions at the same instant ----------------------------------------------------
# Two threads, each with its own client and its own database connection, post the same
# form loaded at the same version, released together by a barrier. The row lock taken by
# the save serialises them: exactly one save wins, the other is refused with the conflict.

CONCURRENT_ROUNDS = 5


def race(url: str, sessions, payloads) -> dict[int, tuple[int, str]]:
    """Each session posts its payload from its own thread, released at the same moment."""
    barrier = threading.Barrier(len(sessions))
    results: dict[int, tuple[int, str]] = {}

    def save(n: int) -> None:
        data = {**payloads[n], "reason_for_change": ["Re-weighed"]}
        try:
            barrier.wait(timeout=30)
            response = sessions[n].post(url, data)
            results[n] = (response.status_code, unescape(response.content.decode()))
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=save, args=(n,)) for n in range(len(sessions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_sessions_saving_the_same_form_at_the_same_instant_lose_nothing(
    coordinator_pumch, investigator_pumch, site_pumch, figure
):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    visit = make_visit(participant, "BASELINE", user=coordinator_pumch)
    vitals = save_vitals(visit, coordinator_pumch, weight="40.0")
    url = reverse("crf:visit_form", args=[visit.pk, "vitals"])
    outcomes = []
    for round_ in range(CONCURRENT_ROUNDS):
        sessions = two_sessions(coordinator_pumch, investigator_pumch)
        loaded = [load(client, url) for client in sessions]
        assert loaded[0].hidden["version"] == loaded[1].hidden["version"]
        weights = [f"{41 + round_}.{n}" for n in (1, 2)]
        payloads = [
            {**form.data(), "weight_kg": [w]} for form, w in zip(loaded, weights, strict=True)
        ]
        results = race(url, sessions, payloads)

        statuses = sorted(status for status, _html in results.values())
        assert statuses == [200, 302], results
        winner = next(n for n, (status, _html) in results.items() if status == 302)
        loser_html = results[1 - winner][1]
        assert CONFLICT in loser_html and "weight" in loser_html
        vitals.refresh_from_db()
        assert str(vitals.weight_kg) == weights[winner]  # the winner's value, not overwritten
        assert vitals.version == int(loaded[0].hidden["version"]) + 1  # one save, not two
        outcomes.append(winner)

    figure(
        "no lost updates (same instant)",
        f"{CONCURRENT_ROUNDS} rounds of two sessions (own client, own database connection) "
        "posting the same form at the same moment: exactly one save won each round, the "
        "other was refused with the conflict naming the field",
    )
