"""Adverse events: the log, ICH E2A seriousness, one alert per serious event, acknowledgement."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse

from crf.forms import FATAL_NEEDS_DEATH, GRADE_5_IFF_FATAL, SERIOUS_NEEDS_CRITERION
from crf.models import AdverseEvent, AdverseEventUpdate, SaeAcknowledgement, SeriousAeAlert
from enrollment.services import withdraw_consent
from tests.factories.crf import ae_data, make_participant, record_ae, today
from tests.jobs import run_queued_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(site_pumch, coordinator_pumch, investigator_pumch):
    return make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )


@pytest.fixture
def staff(coordinator_pumch, investigator_pumch, data_manager, investigator_chcmu, monitor_pumch):
    """Everyone who could be alerted, so the test sees who is not."""
    return locals()


def add_url(participant) -> str:
    return reverse("crf:ae_add", args=[participant.subject_id])


def test_saving_a_serious_ae_sends_exactly_one_alert_to_the_site_investigators_and_data_managers(
    client_for, coordinator_pumch, participant, staff
):
    response = client_for(coordinator_pumch).post(add_url(participant), ae_data())
    assert response.status_code == 302
    assert mail.outbox == []  # queued with the save, sent by a worker
    assert run_queued_jobs() == 2

    assert sorted(m.to[0] for m in mail.outbox) == ["dana@example.org", "ivan@example.org"]
    message = mail.outbox[0]
    assert participant.subject_id in message.subject and "Pneumonia" in message.body
    alert = SeriousAeAlert.objects.get()
    # The link opens the event from a mail client: the full address, not a bare path.
    assert f"http://127.0.0.1:8000{alert.adverse_event.get_absolute_url()}" in message.body
    assert {u.username for u in alert.recipients.all()} == {"ivan", "dana"}
    assert alert.emailed_at is not None


def test_editing_a_serious_ae_again_does_not_send_the_alert_again(
    client_for, coordinator_pumch, participant, staff
):
    event = record_ae(participant, coordinator_pumch)
    run_queued_jobs()
    assert len(mail.outbox) == 2

    response = client_for(coordinator_pumch).post(
        reverse("crf:ae_edit", args=[participant.subject_id, event.pk]),
        ae_data(grade="4", version=event.version, reason_for_change="worsened")
        | {"serious_criteria": ["hospitalisation", "life_threatening"]},
    )

    assert response.status_code == 302
    assert AdverseEvent.objects.get().grade == 4
    assert run_queued_jobs() == 0
    assert len(mail.outbox) == 2
    assert SeriousAeAlert.objects.count() == 1


def test_an_event_that_becomes_serious_raises_the_alert_then(coordinator_pumch, participant, staff):
    event = record_ae(participant, coordinator_pumch, serious="False", serious_criteria=[])
    assert run_queued_jobs() == 0
    assert mail.outbox == [] and not SeriousAeAlert.objects.exists()

    record_ae(participant, coordinator_pumch, instance=event, reason_for_change="admitted")
    run_queued_jobs()

    assert len(mail.outbox) == 2
    assert SeriousAeAlert.objects.get().adverse_event == event


def test_a_serious_event_without_a_criterion_is_refused_and_stores_nothing(
    client_for, coordinator_pumch, participant, staff
):
    response = client_for(coordinator_pumch).post(
        add_url(participant), ae_data(serious_criteria=[])
    )

    assert response.status_code == 200
    assert response.context["form"].errors["serious_criteria"] == [str(SERIOUS_NEEDS_CRITERION)]
    assert not AdverseEvent.objects.exists()
    assert mail.outbox == []


def test_the_database_refuses_a_serious_event_without_criteria(participant):
    with pytest.raises(IntegrityError, match="ae_serious_iff_criteria"), transaction.atomic():
        AdverseEvent.objects.create(
            participant=participant,
            term="x",
            onset_date=today(),
            grade=3,
            serious=True,
            serious_criteria=[],
            related_rituximab="possible",
            related_belimumab="possible",
            action_taken="none",
            outcome="recovering",
        )


def test_grade_5_goes_with_a_fatal_outcome_and_the_death_criterion(
    client_for, coordinator_pumch, participant
):
    response = client_for(coordinator_pumch).post(add_url(participant), ae_data(grade="5"))

    errors = response.context["form"].errors
    assert "outcome" in errors
    assert not AdverseEvent.objects.exists()


def test_the_alert_stays_on_the_dashboard_until_the_recipient_acknowledges_it(
    client_for, coordinator_pumch, investigator_pumch, data_manager, participant
):
    event = record_ae(participant, coordinator_pumch, term="Febrile neutropenia")
    alert = SeriousAeAlert.objects.get()
    shown = f'data-alert="{alert.pk}"'
    client = client_for(investigator_pumch)
    assert shown in client.get(reverse("dashboard")).content.decode()

    response = client.post(reverse("crf:alert_acknowledge", args=[alert.pk]))

    assert response.status_code == 302
    assert SaeAcknowledgement.objects.filter(alert=alert, user=investigator_pumch).exists()
    assert shown not in client.get(reverse("dashboard")).content.decode()
    # The data manager has not acknowledged it yet: it stays on their dashboard.
    other = client_for(data_manager).get(reverse("dashboard")).content.decode()
    assert shown in other and event.term in other


def test_only_a_recipient_can_acknowledge_an_alert(
    client, coordinator_pumch, investigator_chcmu, investigator_pumch, participant
):
    record_ae(participant, coordinator_pumch)
    alert = SeriousAeAlert.objects.get()
    url = reverse("crf:alert_acknowledge", args=[alert.pk])

    client.force_login(coordinator_pumch)
    assert client.post(url).status_code == 403
    client.force_login(investigator_chcmu)
    assert client.post(url).status_code == 404
    assert not SaeAcknowledgement.objects.exists()


def test_adverse_events_are_still_recorded_after_consent_withdrawal(
    client_for, coordinator_pumch, participant
):
    withdraw_consent(
        participant=participant,
        user=coordinator_pumch,
        withdrawn_on=today(),
        data_may_be_kept=True,
        notes="",
    )

    response = client_for(coordinator_pumch).post(
        add_url(participant), ae_data(serious="False", serious_criteria=[])
    )

    assert response.status_code == 302
    assert AdverseEvent.objects.filter(participant=participant).count() == 1


def test_follow_ups_are_child_rows_of_the_event(client_for, coordinator_pumch, participant):
    event = record_ae(participant, coordinator_pumch)
    client = client_for(coordinator_pumch)

    response = client.post(
        reverse("crf:ae_update_add", args=[event.pk]),
        {
            "reported_on": today().isoformat(),
            "grade": "2",
            "outcome": "recovering",
            "notes": "Better",
        },
    )

    assert response.status_code == 302
    update = AdverseEventUpdate.objects.get()
    assert update.adverse_event == event and update.grade == 2
    assert "Better" in client.get(event.get_absolute_url()).content.decode()


def test_an_event_entered_in_error_is_voided_not_deleted_and_leaves_the_dashboards(
    client, coordinator_pumch, investigator_pumch, participant
):
    event = record_ae(participant, coordinator_pumch)
    shown = f'data-alert="{SeriousAeAlert.objects.get().pk}"'
    client.force_login(investigator_pumch)
    assert shown in client.get(reverse("dashboard")).content.decode()

    client.force_login(coordinator_pumch)
    client.post(reverse("crf:ae_void", args=[event.pk]), {"reason": "wrong participant"})

    event.refresh_from_db()
    assert event.is_voided and event.void_reason == "wrong participant"
    client.force_login(investigator_pumch)
    assert shown not in client.get(reverse("dashboard")).content.decode()


def follow_up(client, event, **fields):
    data = {"reported_on": today().isoformat(), "notes": "Follow-up", **fields}
    return client.post(reverse("crf:ae_update_add", args=[event.pk]), data)


@pytest.mark.parametrize(
    ("fields", "field_in_error", "message"),
    [
        ({"grade": "5", "outcome": "not_recovered"}, "outcome", GRADE_5_IFF_FATAL),
        ({"grade": "5"}, "grade", GRADE_5_IFF_FATAL),  # the event is still "recovering"
        ({"outcome": "fatal", "serious_criteria": ["death"]}, "outcome", GRADE_5_IFF_FATAL),
        ({"grade": "5", "outcome": "fatal"}, "serious_criteria", FATAL_NEEDS_DEATH),
        ({"grade": "2", "outcome": "fatal"}, "outcome", GRADE_5_IFF_FATAL),
    ],
)
def test_a_follow_up_is_checked_like_the_event_for_grade_outcome_and_seriousness(
    client_for, coordinator_pumch, participant, staff, fields, field_in_error, message
):
    event = record_ae(participant, coordinator_pumch, serious="False", serious_criteria=[])

    response = follow_up(client_for(coordinator_pumch), event, **fields)

    assert response.status_code == 200
    assert str(message) in response.context["form"].errors[field_in_error]
    assert not AdverseEventUpdate.objects.exists()
    assert not AdverseEvent.objects.get().serious


def test_a_fatal_follow_up_makes_the_event_serious_and_raises_the_alert_exactly_once(
    client_for, coordinator_pumch, participant, staff
):
    event = record_ae(participant, coordinator_pumch, serious="False", serious_criteria=[])
    client = client_for(coordinator_pumch)

    response = follow_up(client, event, grade="5", outcome="fatal", serious_criteria=["death"])
    run_queued_jobs()

    assert response.status_code == 302, response.context["form"].errors
    event.refresh_from_db()
    assert event.serious and event.serious_criteria == ["death"]
    assert len(mail.outbox) == 2
    assert "Results in death" in mail.outbox[0].body
    assert SeriousAeAlert.objects.get().adverse_event == event

    # A later follow-up adding a criterion, and a correction of the first: no second alert.
    response = follow_up(client, event, serious_criteria=["hospitalisation"])
    assert run_queued_jobs() == 0
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.serious_criteria == ["death", "hospitalisation"]
    assert len(mail.outbox) == 2 and SeriousAeAlert.objects.count() == 1
    html = client.get(event.get_absolute_url()).content.decode()
    assert "data-update-serious" in html


def test_a_follow_up_without_a_grade_or_outcome_change_needs_no_reconciling(
    client_for, coordinator_pumch, participant
):
    event = record_ae(participant, coordinator_pumch)
    response = follow_up(client_for(coordinator_pumch), event, notes="Seen in clinic")
    assert response.status_code == 302
    assert AdverseEventUpdate.objects.get().notes == "Seen in clinic"


def test_a_follow_up_to_grade_3_is_the_worst_grade_everywhere(
    client_for, coordinator_pumch, investigator_pumch, data_manager, participant, staff
):
    from tests.test_exports import NS, parse_odm, read_bundle, run_export

    event = record_ae(
        participant, coordinator_pumch, grade="2", serious="False", serious_criteria=[]
    )
    client = client_for(coordinator_pumch)
    response = follow_up(
        client, event, grade="3", outcome="recovering", serious_criteria=["hospitalisation"]
    )
    assert response.status_code == 302, response.context["form"].errors
    event.refresh_from_db()
    assert (event.grade, event.worst_grade, event.current_grade) == (2, 3, 3)

    worst = 'data-worst-grade="3"'
    ae_list = reverse("crf:ae_list", args=[participant.subject_id])
    assert worst in client.get(ae_list).content.decode()
    assert worst in client.get(event.get_absolute_url()).content.decode()
    dashboard = client_for(investigator_pumch).get(reverse("dashboard")).content.decode()
    assert f'data-alert="{SeriousAeAlert.objects.get().pk}"' in dashboard and worst in dashboard

    [row] = read_bundle(run_export(data_manager))["crf_adverseevent.csv"]
    assert (row["grade"], row["worst_grade"], row["current_grade"]) == ("2", "3", "3")
    document = parse_odm(run_export(data_manager, kind="odm"))
    values = document.xpath(
        "//odm:ItemData[@ItemOID='I.CRF_ADVERSEEVENT.WORST_GRADE']/@Value", namespaces=NS
    )
    assert values == ["3"]
