"""E-signatures hold over the data as stored: valid after signing and after any reload, void
after any change, even one made by raw SQL (21 CFR 11.70: signatures bound to their records)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from demo import seed as demo
from dosing import services
from dosing.models import Drug, Prescription
from tests.factories.crf import today
from tests.factories.dosing import Course, make_course
from tests.factories.trialsite import PASSWORD
from trialsite import signatures
from trialsite.models import Signature, SignatureMeaning

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(site_pumch, coordinator_pumch, investigator_pumch) -> Course:
    return make_course(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    ).day_0()


def prescribe_as_typed(course: Course) -> Prescription:
    """A prescription with the values as a form gives them: "41", not the stored 41.0."""
    weight, height = Decimal("41"), Decimal("140")
    proposal = services.propose_dose(Drug.RITUXIMAB, weight_kg=weight, height_cm=height)
    return services.prescription_create(
        participant=course.participant,
        user=course.investigator,
        password=PASSWORD,
        drug=Drug.RITUXIMAB,
        planned_on=course.day(0),
        weight_kg=weight,
        height_cm=height,
        anthropometry_measured_on=course.day(0),
        prescribed_dose_mg=proposal.dose_mg.normalize(),
        today=course.day(0),
    )


def test_decimals_typed_and_stored_hash_the_same():
    typed = {"weight_kg": Decimal("41"), "on": date(2026, 3, 2), "voided": False}
    stored = {"weight_kg": Decimal("41.0"), "on": date(2026, 3, 2), "voided": False}

    assert signatures.payload_hash(typed) == signatures.payload_hash(stored)
    assert signatures.payload_hash(typed) != signatures.payload_hash({**stored, "voided": True})
    assert signatures.canonical(Decimal("1.00E+3")) == "1000"


def test_a_prescription_signature_is_valid_after_signing_and_after_a_reload(course):
    prescription = prescribe_as_typed(course)
    reloaded = Prescription.objects.get(pk=prescription.pk)

    assert reloaded.weight_kg == Decimal("41.0")
    [state] = signatures.signature_states(reloaded)
    assert state.valid, state.reason
    [unsaved_state] = signatures.signature_states(prescription)
    assert unsaved_state.valid
    assert signatures.valid_signature(reloaded, SignatureMeaning.PRESCRIPTION) is not None
    assert signatures.latest_valid_signatures(Prescription, [prescription.pk]).keys() == {
        prescription.pk
    }


def test_a_raw_sql_change_of_a_signed_prescription_voids_its_signature(course):
    prescription = prescribe_as_typed(course)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE dosing_prescription SET prescribed_dose_mg = prescribed_dose_mg + 100 "
            "WHERE id = %s",
            [prescription.pk],
        )

    # The object in memory still holds the old dose: verification reads the database.
    [state] = signatures.signature_states(prescription)
    assert not state.valid
    assert state.reason == "The data changed after it was signed."
    assert signatures.latest_valid_signatures(Prescription, [prescription.pk]) == {}


def test_voiding_a_prescription_voids_its_signature(course, investigator_pumch):
    prescription = prescribe_as_typed(course)

    services.prescription_void(
        prescription=prescription, user=investigator_pumch, reason="dose not given"
    )

    [state] = signatures.signature_states(prescription)
    assert not state.valid
    assert state.signature.voided_at is not None


def test_every_signature_of_the_demo_trial_is_valid_after_a_reload(figure):
    demo.seed_sites_and_users()
    demo.seed_trial_data(today())

    by_meaning: dict[str, int] = {}
    void = []
    for signature in Signature.objects.select_related("content_type"):
        signed = signature.content_type.model_class()._base_manager.get(pk=signature.object_id)
        state = next(
            s for s in signatures.signature_states(signed) if s.signature.pk == signature.pk
        )
        by_meaning[signature.meaning] = by_meaning.get(signature.meaning, 0) + 1
        if not state.valid and signature.voided_at is None:
            void.append((signature.meaning, signature.object_id, state.reason))

    assert void == []
    assert by_meaning.get(SignatureMeaning.PRESCRIPTION, 0) > 10
    assert by_meaning.get(SignatureMeaning.ELIGIBILITY, 0) > 5
    figure(
        "e-signatures (demo trial)",
        f"{sum(by_meaning.values())} signatures reloaded from the database "
        f"({by_meaning.get(SignatureMeaning.PRESCRIPTION)} prescriptions): "
        "every one not voided still matches its data",
    )
