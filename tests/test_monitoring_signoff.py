"""Investigator sign-off of a visit and of the casebook: the reusable e-signature, bound to a
hash of every value signed; refused while queries are open or forms are missing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from crf.models import Vitals
from enrollment.rules import DiscontinuationReason, ParticipantStatus
from enrollment.services import participant_transition
from monitoring import services
from monitoring.models import Signoff, SignoffKind
from tests.factories.crf import make_visit, save_vitals, today
from tests.factories.monitoring import complete_visit, enrolled, raise_query, sign_visit
from tests.factories.trialsite import PASSWORD
from trialsite import signatures
from trialsite.models import Signature, SignatureMeaning

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(site_pumch, coordinator_pumch, investigator_pumch):
    return enrolled(site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch)


@pytest.fixture
def visit(participant, coordinator_pumch):
    return complete_visit(participant, coordinator_pumch)


def test_the_investigator_signs_a_complete_visit_with_name_time_and_meaning(
    visit, investigator_pumch
):
    signature = sign_visit(visit, investigator_pumch)

    assert signature.meaning == SignatureMeaning.VISIT
    assert signature.printed_name == "Ivan Chen"
    assert signature.signed_object == Signoff.objects.get(kind=SignoffKind.VISIT, visit=visit)
    assert signatures.valid_signature(signature.signed_object, SignatureMeaning.VISIT) == signature


def test_signing_is_refused_while_a_query_is_open_on_that_data(
    visit, investigator_pumch, monitor_pumch
):
    query = raise_query(Vitals.objects.get(visit=visit), monitor_pumch, "weight_kg")

    with pytest.raises(ValidationError) as refused:
        sign_visit(visit, investigator_pumch)

    assert "1 query is still open" in " ".join(refused.value.messages)
    assert not Signature.objects.filter(meaning=SignatureMeaning.VISIT).exists()
    services.query_close(query=query, user=monitor_pumch)
    assert sign_visit(visit, investigator_pumch).meaning == SignatureMeaning.VISIT


def test_an_answered_query_still_blocks_signing(
    visit, investigator_pumch, monitor_pumch, coordinator_pumch
):
    query = raise_query(Vitals.objects.get(visit=visit), monitor_pumch, "weight_kg")
    services.query_answer(query=query, user=coordinator_pumch, response="40 kg is right.")

    with pytest.raises(ValidationError):
        sign_visit(visit, investigator_pumch)


def test_signing_is_refused_while_required_forms_are_missing(
    participant, coordinator_pumch, investigator_pumch
):
    visit = make_visit(participant, "BASELINE", user=coordinator_pumch)
    save_vitals(visit, coordinator_pumch)

    with pytest.raises(ValidationError) as refused:
        sign_visit(visit, investigator_pumch)

    assert "Required forms are missing: ESSDAI" in " ".join(refused.value.messages)
    assert not Signature.objects.filter(meaning=SignatureMeaning.VISIT).exists()


def test_the_signature_hash_detects_a_change_made_by_raw_sql(visit, investigator_pumch):
    signature = sign_visit(visit, investigator_pumch)

    with connection.cursor() as cursor:
        cursor.execute("UPDATE crf_vitals SET weight_kg = 44.0 WHERE visit_id = %s", [visit.pk])

    [state] = signatures.signature_states(signature.signed_object)
    assert not state.valid
    assert state.reason == "The data changed after it was signed."


def test_a_later_change_through_the_app_voids_the_signature_visibly(
    client_for, visit, investigator_pumch, coordinator_pumch
):
    signature = sign_visit(visit, investigator_pumch)
    vitals = Vitals.objects.get(visit=visit)

    client_for(coordinator_pumch).post(
        reverse("crf:visit_form", args=[visit.pk, "vitals"]),
        {
            "weight_kg": "42.0",
            "height_cm": "150.0",
            "temperature_c": "36.8",
            "heart_rate_bpm": "90",
            "systolic_mmhg": "105",
            "diastolic_mmhg": "65",
            "version": vitals.version,
            "reason_for_change": "scale recalibrated",
        },
    )

    signature.refresh_from_db()
    assert signature.voided_at is not None
    assert "The data changed after it was signed" in signature.void_reason
    page = client_for(investigator_pumch).get(reverse("monitoring:visit", args=[visit.pk]))
    html = page.content.decode()
    assert 'data-signature="void"' in html and "VOID:" in html


def test_a_wrong_password_signs_nothing(visit, investigator_pumch):
    with pytest.raises(ValidationError):
        services.visit_sign(visit=visit, user=investigator_pumch, password="wrong-password")
    assert not Signature.objects.filter(meaning=SignatureMeaning.VISIT).exists()


def test_the_investigator_signs_a_visit_through_the_page(client_for, visit, investigator_pumch):
    response = client_for(investigator_pumch).post(
        reverse("monitoring:sign_visit", args=[visit.pk]), {"password": PASSWORD}
    )

    assert response.status_code == 302
    assert Signature.objects.filter(meaning=SignatureMeaning.VISIT).count() == 1


def test_a_coordinator_cannot_sign(client_for, visit, coordinator_pumch):
    response = client_for(coordinator_pumch).post(
        reverse("monitoring:sign_visit", args=[visit.pk]), {"password": PASSWORD}
    )
    assert response.status_code == 403


def test_the_casebook_is_signed_only_at_study_end(
    participant, visit, investigator_pumch, coordinator_pumch
):
    with pytest.raises(ValidationError) as refused:
        services.casebook_sign(participant=participant, user=investigator_pumch, password=PASSWORD)
    assert "signed at study end" in " ".join(refused.value.messages)

    participant_transition(
        participant=participant,
        to_status=ParticipantStatus.DISCONTINUED,
        user=investigator_pumch,
        on=today(),
        reason="investigator decision",
        discontinuation_reason=DiscontinuationReason.INVESTIGATOR_DECISION,
    )
    signature = services.casebook_sign(
        participant=participant, user=investigator_pumch, password=PASSWORD
    )

    assert signature.meaning == SignatureMeaning.CASEBOOK
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE dosing_labresult SET value_entered = 99 WHERE participant_id = %s "
            "AND analyte = 'esr'",
            [participant.pk],
        )
    [state] = signatures.signature_states(signature.signed_object)
    assert not state.valid
