"""Participant pages: consent, enrolment, list, status, withdrawal, access."""

from __future__ import annotations

import pytest
from django.urls import reverse

from enrollment.demo import consent_versions
from enrollment.models import Consent, Participant
from tests.factories.eligibility import make_eligible_screening
from tests.factories.enrollment import make_participant, make_ready_screening

pytestmark = pytest.mark.django_db


def test_a_coordinator_records_guardian_consent(client_for, coordinator_pumch, site_pumch):
    screening = make_eligible_screening(site=site_pumch, user=coordinator_pumch)
    consent, _assent = consent_versions()
    response = client_for(coordinator_pumch).post(
        reverse("enrollment:consent_add", args=[screening.number]),
        {
            "kind": "consent",
            "form_version": consent.pk,
            "signed_on": "2026-11-02",
            "guardian_relationship": "mother",
            "obtained_by": coordinator_pumch.pk,
        },
    )
    assert response.status_code == 302
    assert Consent.objects.get().screening == screening


def test_guardian_consent_needs_the_relationship_and_assent_must_not_have_one(
    client_for, coordinator_pumch, site_pumch
):
    screening = make_eligible_screening(site=site_pumch, user=coordinator_pumch)
    consent, assent = consent_versions()
    client = client_for(coordinator_pumch)
    url = reverse("enrollment:consent_add", args=[screening.number])
    base = {"signed_on": "2026-11-02", "obtained_by": coordinator_pumch.pk}
    response = client.post(url, {**base, "kind": "consent", "form_version": consent.pk})
    assert "guardian_relationship" in response.context["form"].errors
    response = client.post(
        url,
        {**base, "kind": "assent", "form_version": assent.pk, "guardian_relationship": "mother"},
    )
    assert "guardian_relationship" in response.context["form"].errors
    response = client.post(url, {**base, "kind": "assent", "form_version": consent.pk})
    assert "form_version" in response.context["form"].errors
    assert not Consent.objects.exists()


def test_the_enrol_page_lists_what_is_missing(client_for, coordinator_pumch, site_pumch):
    screening = make_eligible_screening(site=site_pumch, user=coordinator_pumch)
    response = client_for(coordinator_pumch).get(
        reverse("enrollment:enrol", args=[screening.number])
    )
    blockers = " ".join(response.context["blockers"])
    assert "No investigator has signed" in blockers
    assert "No guardian informed consent" in blockers


def test_enrolling_lands_on_the_participant_page(
    client_for, coordinator_pumch, investigator_pumch, site_pumch
):
    screening = make_ready_screening(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    client = client_for(coordinator_pumch)
    response = client.post(
        reverse("enrollment:enrol", args=[screening.number]),
        {"enrolled_on": "2026-11-13"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("enrollment:detail", args=["PUMCH-001"])
    assert 'data-subject-id="PUMCH-001"' in response.content.decode()


def test_a_refused_enrolment_shows_the_reason_on_the_form(
    client_for, coordinator_pumch, site_pumch
):
    screening = make_eligible_screening(site=site_pumch, user=coordinator_pumch)
    response = client_for(coordinator_pumch).post(
        reverse("enrollment:enrol", args=[screening.number]), {"enrolled_on": "2026-11-13"}
    )
    assert response.status_code == 200
    assert "No investigator has signed" in response.content.decode()
    assert not Participant.objects.exists()


def test_the_participant_list_filters_and_searches(
    client_for, coordinator_pumch, investigator_pumch, site_pumch
):
    first = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    client = client_for(coordinator_pumch)
    found = client.get(reverse("enrollment:list"), {"q": "001"}).context["page"]
    assert [p.subject_id for p in found] == [first.subject_id]
    none = client.get(reverse("enrollment:list"), {"status": "completed"}).context["page"]
    assert list(none) == []


def test_other_sites_participants_are_invisible(
    client_for, coordinator_pumch, investigator_pumch, coordinator_chcmu, site_pumch
):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    client = client_for(coordinator_chcmu)
    assert (
        client.get(reverse("enrollment:detail", args=[participant.subject_id])).status_code == 404
    )
    assert list(client.get(reverse("enrollment:list")).context["page"]) == []
    assert (
        client.post(reverse("enrollment:withdraw", args=[participant.subject_id])).status_code
        == 404
    )


def test_a_monitor_cannot_change_status(
    client_for, coordinator_pumch, investigator_pumch, monitor_pumch, site_pumch
):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    client = client_for(monitor_pumch)
    assert (
        client.get(reverse("enrollment:detail", args=[participant.subject_id])).status_code == 200
    )
    response = client.post(
        reverse("enrollment:status", args=[participant.subject_id]),
        {
            "to_status": "discontinued",
            "changed_on": "2026-11-14",
            "reason": "x",
            "discontinuation_reason": "other",
        },
    )
    assert response.status_code == 403
    assert Participant.objects.get().status == "enrolled"


def test_withdrawal_through_the_form(client_for, coordinator_pumch, investigator_pumch, site_pumch):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    response = client_for(coordinator_pumch).post(
        reverse("enrollment:withdraw", args=[participant.subject_id]),
        {"withdrawn_on": "2026-11-14", "data_may_be_kept": "yes", "notes": ""},
    )
    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.status == "withdrawn"
    assert participant.withdrawal.data_may_be_kept is True


def test_an_illegal_status_is_not_even_offered(
    client_for, coordinator_pumch, investigator_pumch, site_pumch
):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    client = client_for(coordinator_pumch)
    response = client.post(
        reverse("enrollment:status", args=[participant.subject_id]),
        {"to_status": "completed", "changed_on": "2026-11-14", "reason": "done"},
    )
    assert response.status_code == 200
    assert "to_status" in response.context["form"].errors
    assert Participant.objects.get().status == "enrolled"
