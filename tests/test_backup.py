"""Backup and restore: a restored copy has the same rows and the same audit trail."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from tests.factories.enrollment import make_participant
from trialsite import backup

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_backup_restores_into_a_fresh_database_with_identical_rows_and_audit(
    tmp_path, site_pumch, coordinator_pumch, investigator_pumch, figure
):
    make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    with connection.cursor() as cursor:  # an edit outside the app is in the trail too
        cursor.execute("UPDATE eligibility_screening SET sex = 'M'")
    source = backup.Target.from_settings(
        settings.DATABASES["default"], name=connection.settings_dict["NAME"]
    )
    dump = tmp_path / "trial.dump"
    call_command("backup_db", output=dump)
    restored = backup.Target.from_settings(
        settings.DATABASES["default"], name=f"{source.name}_restore_check"
    )
    backup.drop(restored)
    try:
        backup.restore(dump, restored)
        before, after = backup.fingerprint(source), backup.fingerprint(restored)
    finally:
        backup.drop(restored)

    checksums = {k for k in before if k.startswith("md5:")}
    figure(
        "backup and restore",
        f"{len(before) - len(checksums)} table row counts and {len(checksums)} audit "
        "checksums identical after restore",
    )
    assert before == after
    assert before["rows:enrollment_participant"] == 1
    assert len(checksums) >= 10


def test_restore_refuses_to_overwrite_a_database_with_data(tmp_path, site_pumch):
    dump = tmp_path / "trial.dump"
    call_command("backup_db", output=dump)
    target = backup.Target.from_settings(
        settings.DATABASES["default"], name=connection.settings_dict["NAME"]
    )
    with pytest.raises(FileExistsError, match="already holds tables"):
        backup.restore(dump, target)
