"""New consent/assent form versions: registered by data managers, participants flagged for
re-consent, the flag cleared by re-consent recorded on the consent form."""

from __future__ import annotations

from datetime import date, timedelta

import pghistory.models
import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment.models import ConsentFormVersion, ConsentKind
from enrollment.rules import ParticipantStatus
from enrollment.selectors import reconsent_needed
from tests.factories.enrollment import ConsentFactory, ParticipantFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DAY_0 = TODAY - timedelta(days=60)


@pytest.fixture
def participant(site_pumch, coordinator_pumch, investigator_pumch):
    return ParticipantFactory(
        site=site_pumch,
        coordinator=coordinator_pumch,
        investigator=investigator_pumch,
        planned_day_0=DAY_0,
    )


def register(client, **fields):
    data = {
        "kind": "consent",
        "version": "2.0",
        "effective_from": (TODAY - timedelta(days=3)).isoformat(),
        "requires_reconsent": "on",
        **fields,
    }
    return client.post(reverse("enrollment:consent_forms"), data, follow=True)


def listed(client, **filters) -> list[str]:
    page = client.get(reverse("enrollment:list"), filters).context["page"]
    return [p.subject_id for p in page]


def awaiting_on_dashboard(client) -> int:
    return client.get(reverse("dashboard")).context["enrolment"]["awaiting_reconsent"]


def test_registering_a_version_flags_the_participant_until_re_consent_is_recorded(
    client, data_manager, coordinator_pumch, participant
):
    client.force_login(data_manager)
    response = register(client)
    assert "1 participant is flagged for re-consent" in response.content.decode()
    version = ConsentFormVersion.objects.get(version="2.0")
    assert version.registered_by == data_manager

    client.force_login(coordinator_pumch)
    detail = client.get(reverse("participant_detail", args=[participant.subject_id]))
    assert detail.context["reconsent"] == [str(version)]
    assert "Re-consent needed on" in detail.content.decode()
    assert listed(client, reconsent="on") == [participant.subject_id]
    assert awaiting_on_dashboard(client) == 1

    response = client.post(
        reverse("enrollment:consent_add", args=[participant.screening.number]),
        {
            "kind": "consent",
            "form_version": version.pk,
            "signed_on": TODAY.isoformat(),
            "guardian_relationship": "father",
            "obtained_by": coordinator_pumch.pk,
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse(
        "participant_detail", args=[participant.subject_id]
    )
    assert response.context["reconsent"] == []
    assert "Re-consent needed on" not in response.content.decode()
    assert listed(client, reconsent="on") == []
    assert awaiting_on_dashboard(client) == 0


def test_the_registration_is_in_the_audit_trail_with_who_and_why(client, data_manager):
    client.force_login(data_manager)
    register(client)
    version = ConsentFormVersion.objects.get(version="2.0")
    event = pghistory.models.Events.objects.tracks(version).get()
    assert event.pgh_label == "insert"
    assert event.pgh_context["username"] == data_manager.username
    assert event.pgh_context["reason"] == "new consent form version registered"


def test_only_enrolled_still_active_participants_are_flagged(
    client, data_manager, site_pumch, coordinator_pumch, investigator_pumch, participant
):
    withdrawn = ParticipantFactory(
        site=site_pumch,
        coordinator=coordinator_pumch,
        investigator=investigator_pumch,
        planned_day_0=DAY_0,
        withdrawn_on=DAY_0,
    )
    assert withdrawn.status == ParticipantStatus.WITHDRAWN
    client.force_login(data_manager)
    response = register(client)
    assert "1 participant is flagged" in response.content.decode()
    assert listed(client, reconsent="on") == [participant.subject_id]
    assert reconsent_needed(withdrawn, today=TODAY) == []


def test_a_version_that_needs_no_re_consent_flags_nobody(client, data_manager, participant):
    client.force_login(data_manager)
    response = register(client, requires_reconsent="")
    assert "0 participants are flagged" in response.content.decode()
    assert reconsent_needed(participant, today=TODAY) == []
    assert listed(client, reconsent="on") == []


def test_consent_on_a_later_version_also_clears_the_flag(
    client, data_manager, coordinator_pumch, participant
):
    client.force_login(data_manager)
    register(client, version="2.0", effective_from=(TODAY - timedelta(days=10)).isoformat())
    register(
        client,
        version="2.1",
        effective_from=(TODAY - timedelta(days=2)).isoformat(),
        requires_reconsent="",
    )
    assert reconsent_needed(participant, today=TODAY) == ["Guardian informed consent 2.0"]
    ConsentFactory(
        screening=participant.screening,
        form_version=ConsentFormVersion.objects.get(version="2.1"),
        signed_on=TODAY,
        obtained_by=coordinator_pumch,
    )
    assert reconsent_needed(participant, today=TODAY) == []


def test_a_new_assent_version_flags_only_children_old_enough_to_assent(
    client, data_manager, site_pumch, coordinator_pumch, investigator_pumch
):
    def child(born: date):
        return ParticipantFactory(
            site=site_pumch,
            coordinator=coordinator_pumch,
            investigator=investigator_pumch,
            planned_day_0=DAY_0,
            date_of_birth=born,
        )

    older = child(date(TODAY.year - 12, 1, 15))
    too_young = child(TODAY - timedelta(days=365 * 7))  # 6 today
    client.force_login(data_manager)
    response = register(client, kind="assent", version="3.0")
    assert "1 participant is flagged" in response.content.decode()
    assert reconsent_needed(older, today=TODAY) == ["Child assent 3.0"]
    assert reconsent_needed(too_young, today=TODAY) == []


def test_a_version_must_be_newer_and_unique(client, data_manager, participant):
    client.force_login(data_manager)
    register(client, version="2.0")
    same = register(client, version="2.0", effective_from=TODAY.isoformat())
    assert same.context["form"].errors
    older = register(client, version="1.5", effective_from="2025-01-01")
    assert "effective_from" in older.context["form"].errors
    assert "must come into use after version 2.0" in older.content.decode()
    assert sorted(
        ConsentFormVersion.objects.filter(kind=ConsentKind.GUARDIAN_CONSENT).values_list(
            "version", flat=True
        )
    ) == ["1.0", "2.0"]


@pytest.mark.parametrize("persona", ["coordinator_pumch", "investigator_pumch", "monitor_pumch"])
def test_only_data_managers_register_versions(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("enrollment:consent_forms")).status_code == 403
    assert register(client).status_code == 403
    assert not ConsentFormVersion.objects.filter(version="2.0").exists()


def test_the_data_manager_finds_the_page_in_the_navigation(client, data_manager, coordinator_pumch):
    client.force_login(data_manager)
    assert reverse("enrollment:consent_forms") in client.get(reverse("dashboard")).content.decode()
    client.force_login(coordinator_pumch)
    page = client.get(reverse("dashboard")).content.decode()
    assert reverse("enrollment:consent_forms") not in page
