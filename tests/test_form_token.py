"""A create form posted twice (a double click, two tabs, a retry) makes one record (issue 16).

Each create form carries a one-time token; the service spends it in the transaction that
saves the record (trialsite.models.FormToken, unique), so the second post is sent to
the record the first one made.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from crf.models import AdverseEvent, ConcomitantMedication
from tests.factories.crf import ae_data, make_participant
from tests.html_forms import main_form
from trialsite.forms import FORM_TOKEN_FIELD
from trialsite.models import FormToken


@pytest.fixture
def participant(site_pumch, coordinator_pumch, investigator_pumch):
    return make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )


def loaded_token(client: Client, url: str) -> str:
    """The token of the form as a browser loads it."""
    form = main_form(client.get(url).content.decode(), url)
    assert form is not None
    return form.hidden[FORM_TOKEN_FIELD]


@pytest.mark.django_db
def test_each_load_of_the_new_ae_form_has_a_fresh_token(client_for, coordinator_pumch, participant):
    client = client_for(coordinator_pumch)
    url = reverse("crf:ae_add", args=[participant.subject_id])
    first, second = loaded_token(client, url), loaded_token(client, url)
    assert len(first) >= 40 and first != second


@pytest.mark.django_db
def test_posting_the_new_ae_form_twice_makes_one_event(client_for, coordinator_pumch, participant):
    client = client_for(coordinator_pumch)
    url = reverse("crf:ae_add", args=[participant.subject_id])
    data = ae_data() | {FORM_TOKEN_FIELD: loaded_token(client, url)}

    first = client.post(url, data)
    second = client.post(url, data)

    event = AdverseEvent.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == event.get_absolute_url()
    assert FormToken.objects.get().record == event


@pytest.mark.django_db
def test_a_refused_post_leaves_the_token_unspent(client_for, coordinator_pumch, participant):
    client = client_for(coordinator_pumch)
    url = reverse("crf:ae_add", args=[participant.subject_id])
    token = loaded_token(client, url)

    refused = client.post(url, ae_data(serious_criteria=[]) | {FORM_TOKEN_FIELD: token})
    assert refused.status_code == 200
    assert f'value="{token}"' in refused.content.decode()  # the re-shown form keeps it
    assert client.post(url, ae_data() | {FORM_TOKEN_FIELD: token}).status_code == 302
    assert AdverseEvent.objects.count() == 1


@pytest.mark.django_db
def test_another_form_load_makes_another_event(client_for, coordinator_pumch, participant):
    client = client_for(coordinator_pumch)
    url = reverse("crf:ae_add", args=[participant.subject_id])
    for _ in range(2):
        client.post(url, ae_data() | {FORM_TOKEN_FIELD: loaded_token(client, url)})
    assert AdverseEvent.objects.count() == 2


@pytest.mark.django_db
def test_posting_the_new_medication_form_twice_adds_one_medication(
    client_for, coordinator_pumch, participant
):
    client = client_for(coordinator_pumch)
    url = reverse("crf:con_med_add", args=[participant.subject_id])
    data = {
        "drug": "prednisone",
        "dose": "10",
        "dose_unit": "mg",
        "route": "oral",
        "frequency": "qd",
        "start_date": participant.planned_day_0.isoformat(),
        "stop_date": "",
        "indication": "disease activity",
        FORM_TOKEN_FIELD: loaded_token(client, url),
    }
    first, second = client.post(url, data), client.post(url, data)
    assert first.status_code == second.status_code == 302
    assert second["Location"] == reverse("crf:con_meds", args=[participant.subject_id])
    assert ConcomitantMedication.objects.filter(participant=participant).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_posts_of_the_new_ae_form_make_one_event(coordinator_pumch, participant):
    url = reverse("crf:ae_add", args=[participant.subject_id])
    loader = Client()
    loader.force_login(coordinator_pumch)
    data = ae_data() | {FORM_TOKEN_FIELD: loaded_token(loader, url)}
    start = threading.Barrier(2)
    answers: list[int] = []

    def post() -> None:
        # Each thread has its own database connection (its own transaction).
        client = Client()
        client.force_login(coordinator_pumch)
        try:
            start.wait(timeout=30)
            answers.append(client.post(url, data).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert answers == [302, 302]
    assert AdverseEvent.objects.filter(participant=participant).count() == 1
