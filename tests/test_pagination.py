"""Issue 11, daily use: every list is paged. Each list page is filled with one row more
than a page holds and must show the pager, and its second page the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse
from django.utils import timezone

from crf.selectors import OUTCOME_ROWS_PER_PAGE
from demo import loaddata
from dosing import services as dosing_services
from dosing.models import DeviationCategory
from dosing.views import DEVIATIONS_PER_PAGE
from eligibility.models import Screening
from exports import services as export_services
from exports.rows import ExportFilters, ExportOptions
from monitoring.services import query_open
from tests.factories.crf import make_participant, record_ae, record_con_med
from tests.factories.eligibility import make_screening
from trialsite.audit import audit_context
from trialsite.pagination import PAGE_SIZE

pytestmark = pytest.mark.django_db

PAGER = '<nav aria-label="Pages">'


@dataclass
class People:
    site: object
    coordinator: object
    investigator: object
    monitor: object
    data_manager: object

    def participant(self):
        return make_participant(
            site=self.site, coordinator=self.coordinator, investigator=self.investigator
        )


def _screenings(people: People, n: int):
    for _ in range(n):
        make_screening(site=people.site, user=people.coordinator)


def screening_log(people: People):
    _screenings(people, PAGE_SIZE + 1)
    return reverse("eligibility:log"), people.coordinator


def search_results(people: People):
    _screenings(people, PAGE_SIZE + 1)
    return reverse("search") + "?q=PUMCH-S", people.coordinator


def _generate(people: People, n: int) -> None:
    loaddata.generate(
        participants=n,
        sites=[people.site],
        staff={people.site.pk: loaddata.Staff(people.coordinator, people.investigator)},
        today=timezone.localdate(),
        seed=5,
        span_days=600,
    )


def participant_list(people: People):
    _generate(people, PAGE_SIZE + 1)
    return reverse("enrollment:list"), people.coordinator


def outcome_review(people: People):
    _generate(people, OUTCOME_ROWS_PER_PAGE + 1)
    return reverse("crf:outcomes"), people.investigator


def _deviations(people: People, n_rows: int):
    participant = people.participant()
    for n in range(n_rows):
        dosing_services.deviation_create(
            participant=participant,
            user=people.coordinator,
            today=timezone.localdate(),
            category=DeviationCategory.PROCEDURE,
            occurred_on=participant.enrolled_on,
            description=f"Sample {n} taken late.",
        )
    return participant


def deviation_list(people: People):
    _deviations(people, DEVIATIONS_PER_PAGE + 1)
    return reverse("dosing:deviations"), people.coordinator


def participant_deviations(people: People):
    participant = _deviations(people, PAGE_SIZE + 1)
    return reverse("dosing:participant_deviations", args=[participant.subject_id]), (
        people.coordinator
    )


def adverse_events(people: People):
    participant = people.participant()
    for n in range(PAGE_SIZE + 1):
        record_ae(
            participant,
            people.coordinator,
            term=f"Infection {n}",
            serious="False",
            serious_criteria=[],
            grade="1",
        )
    return reverse("crf:ae_list", args=[participant.subject_id]), people.coordinator


def medications(people: People):
    participant = people.participant()
    for n in range(PAGE_SIZE + 1):
        record_con_med(
            participant, people.coordinator, drug="hydroxychloroquine", dose=str(100 + n)
        )
    return reverse("crf:con_meds", args=[participant.subject_id]), people.coordinator


def record_history(people: People):
    screening = make_screening(site=people.site, user=people.coordinator)
    with audit_context(people.coordinator, "pagination test"):
        for n in range(PAGE_SIZE + 1):
            Screening.objects.filter(pk=screening.pk).update(sex="MF"[n % 2])
    return reverse("record_history", args=["eligibility", "screening", screening.pk]), (
        people.coordinator
    )


def exports(people: People):
    for _ in range(PAGE_SIZE + 1):
        export_services.export_create(
            user=people.data_manager, kind="csv", filters=ExportFilters(), options=ExportOptions()
        )
    return reverse("exports:list"), people.data_manager


def data_queries(people: People):
    participant = people.participant()
    event = record_ae(participant, people.coordinator)
    for n in range(PAGE_SIZE + 1):
        query_open(record=event, user=people.monitor, question=f"Question {n}?", field_name="")
    return reverse("monitoring:queries"), people.monitor


LISTS: dict[str, Callable[[People], tuple[str, object]]] = {
    "screening log": screening_log,
    "search results": search_results,
    "participant list": participant_list,
    "outcome review": outcome_review,
    "protocol deviations": deviation_list,
    "a participant's deviations": participant_deviations,
    "adverse events": adverse_events,
    "concomitant medication": medications,
    "record history": record_history,
    "exports": exports,
    "data queries": data_queries,
}


@pytest.fixture
def people(site_pumch, coordinator_pumch, investigator_pumch, monitor_pumch, data_manager):
    return People(site_pumch, coordinator_pumch, investigator_pumch, monitor_pumch, data_manager)


@pytest.mark.parametrize("page", list(LISTS))
def test_a_list_longer_than_a_page_shows_the_pager_and_its_next_page(page, people, client):
    url, user = LISTS[page](people)
    client.force_login(user)
    first = client.get(url)
    assert first.status_code == 200
    html = first.content.decode()
    assert PAGER in html, f"{page}: no pager with more rows than a page holds"
    assert "Page 1 of 2" in html
    joiner = "&" if "?" in url else "?"
    second = client.get(f"{url}{joiner}page=2")
    assert second.status_code == 200
    assert "Page 2 of 2" in second.content.decode()
