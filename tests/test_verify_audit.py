"""`manage.py verify_audit`: every tracked row matches its newest audit event on the demo
trial; a row changed with the audit triggers bypassed (as the owner, with
``session_replication_role = replica``) is reported (issue 16)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from demo import seed as demo
from dosing.models import Prescription
from tests.factories.crf import today

pytestmark = pytest.mark.django_db


def is_superuser() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        return cursor.fetchone()[0]


def test_verify_audit_finds_nothing_on_the_demo_and_a_row_changed_bypassing_the_triggers(
    figure,
):
    demo.seed_sites_and_users()
    demo.seed_trial_data(today())
    out = StringIO()
    call_command("verify_audit", stdout=out)
    summary = out.getvalue().splitlines()[-1]
    assert summary.endswith(": 0 changed without an audit event")
    if not is_superuser():
        pytest.skip("session_replication_role needs a superuser owner")

    prescription = Prescription.objects.order_by("pk").first()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "UPDATE dosing_prescription SET prescribed_dose_mg = prescribed_dose_mg + 50 "
            "WHERE id = %s",
            [prescription.pk],
        )
        cursor.execute("SET session_replication_role = DEFAULT")
    out = StringIO()

    with pytest.raises(CommandError, match="1 rows changed without an audit event"):
        call_command("verify_audit", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == (
        f"dosing.Prescription {prescription.pk}\t"
        "differs from its newest audit event in prescribed_dose_mg"
    )
    figure(
        "audit trail against the data (demo trial)",
        f"manage.py verify_audit: {summary.split(':')[0]}, 0 changed without an audit event; "
        "a prescription changed by the owner with session_replication_role = replica: reported",
    )
