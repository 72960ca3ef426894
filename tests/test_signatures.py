"""E-signatures hold over the data as stored: valid after signing and after any reload, void
after any change, even one made by raw SQL (21 CFR 11.70: signatures bound to their records);
the hash is keyed, so changed data cannot be re-sealed without the key."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

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
    out = StringIO()
    call_command("verify_signatures", stdout=out)  # exit status 0: none void
    assert out.getvalue().splitlines()[-1].endswith(", 0 void")
    assert by_meaning.get(SignatureMeaning.PRESCRIPTION, 0) > 10
    assert by_meaning.get(SignatureMeaning.ELIGIBILITY, 0) > 5
    figure(
        "e-signatures (demo trial)",
        f"{sum(by_meaning.values())} signatures reloaded from the database "
        f"({by_meaning.get(SignatureMeaning.PRESCRIPTION)} prescriptions): "
        "every one not voided still matches its data",
    )


# --- Keyed hashes (HMAC with the key from the environment) ------------------------------------


def plain_sha256(payload: dict) -> str:
    return hashlib.sha256(signatures.canonical_json(payload)).hexdigest()


def raise_dose_by_raw_sql(prescription: Prescription) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE dosing_prescription SET prescribed_dose_mg = prescribed_dose_mg + 100 "
            "WHERE id = %s",
            [prescription.pk],
        )


def test_a_signature_is_an_hmac_under_the_current_key_not_a_plain_hash(course):
    prescription = prescribe_as_typed(course)
    signature = signatures.signatures_of(prescription).get()
    payload = signatures.stored_payload(prescription)

    assert signature.key_id == settings.SIGNATURE_KEY_ID
    expected = hmac.new(
        settings.SIGNATURE_KEY.encode(), signatures.canonical_json(payload), hashlib.sha256
    ).hexdigest()
    assert signature.data_hash == expected
    assert signature.data_hash != plain_sha256(payload)


def test_a_raw_sql_change_with_a_recomputed_plain_hash_does_not_reseal(course):
    prescription = prescribe_as_typed(course)
    signature = signatures.signatures_of(prescription).get()
    raise_dose_by_raw_sql(prescription)
    forged = plain_sha256(signatures.stored_payload(prescription))

    # Rewriting the stored hash is refused by the database outright...
    with (
        pytest.raises(DatabaseError, match="Cannot update"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE trialsite_signature SET data_hash = %s WHERE id = %s",
            [forged, signature.pk],
        )
    # ... and a new row carrying the recomputed plain hash (or the legacy one) reads void.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO trialsite_signature (content_type_id, object_id, signer_id, "
            "printed_name, meaning, signed_at, data_hash, key_id, void_reason) "
            "SELECT content_type_id, object_id, signer_id, printed_name, meaning, now(), "
            "%s, key_id, '' FROM trialsite_signature WHERE id = %s",
            [forged, signature.pk],
        )
    states = signatures.signature_states(prescription)
    assert [s.valid for s in states] == [False, False]
    assert {s.reason for s in states} == {"The data changed after it was signed."}


def test_no_signature_row_is_written_without_a_key(course):
    prescription = prescribe_as_typed(course)
    signature = signatures.signatures_of(prescription).get()

    with (
        pytest.raises(DatabaseError, match="Cannot insert"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO trialsite_signature (content_type_id, object_id, signer_id, "
            "printed_name, meaning, signed_at, data_hash, key_id, void_reason) "
            "SELECT content_type_id, object_id, signer_id, printed_name, meaning, now(), "
            "%s, '', '' FROM trialsite_signature WHERE id = %s",
            [signatures.legacy_hash(signatures.stored_payload(prescription)), signature.pk],
        )


def test_a_void_signature_cannot_be_made_valid_again(course, investigator_pumch):
    prescription = prescribe_as_typed(course)
    signature = signatures.signatures_of(prescription).get()
    signatures.void_signatures(prescription, user=investigator_pumch, reason="wrong patient")

    with pytest.raises(DatabaseError, match="Cannot update"), transaction.atomic():
        Signature.objects.filter(pk=signature.pk).update(voided_at=None, void_reason="")


def test_a_signature_made_before_keys_is_verified_with_its_legacy_hash(course):
    prescription = prescribe_as_typed(course)
    signature = signatures.signatures_of(prescription).get()
    legacy = signatures.legacy_hash(signatures.stored_payload(prescription))
    with connection.cursor() as cursor:
        # As migration 0003 leaves a row signed before it (its triggers are not there yet).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending
        cursor.execute("ALTER TABLE trialsite_signature DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE trialsite_signature SET key_id = '', data_hash = %s WHERE id = %s",
            [legacy, signature.pk],
        )
        cursor.execute("ALTER TABLE trialsite_signature ENABLE TRIGGER USER")

    [state] = signatures.signature_states(prescription)
    assert state.valid, state.reason
    raise_dose_by_raw_sql(prescription)
    [state] = signatures.signature_states(prescription)
    assert not state.valid


def test_after_a_key_rotation_old_signatures_hold_with_the_old_key(course, settings):
    prescription = prescribe_as_typed(course)
    old_id, old_key = settings.SIGNATURE_KEY_ID, settings.SIGNATURE_KEY
    settings.SIGNATURE_KEY_ID, settings.SIGNATURE_KEY = "k2", "a-new-key-" + "x" * 40

    settings.SIGNATURE_OLD_KEYS = {old_id: old_key}
    [state] = signatures.signature_states(prescription)
    assert state.valid
    key_id, _hash = signatures.seal(signatures.stored_payload(prescription))
    assert key_id == "k2"

    settings.SIGNATURE_OLD_KEYS = {}
    [state] = signatures.signature_states(prescription)
    assert not state.valid
    assert old_id in state.reason and "not configured" in state.reason
