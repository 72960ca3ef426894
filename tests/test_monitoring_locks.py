"""Locks: locked data is read-only for everyone, through any path; unlocking needs a reason
and voids the signatures over the data."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from crf.models import AdverseEvent, Vitals
from monitoring import services
from monitoring.models import Lock, LockScope
from tests.factories.crf import lab_data, record_ae
from tests.factories.monitoring import complete_visit, enrolled, lab, sign_visit
from trialsite import signatures
from trialsite.models import SignatureMeaning

pytestmark = pytest.mark.django_db

VITALS = {
    "weight_kg": "41.0",
    "height_cm": "150.0",
    "temperature_c": "36.8",
    "heart_rate_bpm": "90",
    "respiratory_rate": "",
    "systolic_mmhg": "105",
    "diastolic_mmhg": "65",
    "reason_for_change": "re-weighed",
}


@pytest.fixture
def participant(site_pumch, coordinator_pumch, investigator_pumch):
    return enrolled(site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch)


@pytest.fixture
def visit(participant, coordinator_pumch):
    return complete_visit(participant, coordinator_pumch)


def vitals_url(visit) -> str:
    return reverse("crf:visit_form", args=[visit.pk, "vitals"])


def test_editing_a_locked_form_is_refused_and_nothing_changes(
    client_for, coordinator_pumch, data_manager, visit
):
    vitals = Vitals.objects.get(visit=visit)
    services.lock_create(
        user=data_manager, participant=visit.participant, scope=LockScope.FORM, record=vitals
    )
    client = client_for(coordinator_pumch)

    form_page = client.get(vitals_url(visit))
    crafted = client.post(vitals_url(visit), {**VITALS, "version": vitals.version})

    assert 'disabled id="id_weight_kg"' in form_page.content.decode()
    assert crafted.status_code == 403
    stored = Vitals.objects.get(pk=vitals.pk)
    assert (stored.weight_kg, stored.version) == (Decimal("40.0"), vitals.version)


def test_a_locked_visit_refuses_its_edit_pages_and_a_crafted_post_for_everyone(
    client_for, coordinator_pumch, investigator_pumch, data_manager, visit
):
    services.lock_create(
        user=data_manager, participant=visit.participant, scope=LockScope.VISIT, visit=visit
    )
    igg = lab(visit)
    labs_url = reverse("crf:visit_labs", args=[visit.pk])
    data = {**lab_data(visit, igg="3.0"), "reason_for_change": "typo"}

    for user in (coordinator_pumch, investigator_pumch):
        client = client_for(user)
        assert client.get(labs_url).status_code == 403
        assert client.post(labs_url, data).status_code == 403
        assert client.post(vitals_url(visit), VITALS).status_code == 403

    assert lab(visit).value_entered == igg.value_entered == Decimal("12")
    assert lab(visit).version == igg.version


def test_a_locked_participant_refuses_new_data_even_through_a_service(
    coordinator_pumch, data_manager, participant
):
    services.lock_create(user=data_manager, participant=participant, scope=LockScope.PARTICIPANT)

    with pytest.raises(PermissionDenied):
        record_ae(participant, coordinator_pumch)

    assert not AdverseEvent.objects.exists()


def test_after_unlocking_the_form_can_be_changed_again(
    client_for, coordinator_pumch, data_manager, visit
):
    lock = services.lock_create(
        user=data_manager, participant=visit.participant, scope=LockScope.VISIT, visit=visit
    )
    services.lock_release(lock=lock, user=data_manager, reason="late lab correction")
    vitals = Vitals.objects.get(visit=visit)

    response = client_for(coordinator_pumch).post(
        vitals_url(visit), {**VITALS, "version": vitals.version}
    )

    assert response.status_code == 302
    assert Vitals.objects.get(pk=vitals.pk).weight_kg == Decimal("41.0")


def test_unlocking_voids_the_signature_over_that_data(
    client_for, investigator_pumch, data_manager, visit
):
    sign_visit(visit, investigator_pumch)
    lock = services.lock_create(
        user=data_manager, participant=visit.participant, scope=LockScope.VISIT, visit=visit
    )

    response = client_for(data_manager).post(
        reverse("monitoring:unlock", args=[lock.pk]), {"reason": "correct the ESR"}
    )

    assert response.status_code == 302
    lock.refresh_from_db()
    assert lock.unlocked_by == data_manager and lock.unlock_reason == "correct the ESR"
    from monitoring.models import Signoff

    signoff = Signoff.objects.get(visit=visit)
    [state] = signatures.signature_states(signoff)
    assert not state.valid
    assert "correct the ESR" in state.reason
    assert signatures.valid_signature(signoff, SignatureMeaning.VISIT) is None
    review = client_for(data_manager).get(reverse("monitoring:visit", args=[visit.pk]))
    assert 'data-signature="void"' in review.content.decode()


def test_unlocking_needs_a_reason(data_manager, visit):
    lock = services.lock_create(
        user=data_manager, participant=visit.participant, scope=LockScope.VISIT, visit=visit
    )
    with pytest.raises(ValidationError):
        services.lock_release(lock=lock, user=data_manager, reason="  ")
    lock.refresh_from_db()
    assert lock.is_active


def test_a_monitor_cannot_lock(client_for, monitor_pumch, visit):
    response = client_for(monitor_pumch).post(reverse("monitoring:lock_visit", args=[visit.pk]))

    assert response.status_code == 403
    assert not Lock.objects.exists()


def test_a_coordinator_cannot_unlock(client_for, coordinator_pumch, data_manager, visit):
    lock = services.lock_create(
        user=data_manager, participant=visit.participant, scope=LockScope.VISIT, visit=visit
    )

    response = client_for(coordinator_pumch).post(
        reverse("monitoring:unlock", args=[lock.pk]), {"reason": "please"}
    )

    assert response.status_code == 403
    lock.refresh_from_db()
    assert lock.is_active


def test_the_same_data_cannot_be_locked_twice(data_manager, visit):
    services.lock_create(
        user=data_manager, participant=visit.participant, scope=LockScope.VISIT, visit=visit
    )
    with pytest.raises(ValidationError) as refused:
        services.lock_create(
            user=data_manager, participant=visit.participant, scope=LockScope.VISIT, visit=visit
        )
    assert refused.value.code == "already_locked"


def test_a_data_manager_locks_a_visit_through_the_page(client_for, data_manager, visit):
    response = client_for(data_manager).post(
        reverse("monitoring:lock_visit", args=[visit.pk]), {"reason": "visit cleaned"}
    )

    assert response.status_code == 302
    lock = Lock.objects.get()
    assert (lock.scope, lock.visit, lock.reason) == (LockScope.VISIT, visit, "visit cleaned")
