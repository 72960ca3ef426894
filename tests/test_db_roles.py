"""The application's database role owns nothing and cannot touch the audit trail.

Runs on whichever server the suite uses (the embedded one, or DATABASE_URL), so CI
proves it on both. The test connects as the app role exactly as the web app does.
"""

from __future__ import annotations

import psycopg2
import pytest
from django.conf import settings
from django.db import connection

from tests.factories.eligibility import make_screening

pytestmark = pytest.mark.django_db(transaction=True)


def refused(conn, sql: str, params=()) -> str:
    """Run ``sql`` as the app role; return the error class name (fails if it succeeds)."""
    with conn.cursor() as cursor:
        try:
            cursor.execute(sql, params)
        except psycopg2.Error as exc:
            return type(exc).__name__
    raise AssertionError(f"the app role was allowed to run: {sql}")


def test_the_app_role_owns_no_table_and_is_no_superuser(app_db):
    with app_db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (False, False, False)


def test_the_app_role_changes_data_and_every_change_is_still_audited(app_db, site_pumch):
    screening = make_screening(site=site_pumch, sex="F")
    with app_db.cursor() as cursor:
        cursor.execute("UPDATE eligibility_screening SET sex = 'M' WHERE id = %s", [screening.pk])
        cursor.execute(
            "SELECT sex, audit_db_user FROM eligibility_screeningauditevent "
            "WHERE pgh_obj_id = %s ORDER BY pgh_id DESC LIMIT 1",
            [screening.pk],
        )
        assert cursor.fetchone() == ("M", settings.DATABASE_APP_ROLE)


def test_the_app_role_cannot_delete_truncate_or_forge_audit_events(app_db, site_pumch, figure):
    screening = make_screening(site=site_pumch)
    checks = {
        "delete a clinical record": (
            "DELETE FROM eligibility_screening WHERE id = %s",
            [screening.pk],
        ),
        "truncate a clinical table": ("TRUNCATE eligibility_screening CASCADE", []),
        "update an audit event": ("UPDATE eligibility_screeningauditevent SET sex = 'M'", []),
        "delete an audit event": ("DELETE FROM eligibility_screeningauditevent", []),
        "forge an audit event": (
            "INSERT INTO eligibility_screeningauditevent (pgh_created_at, pgh_label) "
            "VALUES (now(), 'insert')",
            [],
        ),
        "rewrite who did it": ("UPDATE pghistory_context SET metadata = '{}'::jsonb", []),
        "disable the audit triggers": ("ALTER TABLE eligibility_screening DISABLE TRIGGER ALL", []),
        "drop a trigger": (
            "DROP TRIGGER IF EXISTS pgtrigger_forbid_delete_7ccc7 ON eligibility_screening",
            [],
        ),
        "turn triggers off for the session": ("SET session_replication_role = replica", []),
        "create a table": ("CREATE TABLE sneaky (id int)", []),
        "fake a migration": (
            "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', now())",
            [],
        ),
    }
    results = {name: refused(app_db, sql, params) for name, (sql, params) in checks.items()}
    figure(
        f"audit integrity ({connection.vendor} {connection.pg_version // 10000})",
        f"{len(results)} forbidden operations refused to the app role",
    )
    assert all(results.values())
    assert results["delete a clinical record"] == "InsufficientPrivilege"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM eligibility_screening WHERE id = %s", [screening.pk])
        assert cursor.fetchone()[0] == 1


def test_a_session_setting_cannot_switch_the_audit_trigger_off(app_db, site_pumch):
    screening = make_screening(site=site_pumch, sex="F")
    with app_db.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'eligibility_screening'::regclass "
            "AND tgname LIKE 'pgtrigger_update_update_%%'"
        )
        audit_trigger = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('pgtrigger.ignore', %s, false)", [f"{{{audit_trigger}}}"])
        cursor.execute("UPDATE eligibility_screening SET sex = 'M' WHERE id = %s", [screening.pk])
        cursor.execute(
            "SELECT count(*) FROM eligibility_screeningauditevent "
            "WHERE pgh_obj_id = %s AND sex = 'M'",
            [screening.pk],
        )
        assert cursor.fetchone()[0] == 1
        cursor.execute(
            "SELECT set_config('pgtrigger.ignore', %s, false)", ["{pgtrigger_forbid_delete_7ccc7}"]
        )
    assert refused(app_db, "DELETE FROM eligibility_screening WHERE id = %s", [screening.pk])


def test_a_context_cannot_be_rewritten_by_reusing_its_id(app_db, site_pumch, coordinator_pumch):
    from trialsite.audit import audit_context

    with audit_context(coordinator_pumch, "genuine reason"):
        screening = make_screening(site=site_pumch, user=coordinator_pumch)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pgh_context_id FROM eligibility_screeningauditevent WHERE pgh_obj_id = %s "
            "ORDER BY pgh_id LIMIT 1",
            [screening.pk],
        )
        context_id = cursor.fetchone()[0]
    with app_db.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pghistory.context_id', %s, false), "
            "set_config('pghistory.context_metadata', %s, false)",
            [str(context_id), '{"username": "someone_else", "reason": "forged"}'],
        )
        cursor.execute("UPDATE eligibility_screening SET sex = 'M' WHERE id = %s", [screening.pk])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT metadata->>'username' FROM pghistory_context WHERE id = %s", [context_id]
        )
        assert cursor.fetchone()[0] == coordinator_pumch.username


# --- Every audit event table ------------------------------------------------------------


def event_tables() -> list[str]:
    """Every pghistory event table: from the models, and from the database itself (a table
    with pghistory's columns that no model declares is an event table all the same)."""
    import pghistory.models
    from django.apps import apps

    from trialsite.dbroles import EVENT_COLUMNS

    declared = {
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, pghistory.models.Event) and not model._meta.proxy
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attname = ANY(%s)",
            [list(EVENT_COLUMNS)],
        )
        in_database = {row[0] for row in cursor.fetchall()}
    assert declared <= in_database, declared - in_database
    return sorted(in_database)


def test_the_app_role_can_only_read_every_audit_event_table(app_db, site_pumch, figure):
    make_screening(site=site_pumch)  # events to try to change
    tables = event_tables()
    assert len(tables) >= 30, tables  # every tracked model has one
    role = settings.DATABASE_APP_ROLE
    rights = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                "SELECT has_table_privilege(%s, %s, 'SELECT'), "
                "has_table_privilege(%s, %s, 'INSERT'), has_table_privilege(%s, %s, 'UPDATE'), "
                "has_table_privilege(%s, %s, 'DELETE'), has_table_privilege(%s, %s, 'TRUNCATE'), "
                "has_table_privilege(%s, %s, 'TRIGGER')",
                [role, table] * 6,
            )
            rights[table] = cursor.fetchone()
    writable = {t: r for t, r in rights.items() if r != (True, False, False, False, False, False)}
    assert not writable, f"the app role may do more than read these event tables: {writable}"

    # And for real, on a few: the screening's, the users', the lab results'.
    attempts = 0
    for table in ("eligibility_screeningauditevent", "trialsite_userauditevent", tables[0]):
        for sql in (
            f'UPDATE "{table}" SET pgh_label = pgh_label',
            f'DELETE FROM "{table}"',
            f'TRUNCATE "{table}"',
        ):
            assert refused(app_db, sql) == "InsufficientPrivilege", sql
            attempts += 1
    figure(
        "audit integrity (every event table)",
        f"{len(tables)} audit event tables: the app role may read each, never insert, update, "
        f"delete, truncate or add triggers (has_table_privilege), and {attempts} real "
        "UPDATE/DELETE/TRUNCATE attempts were refused",
    )


def test_an_event_table_without_its_append_only_trigger_still_gets_read_rights_only(app_db):
    from trialsite.dbroles import grant_app_role

    table = "zz_stray_auditevent"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {table} (pgh_id serial PRIMARY KEY, pgh_created_at timestamptz, "
            "pgh_obj_id bigint, pgh_label text)"
        )
    try:
        grant_app_role()  # as after a migrate
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT privilege_type FROM information_schema.role_table_grants "
                "WHERE grantee = %s AND table_name = %s ORDER BY 1",
                [settings.DATABASE_APP_ROLE, table],
            )
            assert [row[0] for row in cursor.fetchall()] == ["SELECT"]
        assert refused(app_db, f"DELETE FROM {table}") == "InsufficientPrivilege"
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {table}")
        grant_app_role()


def test_the_app_role_defers_jobs_and_runs_a_worker_but_cannot_forge_the_audit_of_it(app_db):
    """What the web app (defer) and a worker (register, fetch, finish, heartbeat, leave) do
    to the job queue's tables, as the app role; tests/test_jobs.py runs a real worker so."""
    with app_db.cursor() as cursor:
        cursor.execute(
            "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW('roles', 'test.task', 0, "
            "'role-test', NULL, '{\"n\": 1}'::jsonb, NULL)::procrastinate_job_to_defer_v1]))"
        )
        job_id = cursor.fetchone()[0]
        cursor.execute("SELECT * FROM procrastinate_register_worker_v1()")
        worker_id = cursor.fetchone()[0]
        cursor.execute(
            "SELECT id FROM procrastinate_fetch_job_v2(ARRAY['roles']::varchar[], %s)",
            [worker_id],
        )
        assert cursor.fetchone()[0] == job_id
        cursor.execute("SELECT procrastinate_update_heartbeat_v1(%s)", [worker_id])
        cursor.execute("SELECT procrastinate_finish_job_v1(%s, 'succeeded', false)", [job_id])
        cursor.execute("SELECT procrastinate_unregister_worker_v1(%s)", [worker_id])
        cursor.execute("SELECT * FROM procrastinate_prune_stalled_workers_v1(3600)")
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [job_id])
        assert cursor.fetchone()[0] == "succeeded"
        cursor.execute("DELETE FROM procrastinate_jobs WHERE id = %s", [job_id])
    # The notification log is audited like the clinical tables: its events are read-only.
    for sql in (
        "DELETE FROM notifications_notification",
        "UPDATE notifications_notificationauditevent SET subject = 'forged'",
        "TRUNCATE procrastinate_jobs CASCADE",
    ):
        assert refused(app_db, sql)
