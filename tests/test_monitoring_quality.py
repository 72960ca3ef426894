"""The data-quality dashboard: per site, missing forms, queries by age, unverified forms,
unsigned visits; read in a fixed number of queries whatever the amount of data."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crf.models import Vitals
from monitoring import selectors
from tests.factories.crf import make_visit, save_vitals, today
from tests.factories.monitoring import complete_visit, enrolled, raise_query, sign_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def pumch(site_pumch, coordinator_pumch, investigator_pumch):
    def add(code: str = "BASELINE", *, complete: bool = True):
        participant = enrolled(
            site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
        )
        if complete:
            return complete_visit(participant, coordinator_pumch, code)
        visit = make_visit(participant, code, user=coordinator_pumch)
        save_vitals(visit, coordinator_pumch)
        return visit

    return add


def test_each_site_row_counts_missing_forms_queries_sdv_and_unsigned_visits(
    pumch, data_manager, monitor_pumch, investigator_pumch
):
    signed = pumch()
    sign_visit(signed, investigator_pumch)
    partial = pumch(complete=False)  # vitals only: 7 of 8 baseline forms missing
    raise_query(Vitals.objects.get(visit=partial), monitor_pumch, "weight_kg")

    [row] = selectors.data_quality(data_manager, today())

    assert (row.code, row.participants, row.visits) == ("PUMCH", 2, 2)
    assert (row.missing_forms, row.visits_with_missing_forms) == (7, 1)
    assert (row.queries.open, row.queries.by_age["0-7"]) == (1, 1)
    assert (row.visits_to_sign, row.unsigned_visits) == (2, 1)
    assert row.sdv.verified == 0 and row.sdv.total > 0


def test_the_dashboard_reads_in_the_same_number_of_queries_for_more_data(
    client_for, pumch, data_manager, monitor_pumch
):
    client = client_for(data_manager)
    visit = pumch()
    raise_query(Vitals.objects.get(visit=visit), monitor_pumch, "weight_kg")
    client.get(reverse("monitoring:quality"))  # warm caches (content types, sessions)

    with CaptureQueriesContext(connection) as small:
        client.get(reverse("monitoring:quality"))
    for _ in range(2):
        more = pumch()
        raise_query(Vitals.objects.get(visit=more), monitor_pumch, "heart_rate_bpm")
    with CaptureQueriesContext(connection) as large:
        page = client.get(reverse("monitoring:quality"))

    assert page.status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
    assert 'data-site="PUMCH"' in page.content.decode()


def test_the_query_list_reads_in_the_same_number_of_queries_for_more_queries(
    client_for, pumch, data_manager, monitor_pumch
):
    client = client_for(data_manager)
    visit = pumch()
    raise_query(Vitals.objects.get(visit=visit), monitor_pumch, "weight_kg")
    client.get(reverse("monitoring:queries"))

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("monitoring:queries"))
    for name in ("height_cm", "heart_rate_bpm", "systolic_mmhg"):
        raise_query(Vitals.objects.get(visit=visit), monitor_pumch, name)
    with CaptureQueriesContext(connection) as four:
        client.get(reverse("monitoring:queries"))

    assert len(four.captured_queries) == len(one.captured_queries)


def test_the_data_quality_page_is_for_data_managers_and_monitors(
    client_for, coordinator_pumch, monitor_pumch, data_manager
):
    url = reverse("monitoring:quality")
    assert client_for(coordinator_pumch).get(url).status_code == 403
    assert client_for(monitor_pumch).get(url).status_code == 200
    assert client_for(data_manager).get(url).status_code == 200


def test_the_dashboard_shows_the_oldest_open_queries(
    client_for, pumch, coordinator_pumch, monitor_pumch
):
    visit = pumch()
    query = raise_query(Vitals.objects.get(visit=visit), monitor_pumch, "weight_kg")

    html = client_for(coordinator_pumch).get(reverse("dashboard")).content.decode()

    assert 'data-panel="queries"' in html
    assert f"#{query.pk}" in html and 'data-count="open-queries">1<' in html
