"""Participant pages: consent, enrolment, list, status, withdrawal, access."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from demo.participants import consent_versions
from enrollment import services
from enrollment.models import Consent, Participant
from tests.factories.eligibility import EligibleScreeningFactory
from tests.factories.enrollment import ConsentFactory, ParticipantFactory, make_ready_screening

pytestmark = pytest.mark.django_db


def test_a_coordinator_records_guardian_consent(client_for, coordinator_pumch, site_pumch):
    screening = EligibleScreeningFactory(site=site_pumch, user=coordinator_pumch)
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
    screening = EligibleScreeningFactory(site=site_pumch, user=coordinator_pumch)
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
    screening = EligibleScreeningFactory(site=site_pumch, user=coordinator_pumch)
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
    assert response.redirect_chain[-1][0] == reverse("participant_detail", args=["PUMCH-001"])
    assert 'data-subject-id="PUMCH-001"' in response.content.decode()


def test_a_refused_enrolment_shows_the_reason_on_the_form(
    client_for, coordinator_pumch, site_pumch
):
    screening = EligibleScreeningFactory(site=site_pumch, user=coordinator_pumch)
    response = client_for(coordinator_pumch).post(
        reverse("enrollment:enrol", args=[screening.number]), {"enrolled_on": "2026-11-13"}
    )
    assert response.status_code == 200
    assert "No investigator has signed" in response.content.decode()
    assert not Participant.objects.exists()


def test_the_participant_list_filters_and_searches(
    client_for, coordinator_pumch, investigator_pumch, site_pumch
):
    first = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    ParticipantFactory(
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
    participant = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    client = client_for(coordinator_chcmu)
    assert (
        client.get(reverse("participant_detail", args=[participant.subject_id])).status_code == 404
    )
    assert list(client.get(reverse("enrollment:list")).context["page"]) == []
    assert (
        client.post(reverse("enrollment:withdraw", args=[participant.subject_id])).status_code
        == 404
    )


def test_a_monitor_cannot_change_status(
    client_for, coordinator_pumch, investigator_pumch, monitor_pumch, site_pumch
):
    participant = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    client = client_for(monitor_pumch)
    assert (
        client.get(reverse("participant_detail", args=[participant.subject_id])).status_code == 200
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
    participant = ParticipantFactory(
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
    participant = ParticipantFactory(
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


# --- after withdrawal: nothing but safety follow-up --------------------------------------


def consent_post(coordinator, version, signed_on="2026-11-15") -> dict:
    return {
        "kind": "consent",
        "form_version": version.pk,
        "signed_on": signed_on,
        "guardian_relationship": "mother",
        "obtained_by": coordinator.pk,
    }


def test_no_consent_can_be_added_for_a_withdrawn_participant(
    client_for, coordinator_pumch, investigator_pumch, site_pumch
):
    participant = ParticipantFactory(
        site=site_pumch,
        coordinator=coordinator_pumch,
        investigator=investigator_pumch,
        withdrawn_on=date(2026, 11, 14),
    )
    before = Consent.objects.count()
    consent, _assent = consent_versions()
    client = client_for(coordinator_pumch)
    url = reverse("enrollment:consent_add", args=[participant.screening.number])

    page = client.get(url, follow=True)
    assert page.redirect_chain[-1][0] == reverse(
        "participant_detail", args=[participant.subject_id]
    )
    assert "only safety follow-up" in page.content.decode()
    response = client.post(url, consent_post(coordinator_pumch, consent), follow=True)
    assert "only safety follow-up" in response.content.decode()
    assert Consent.objects.count() == before


def test_the_consent_service_itself_refuses_after_withdrawal(
    coordinator_pumch, investigator_pumch, site_pumch
):
    participant = ParticipantFactory(
        site=site_pumch,
        coordinator=coordinator_pumch,
        investigator=investigator_pumch,
        withdrawn_on=date(2026, 11, 14),
    )
    before = Consent.objects.count()
    with pytest.raises(ValidationError, match="only safety follow-up"):
        ConsentFactory(
            screening=participant.screening,
            signed_on=date(2026, 11, 15),
            obtained_by=coordinator_pumch,
        )
    assert Consent.objects.count() == before


def test_re_consent_of_an_active_participant_returns_to_the_participant_page(
    client_for, coordinator_pumch, investigator_pumch, site_pumch
):
    participant = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    consent, _assent = consent_versions()
    response = client_for(coordinator_pumch).post(
        reverse("enrollment:consent_add", args=[participant.screening.number]),
        consent_post(coordinator_pumch, consent),
    )
    assert response["Location"] == reverse("participant_detail", args=[participant.subject_id])
    assert participant.screening.consents.filter(signed_on=date(2026, 11, 15)).exists()


def test_a_withdrawal_dated_before_enrolment_is_a_form_error(
    client_for, coordinator_pumch, investigator_pumch, site_pumch
):
    participant = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    day_before = participant.enrolled_on - timedelta(days=1)
    response = client_for(coordinator_pumch).post(
        reverse("enrollment:withdraw", args=[participant.subject_id]),
        {"withdrawn_on": day_before.isoformat(), "data_may_be_kept": "yes", "notes": ""},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["withdrawn_on"]
    assert errors == [
        f"The withdrawal cannot be dated before the enrolment date ({participant.enrolled_on})."
    ]
    participant.refresh_from_db()
    assert participant.status == "enrolled"
    assert not hasattr(participant, "withdrawal")


def test_a_withdrawal_on_the_enrolment_day_is_accepted(
    client_for, coordinator_pumch, investigator_pumch, site_pumch
):
    participant = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    response = client_for(coordinator_pumch).post(
        reverse("enrollment:withdraw", args=[participant.subject_id]),
        {"withdrawn_on": participant.enrolled_on.isoformat(), "data_may_be_kept": "no"},
    )
    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.status == "withdrawn"


def test_the_withdrawal_service_refuses_a_date_before_enrolment(
    coordinator_pumch, investigator_pumch, site_pumch
):
    participant = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    with pytest.raises(ValidationError, match="before the enrolment date"):
        services.withdraw_consent(
            participant=participant,
            user=coordinator_pumch,
            withdrawn_on=participant.enrolled_on - timedelta(days=1),
            data_may_be_kept=True,
        )
    assert Participant.objects.get(pk=participant.pk).status == "enrolled"


# --- the site filter ----------------------------------------------------------------------


@pytest.fixture
def two_sites(
    site_pumch,
    site_chcmu,
    coordinator_pumch,
    investigator_pumch,
    coordinator_chcmu,
    investigator_chcmu,
):
    pumch = ParticipantFactory(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    chcmu = ParticipantFactory(
        site=site_chcmu, coordinator=coordinator_chcmu, investigator=investigator_chcmu
    )
    return pumch, chcmu


def subject_ids(response) -> list[str]:
    return [p.subject_id for p in response.context["page"]]


def test_a_data_manager_sees_every_site_and_can_narrow_to_one(client_for, data_manager, two_sites):
    pumch, chcmu = two_sites
    client = client_for(data_manager)
    everyone = client.get(reverse("enrollment:list"))
    assert sorted(subject_ids(everyone)) == sorted([pumch.subject_id, chcmu.subject_id])
    offered = [site.code for site in everyone.context["filters"].fields["site"].queryset]
    assert offered == ["CHCMU", "PUMCH"]
    one = client.get(reverse("enrollment:list"), {"site": "CHCMU"})
    assert subject_ids(one) == [chcmu.subject_id]


def test_a_coordinator_is_offered_only_their_own_sites(client_for, coordinator_pumch, two_sites):
    pumch, _chcmu = two_sites
    client = client_for(coordinator_pumch)
    response = client.get(reverse("enrollment:list"))
    offered = [site.code for site in response.context["filters"].fields["site"].queryset]
    assert offered == ["PUMCH"]
    asked_for_other = client.get(reverse("enrollment:list"), {"site": "CHCMU"})
    assert subject_ids(asked_for_other) == [pumch.subject_id]
    assert "site" in asked_for_other.context["filters"].errors
