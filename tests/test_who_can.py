"""Issue 19, "who can": a refusal in eligibility and monitoring says which role takes the
step and whom to ask, by name; where the step is next, the page shows it disabled with the
same words instead of hiding it."""

from __future__ import annotations

from html import unescape

import pytest
from django.conf import settings
from django.urls import reverse

from crf.models import Vitals
from monitoring import services as monitoring
from tests.factories.eligibility import EligibleScreeningFactory
from tests.factories.monitoring import complete_visit, enrolled, raise_query
from tests.factories.trialsite import UserFactory
from tests.i18n_support import compile_catalogue
from trialsite.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(site_pumch, coordinator_pumch, investigator_pumch):
    participant = enrolled(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    return complete_visit(participant, coordinator_pumch)


@pytest.fixture
def query(visit, monitor_pumch):
    return raise_query(Vitals.objects.get(visit=visit), monitor_pumch, "weight_kg")


def refusal(response) -> str:
    assert response.status_code == 403, response.status_code
    return unescape(response.content.decode())


def test_signing_eligibility_as_the_coordinator_names_the_investigator(
    client_for, coordinator_pumch, investigator_pumch, site_pumch
):
    screening = EligibleScreeningFactory(site=site_pumch, user=coordinator_pumch)
    client = client_for(coordinator_pumch)

    page = client.get(screening.get_absolute_url()).content.decode()
    response = client.post(reverse("eligibility:sign", args=[screening.number]), {})

    said = "The investigator confirms and signs the eligibility: ask Ivan Chen."
    assert said in refusal(response)
    # On the page: the next step shown disabled, saying who takes it.
    assert "data-who-can" in page and said in unescape(page)
    assert f'action="{reverse("eligibility:sign", args=[screening.number])}"' not in page


def test_the_refusal_is_in_chinese_for_a_chinese_reader(
    client_for, coordinator_pumch, investigator_pumch, site_pumch
):
    compile_catalogue()
    screening = EligibleScreeningFactory(site=site_pumch, user=coordinator_pumch)
    client = client_for(coordinator_pumch)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = client.post(reverse("eligibility:sign", args=[screening.number]), {})

    assert "入选资格由研究者确认并签名：请联系Ivan Chen。" in refusal(response)


def test_a_read_only_role_opening_a_screening_is_told_who_enters_data(
    client_for, monitor_pumch, coordinator_pumch, investigator_pumch
):
    response = client_for(monitor_pumch).get(reverse("eligibility:new"))

    text = refusal(response)
    assert "the coordinator or the investigator enters data here; ask " in text
    assert "Ivan Chen" in text and coordinator_pumch.printed_name in text


def test_verifying_source_as_the_coordinator_names_the_monitor(
    client_for, coordinator_pumch, monitor_pumch, visit
):
    client = client_for(coordinator_pumch)
    vitals = Vitals.objects.get(visit=visit)
    record_url = reverse("monitoring:verify", args=["crf", "vitals", vitals.pk])

    for response in (
        client.get(record_url),
        client.post(reverse("monitoring:verify_visit", args=[visit.pk])),
    ):
        assert (
            f"The monitor verifies data against source: ask {monitor_pumch.printed_name}."
            in refusal(response)
        )


def test_locking_as_the_monitor_names_the_data_manager(
    client_for, monitor_pumch, data_manager, visit
):
    response = client_for(monitor_pumch).post(reverse("monitoring:lock_visit", args=[visit.pk]))

    assert f"The data manager locks data: ask {data_manager.printed_name}." in refusal(response)


def test_signing_off_a_visit_as_the_monitor_names_the_investigator(
    client_for, monitor_pumch, investigator_pumch, visit
):
    client = client_for(monitor_pumch)

    review = unescape(client.get(reverse("monitoring:visit", args=[visit.pk])).content.decode())
    response = client.get(reverse("monitoring:sign_visit", args=[visit.pk]))

    said = "The investigator signs off the visit: ask Ivan Chen."
    assert said in refusal(response)
    assert said in review  # the next step, shown disabled


def test_query_steps_refused_to_the_wrong_role_name_who_takes_them(
    client_for, coordinator_pumch, monitor_pumch, investigator_pumch, data_manager, query
):
    coordinator = client_for(coordinator_pumch)
    close = coordinator.post(reverse("monitoring:query_close", args=[query.pk]), {"note": "ok"})
    vitals = Vitals.objects.get(pk=query.object_id)
    raise_ = coordinator.get(reverse("monitoring:query_new", args=["crf", "vitals", vitals.pk]))
    monitor = client_for(monitor_pumch)
    answer = monitor.post(reverse("monitoring:query_answer", args=[query.pk]), {"response": "x"})

    assert f"{monitoring.CLOSES_QUERY}: ask " in refusal(close)
    assert monitor_pumch.printed_name in refusal(close) and data_manager.printed_name in refusal(
        close
    )
    assert f"{monitoring.RAISES_QUERY}: ask " in refusal(raise_)
    text = refusal(answer)
    assert f"{monitoring.ANSWERS_QUERY}: ask " in text
    assert "Ivan Chen" in text and coordinator_pumch.printed_name in text


def test_closing_another_monitors_query_names_its_opener(
    client_for, monitor_pumch, site_pumch, data_manager, query
):
    other = UserFactory(username="otto", role=Role.MONITOR, sites=[site_pumch])
    response = client_for(other).post(
        reverse("monitoring:query_close", args=[query.pk]), {"note": "ok"}
    )

    text = refusal(response)
    assert f"The monitor who opened this query ({monitor_pumch.printed_name})" in text
    assert data_manager.printed_name in text
