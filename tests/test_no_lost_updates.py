"""No lost updates: two people editing the same record at the same time.

Both open the form (it carries the version it was loaded at); the first save wins,
the second is refused with a message naming what changed, and nothing is overwritten.
"""

from __future__ import annotations

from datetime import date

import pytest
from django import forms
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from crf.models import AdverseEvent
from eligibility.models import Screening
from tests.factories.crf import make_participant, make_visit, record_ae, save_vitals
from tests.factories.eligibility import make_screening
from tests.test_authorization_matrix import KINDS, url_for, url_patterns, world  # noqa: F401
from trialsite.models import User

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
# The forms come from the URL map (the data-entry views of the authorisation matrix):
# any page whose form edits a saved clinical record (a ``ClinicalForm`` with a version)
# is opened by two sessions; the second saves, then the first's save must be refused.


def _editing_form(response):
    from trialsite.forms import ClinicalForm

    context = response.context
    if response.status_code != 200 or context is None or "form" not in context:
        return None
    form = context["form"]
    return form if isinstance(form, ClinicalForm) and form.is_edit else None


def _values(form) -> dict:
    data = post_data(form)
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if isinstance(value, list | tuple):  # many-to-many: the primary keys
            data[name] = [str(getattr(v, "pk", v)) for v in value]
        if field.required and isinstance(field, forms.CharField) and not data.get(name):
            data[name] = "Entered from the source"  # e.g. a deviation not yet explained
    data[form.reason_field] = "Checked against the source"
    return data


@pytest.mark.slow
def test_every_editable_form_refuses_the_second_of_two_concurrent_saves(world, figure):  # noqa: F811
    values, by_view, _secrets = world
    coordinator = User.objects.get(username="coordinator_pumch")
    investigator = User.objects.get(username="investigator_pumch")
    checked = []
    for name, pattern in url_patterns():
        if KINDS.get(name) not in ("WRITE", "READ_WRITE"):
            continue
        url = url_for(name, pattern, values, by_view)
        first, second = two_sessions(coordinator, investigator)
        first_form, second_form = _editing_form(first.get(url)), _editing_form(second.get(url))
        if first_form is None or second_form is None:
            continue  # a page that creates a record, or has no form
        record = type(first_form.instance)._default_manager.get(pk=first_form.instance.pk)

        saved = second.post(url, _values(second_form))
        invalid = _editing_form(saved)
        assert saved.status_code == 302, (name, invalid.errors if invalid else saved.status_code)
        record.refresh_from_db()
        after_second = record.version

        refused = first.post(url, _values(first_form))
        assert refused.status_code == 200, name
        assert "Someone else saved" in refused.content.decode(), name
        record.refresh_from_db()
        assert record.version == after_second, (name, "the refused save changed the record")
        checked.append(name)

    assert len(checked) >= 9, checked
    figure(
        "no lost updates (every form)",
        f"{len(checked)} editable clinical forms opened by two sessions at once: the second "
        "save refused each time, the first kept",
    )
