"""`manage.py verify_signatures`: every signature listed, valid or void and why; exit 1 when
one no longer holds over its data."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from dosing import services
from tests.factories.dosing import Course, make_course
from tests.test_signatures import prescribe_as_typed

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(site_pumch, coordinator_pumch, investigator_pumch) -> Course:
    return make_course(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    ).day_0()


def verify() -> list[str]:
    out = StringIO()
    call_command("verify_signatures", stdout=out)
    return out.getvalue().splitlines()


def test_it_lists_valid_and_voided_signatures_and_succeeds(course, investigator_pumch):
    first = prescribe_as_typed(course)
    services.prescription_void(prescription=first, user=investigator_pumch, reason="not given")
    second = prescribe_as_typed(course)

    lines = verify()

    # The eligibility signature of the enrolment, then the two prescriptions.
    assert lines[-1] == "3 signatures: 2 valid, 1 voided as recorded, 0 void"
    by_record = {line.split("\t")[3]: line.split("\t") for line in lines[:-1]}
    assert by_record[f"dosing.prescription {first.pk}"][1] == "voided"
    assert by_record[f"dosing.prescription {first.pk}"][-1] == "not given"
    assert by_record[f"dosing.prescription {second.pk}"][1] == "valid"
    assert by_record[f"dosing.prescription {second.pk}"][2] == "prescription"


def test_it_fails_and_says_why_when_signed_data_changed_by_raw_sql(course):
    prescription = prescribe_as_typed(course)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE dosing_prescription SET weight_kg = weight_kg + 1 WHERE id = %s",
            [prescription.pk],
        )
    out = StringIO()

    with pytest.raises(CommandError, match="1 signatures no longer hold"):
        call_command("verify_signatures", stdout=out)

    [line] = [x for x in out.getvalue().splitlines() if f"prescription {prescription.pk}" in x]
    assert line.split("\t")[1] == "VOID"
    assert line.endswith("The data changed after it was signed.")
    assert out.getvalue().splitlines()[-1] == "2 signatures: 1 valid, 0 voided as recorded, 1 void"
