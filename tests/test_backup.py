"""Backup and restore: a restored copy has the same rows and the same audit trail."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

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


# --- The commands a user runs: `make backup`, `make restore FILE=...` ---------------------


def make(*args: str) -> subprocess.CompletedProcess:
    """Run a target of the Makefile as a user does (same database server as the suite)."""
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=settings.BASE_DIR,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_make_backup_names_its_file_with_the_time_and_make_restore_brings_it_back_whole(
    tmp_path, site_pumch, coordinator_pumch, investigator_pumch, figure
):
    make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    source_name = connection.settings_dict["NAME"]
    before_call = timezone.now().replace(microsecond=0)
    out = StringIO()
    with override_settings(VAR_DIR=tmp_path):  # `make backup` writes under var/backups/
        call_command("backup_db", stdout=out)
    dumps = list((tmp_path / "backups").iterdir())
    assert len(dumps) == 1, dumps
    dump = dumps[0]
    stamp = re.fullmatch(rf"{re.escape(source_name)}-(\d{{8}}T\d{{6}}Z)\.dump", dump.name)
    assert stamp, dump.name
    written_at = datetime.strptime(stamp.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before_call - timedelta(seconds=1) <= written_at <= timezone.now()
    assert str(dump) in out.getvalue()

    target = f"{source_name}_make_restore"
    restored = backup.Target.from_settings(settings.DATABASES["default"], name=target)
    backup.drop(restored)
    try:
        run = make("restore", f"FILE={dump}", f"DATABASE={target}")
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"restored {dump} into {target}:" in run.stdout
        source = backup.Target.from_settings(settings.DATABASES["default"], name=source_name)
        before, after = backup.fingerprint(source), backup.fingerprint(restored)

        # A database holding data is never overwritten without REPLACE=1.
        refused = make("restore", f"FILE={dump}", f"DATABASE={target}")
        assert refused.returncode != 0
        assert "already holds tables" in refused.stdout + refused.stderr
        replaced = make("restore", f"FILE={dump}", f"DATABASE={target}", "REPLACE=1")
        assert replaced.returncode == 0, replaced.stdout + replaced.stderr
        assert backup.fingerprint(restored) == before
    finally:
        backup.drop(restored)

    assert before == after
    assert before["rows:enrollment_participant"] == 1
    checksums = {k for k in before if k.startswith("md5:")}
    figure(
        "backup and restore (make targets)",
        "`manage.py backup_db` (what `make backup` runs) named its dump after the database "
        "and the UTC time of the backup (NAME-YYYYMMDDTHHMMSSZ.dump); "
        f"`make restore FILE=... DATABASE=...` brought back {len(before) - len(checksums)} "
        f"table row counts and {len(checksums)} audit checksums identical; a second restore "
        "over it refused without REPLACE=1, done with it",
    )
