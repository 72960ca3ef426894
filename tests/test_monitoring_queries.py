"""Data queries: opened by the monitor, answered by the site (in words or by correcting the
value through its own form), closed or re-opened by the opener; every step audited."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pghistory.models
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from dosing.models import LabResult
from monitoring import services
from monitoring.models import DataQuery, MessageKind, QueryStatus
from tests.factories.crf import lab_data, make_visit, save_labs
from tests.factories.monitoring import enrolled, lab, raise_query
from trialsite.audit import history_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(site_pumch, coordinator_pumch, investigator_pumch):
    return enrolled(site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch)


@pytest.fixture
def visit(participant, coordinator_pumch):
    visit = make_visit(participant, "W12", user=coordinator_pumch)
    save_labs(visit, coordinator_pumch, igg="12", esr="10")
    return visit


@pytest.fixture
def igg_query(visit, monitor_pumch):
    return raise_query(
        lab(visit), monitor_pumch, "value_entered", "IgG 12 g/L: the lab report says 1.2?"
    )


def statuses(query) -> list[str]:
    events = pghistory.models.Events.objects.tracks(query).order_by("pgh_id")
    return [event.pgh_data["status"] for event in events]


def test_a_query_goes_open_answered_closed_reopened_and_each_step_is_audited(
    igg_query, monitor_pumch, coordinator_pumch
):
    services.query_answer(query=igg_query, user=coordinator_pumch, response="Checked: 12 g/L.")
    services.query_reopen(query=igg_query, user=monitor_pumch, reason="Report shows 1.2 g/L.")
    services.query_answer(query=igg_query, user=coordinator_pumch, response="Confirmed 12 g/L.")
    services.query_close(query=igg_query, user=monitor_pumch, note="Source seen.")

    igg_query.refresh_from_db()
    assert igg_query.status == QueryStatus.CLOSED
    assert igg_query.closed_by == monitor_pumch
    assert statuses(igg_query) == ["open", "answered", "open", "answered", "closed"]
    trail = history_of(igg_query)
    assert [(e.who, e.reason) for e in trail] == [
        ("mona", "query opened"),
        ("alice", "query answered"),
        ("mona", "query re-opened"),
        ("alice", "query answered"),
        ("mona", "query closed"),
    ]
    assert [m.kind for m in igg_query.messages.all()] == [
        MessageKind.QUESTION,
        MessageKind.ANSWER,
        MessageKind.REOPEN,
        MessageKind.ANSWER,
        MessageKind.CLOSE,
    ]


def test_a_query_names_its_participant_visit_and_field(igg_query, visit):
    assert igg_query.participant == visit.participant
    assert igg_query.visit == visit
    assert igg_query.site == visit.participant.site
    assert str(igg_query.field_label) == "value as entered"
    assert igg_query.opener_display == "Test Mona"


def test_a_query_on_a_field_the_record_does_not_have_is_refused(visit, monitor_pumch):
    with pytest.raises(ValidationError) as refused:
        raise_query(lab(visit), monitor_pumch, "no_such_field")
    assert refused.value.code == "unknown_field"
    assert not DataQuery.objects.exists()


def test_a_correction_made_in_answer_to_a_query_carries_the_reason_and_answers_it(
    client_for, coordinator_pumch, visit, igg_query
):
    client = client_for(coordinator_pumch)
    correct_url = reverse("monitoring:query_correct", args=[igg_query.pk])

    page = client.get(correct_url)
    prefilled = f"Query #{igg_query.pk}: IgG 12 g/L: the lab report says 1.2?"
    assert prefilled in page.content.decode()
    assert f'data-query="{igg_query.pk}"' in page.content.decode()  # the badge on the field

    reason = f"Query #{igg_query.pk}: transcription error, 1.2 per the lab report"
    data = lab_data(visit, igg="1.2", esr="10")
    data["reason_for_change"] = reason
    response = client.post(correct_url, data)

    assert response.status_code == 302
    assert response.url == igg_query.get_absolute_url()
    igg = lab(visit)
    assert igg.value_entered == Decimal("1.2")
    change = history_of(igg)[-1]
    assert change.reason == reason
    assert change.who == "alice"
    assert [(c.old, c.new) for c in change.changes if c.label == "value as entered"] == [
        ("12.0", "1.2")
    ]
    igg_query.refresh_from_db()
    assert igg_query.status == QueryStatus.ANSWERED
    answer = igg_query.messages.get(kind=MessageKind.ANSWER)
    assert answer.text == f"Corrected in the form: {reason}"
    assert answer.correction_version == igg.version
    assert answer.author == coordinator_pumch
    detail = client.get(igg_query.get_absolute_url()).content.decode()
    assert "data-correction-link" in detail
    assert reverse("record_history", args=["dosing", "labresult", igg.pk]) in detail


def test_saving_the_form_without_changing_the_queried_value_leaves_the_query_open(
    client_for, coordinator_pumch, visit, igg_query
):
    data = lab_data(visit, igg="12", esr="11")
    data["reason_for_change"] = "ESR typo"
    response = client_for(coordinator_pumch).post(
        reverse("monitoring:query_correct", args=[igg_query.pk]), data
    )

    assert response.status_code == 302
    igg_query.refresh_from_db()
    assert igg_query.status == QueryStatus.OPEN
    assert LabResult.objects.active().get(visit=visit, analyte="esr").value_entered == 11


def test_the_site_answers_in_words_through_the_page(client_for, coordinator_pumch, igg_query):
    response = client_for(coordinator_pumch).post(
        reverse("monitoring:query_answer", args=[igg_query.pk]), {"response": "Value is right."}
    )

    assert response.status_code == 302
    igg_query.refresh_from_db()
    assert igg_query.status == QueryStatus.ANSWERED


def test_the_monitor_closes_an_answered_query_through_the_page(
    client_for, coordinator_pumch, monitor_pumch, igg_query
):
    services.query_answer(query=igg_query, user=coordinator_pumch, response="Right as entered.")

    response = client_for(monitor_pumch).post(
        reverse("monitoring:query_close", args=[igg_query.pk]), {"note": "Agreed."}
    )

    assert response.status_code == 302
    igg_query.refresh_from_db()
    assert igg_query.status == QueryStatus.CLOSED


def test_an_answered_query_cannot_be_answered_again(igg_query, coordinator_pumch):
    services.query_answer(query=igg_query, user=coordinator_pumch, response="Right.")
    with pytest.raises(ValidationError) as refused:
        services.query_answer(query=igg_query, user=coordinator_pumch, response="Again.")
    assert refused.value.code == "not_open"


# --- Access ------------------------------------------------------------------------------------


def test_a_coordinator_cannot_open_a_query(client_for, coordinator_pumch, visit):
    igg = lab(visit)
    url = reverse("monitoring:query_new", args=["dosing", "labresult", igg.pk])

    response = client_for(coordinator_pumch).post(url, {"question": "?", "field_name": ""})

    assert response.status_code == 403
    assert not DataQuery.objects.exists()


def test_a_coordinator_cannot_close_or_reopen_a_query(client_for, coordinator_pumch, igg_query):
    client = client_for(coordinator_pumch)

    closing = client.post(reverse("monitoring:query_close", args=[igg_query.pk]), {"note": ""})
    reopening = client.post(
        reverse("monitoring:query_reopen", args=[igg_query.pk]), {"reason": "no"}
    )

    assert (closing.status_code, reopening.status_code) == (403, 403)
    igg_query.refresh_from_db()
    assert igg_query.status == QueryStatus.OPEN


def test_a_monitor_cannot_answer_a_query(igg_query, monitor_pumch):
    with pytest.raises(PermissionDenied):
        services.query_answer(query=igg_query, user=monitor_pumch, response="Fine.")


def test_another_sites_query_and_record_are_404(client_for, coordinator_chcmu, igg_query, visit):
    client = client_for(coordinator_chcmu)

    assert client.get(igg_query.get_absolute_url()).status_code == 404
    assert (
        client.post(
            reverse("monitoring:query_answer", args=[igg_query.pk]), {"response": "x"}
        ).status_code
        == 404
    )
    assert (
        client.get(
            reverse("monitoring:query_new", args=["dosing", "labresult", lab(visit).pk])
        ).status_code
        == 404
    )


def test_a_monitor_raises_a_query_through_the_page(client_for, monitor_pumch, visit):
    igg = lab(visit)
    url = reverse("monitoring:query_new", args=["dosing", "labresult", igg.pk])

    response = client_for(monitor_pumch).post(
        url, {"field_name": "value_entered", "question": "Units?"}
    )

    query = DataQuery.objects.get()
    assert response.status_code == 302 and response.url == query.get_absolute_url()
    assert (query.field_name, query.opened_by) == ("value_entered", monitor_pumch)


def test_the_per_site_list_shows_each_query_with_its_age_in_days(
    client_for, data_manager, igg_query
):
    DataQuery.objects.filter(pk=igg_query.pk).update(
        opened_at=igg_query.opened_at - timedelta(days=40)
    )

    page = client_for(data_manager).get(reverse("monitoring:queries"), {"site": "PUMCH"})

    html = page.content.decode()
    assert f'data-query="{igg_query.pk}" data-status="open" data-age="40"' in html
    assert 'data-site="PUMCH"' in html and 'data-age-bucket="31+">1<' in html


def test_open_queries_show_as_badges_on_the_visit_page_and_the_participant_page(
    client_for, coordinator_pumch, visit, igg_query
):
    client = client_for(coordinator_pumch)

    visit_page = client.get(reverse("crf:visit", args=[visit.pk])).content.decode()
    participant_page = client.get(
        reverse("participant_detail", args=[visit.participant.subject_id])
    ).content.decode()

    assert f'data-query="{igg_query.pk}"' in visit_page
    assert f"Query #{igg_query.pk} open" in visit_page
    assert f'<li data-query="{igg_query.pk}">' in participant_page


def test_only_the_opener_or_a_data_manager_closes_a_persons_query(
    igg_query, site_pumch, data_manager
):
    from tests.factories.trialsite import UserFactory
    from trialsite.roles import Role

    other_monitor = UserFactory(username="otto", role=Role.MONITOR, sites=[site_pumch])
    with pytest.raises(PermissionDenied):
        services.query_close(query=igg_query, user=other_monitor)

    services.query_close(query=igg_query, user=data_manager)
    igg_query.refresh_from_db()
    assert igg_query.status == QueryStatus.CLOSED


def test_a_query_shows_on_the_adverse_event_page_and_its_edit_form(
    client_for, coordinator_pumch, monitor_pumch, participant
):
    from tests.factories.crf import record_ae

    event = record_ae(participant, coordinator_pumch, serious="False", serious_criteria=[])
    query = raise_query(event, monitor_pumch, "grade", "Grade 3 for a rash?")
    client = client_for(coordinator_pumch)

    detail = client.get(reverse("crf:ae_detail", args=[event.pk])).content.decode()
    edit = client.get(
        reverse("crf:ae_edit", args=[participant.subject_id, event.pk])
    ).content.decode()

    assert f'data-query="{query.pk}"' in detail
    assert f'data-query="{query.pk}"' in edit and "Grade 3 for a rash?" in edit
    assert f'data-queried="{query.pk}"' in edit  # on the grade inputs themselves


def test_a_query_on_a_screening_item_shows_beside_it_on_the_screening_page(
    client_for, coordinator_pumch, monitor_pumch, participant
):
    screening = participant.screening
    query = raise_query(screening, monitor_pumch, "sex", "Sex differs from the ID card.")

    page = client_for(coordinator_pumch).get(reverse("eligibility:detail", args=[screening.number]))

    assert (query.screening, query.participant) == (screening, participant)
    assert f'data-query="{query.pk}"' in page.content.decode()


def test_a_query_on_a_field_of_a_visit_form_shows_on_the_forms_row_of_the_visit_page(
    client_for, coordinator_pumch, monitor_pumch, participant
):
    from crf.models import Vitals
    from tests.factories.crf import save_vitals

    visit = make_visit(participant, "BASELINE", user=coordinator_pumch)
    save_vitals(visit, coordinator_pumch)
    query = raise_query(Vitals.objects.get(visit=visit), monitor_pumch, "weight_kg")

    html = client_for(coordinator_pumch).get(reverse("crf:visit", args=[visit.pk])).content
    row = html.decode().split('data-form="vitals"')[1].split("</tr>")[0]

    assert f'data-query="{query.pk}"' in row
