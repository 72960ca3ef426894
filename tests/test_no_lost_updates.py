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
