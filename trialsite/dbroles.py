"""Two database roles: the owner runs migrations, the app role owns nothing.

After every ``migrate`` (run as the owner, see the ``migrate`` command in
trialsite/management/commands), ``grant_app_role`` gives the app role exactly
what the web application needs:

* SELECT, INSERT, UPDATE on the tables; DELETE only where rows may legitimately
  go (sessions, login attempts, many-to-many links), never on a table protected by
  a "no delete" trigger (clinical records, sites, users, signatures, exports);
* nothing but SELECT on the audit event tables and on ``pghistory_context``: the
  audit triggers run as the owner (SECURITY DEFINER), so events are written for
  every change but cannot be written, changed or removed by the app role itself;
  context rows are insert-only for everyone (``HARDENED_CONTEXT``, migration 0004);
* no TRUNCATE, no DDL, no trigger control (only an owner can disable a trigger,
  and ``session_replication_role`` needs a superuser).

It also closes django-pgtrigger's escape hatch: its ``_pgtrigger_should_ignore``
function honours a session setting (``pgtrigger.ignore``) that any client could
set to skip a trigger; here it always answers "no".
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connections, transaction

logger = logging.getLogger(__name__)

# Triggers whose presence means "rows of this table are never deleted".
_PROTECT_PREFIXES = (
    "pgtrigger_forbid_delete_",
    "pgtrigger_append_only_",
    "pgtrigger_forbid_change_",
)
# Columns only pghistory's event tables have.
EVENT_COLUMNS = ("pgh_obj_id", "pgh_created_at")
# pghistory's tracking triggers (labels "insert" and "update").
_AUDIT_PREFIXES = ("pgtrigger_insert_insert_", "pgtrigger_update_update_")

HARDENED_IGNORE = """
CREATE OR REPLACE FUNCTION public._pgtrigger_should_ignore(trigger_name NAME)
RETURNS BOOLEAN AS $$
BEGIN
    -- Hardened (trialsite/dbroles.py): no session may switch a trigger off.
    RETURN FALSE;
END;
$$ LANGUAGE plpgsql;
"""

# pghistory's context upsert, made insert-only: a context row, once written, is never
# changed (migration trialsite 0004 adds a trigger refusing UPDATE and DELETE on the table).
# pghistory updates a context's metadata when it changes within a request (a nested
# ``pghistory.context``); here the changed metadata gets a row of its own instead, under an
# id derived from the context id and the metadata, so each event keeps the who and why it
# was written with, and re-using an existing context id (a session setting any client can
# make) never rewrites the who and why of past events.
HARDENED_CONTEXT = """
CREATE OR REPLACE FUNCTION public._pgh_attach_context()
RETURNS pghistory_context.id%TYPE AS $$
    DECLARE
        _pgh_context_id UUID;
        _pgh_context_metadata JSONB;
        _derived_id UUID;
    BEGIN
        BEGIN
            SELECT INTO _pgh_context_id CURRENT_SETTING('pghistory.context_id');
            SELECT INTO _pgh_context_metadata CURRENT_SETTING('pghistory.context_metadata');
            EXCEPTION WHEN OTHERS THEN
        END;
        IF _pgh_context_id IS NULL OR _pgh_context_metadata IS NULL THEN
            RETURN NULL;
        END IF;
        INSERT INTO pghistory_context (id, metadata, created_at, updated_at)
            VALUES (_pgh_context_id, _pgh_context_metadata, NOW(), NOW())
            ON CONFLICT (id) DO NOTHING;
        IF EXISTS (
            SELECT 1 FROM pghistory_context
            WHERE id = _pgh_context_id AND metadata = _pgh_context_metadata
        ) THEN
            RETURN _pgh_context_id;
        END IF;
        _derived_id := md5(_pgh_context_id::text || _pgh_context_metadata::text)::uuid;
        INSERT INTO pghistory_context (id, metadata, created_at, updated_at)
            VALUES (_derived_id, _pgh_context_metadata, NOW(), NOW())
            ON CONFLICT (id) DO NOTHING;
        RETURN _derived_id;
    END;
$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp;
"""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ensure_role(cursor, role: str) -> bool:
    """Create the app role if it is missing and we may; True if it exists afterwards."""
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    if cursor.fetchone():
        return True
    cursor.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
    if not cursor.fetchone()[0]:
        logger.warning("database role %s is missing and cannot be created here", role)
        return False
    cursor.execute(
        f"CREATE ROLE {_quote(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
        "NOREPLICATION NOBYPASSRLS"
    )
    return True


def grant_app_role(using: str = "default", **kwargs: object) -> None:
    """Give the app role its least privileges on ``using``'s database (post_migrate)."""
    role = getattr(settings, "DATABASE_APP_ROLE", "")
    connection = connections[using]
    if not role or connection.vendor != "postgresql":
        return
    # One transaction: the app's sessions (web servers, job workers) never see the moment
    # between the REVOKE and the GRANTs below, in which they could read nothing.
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        if cursor.fetchone()[0] == role:
            return  # running as the app role itself: nothing it may grant
        cursor.execute(HARDENED_IGNORE)
        cursor.execute(HARDENED_CONTEXT)
        if not ensure_role(cursor, role):
            return
        app = _quote(role)
        # An audit event table is known by its append-only trigger *or* by pghistory's
        # columns: one that lost (or never had) the trigger still gets SELECT only.
        cursor.execute(
            "SELECT c.relname, "
            "  coalesce(bool_or(t.tgname LIKE ANY(%s)), false) AS protected, "
            "  coalesce(bool_or(t.tgname LIKE 'pgtrigger_append_only_%%'), false) "
            "  OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid "
            "    AND a.attname = ANY(%s) AND NOT a.attisdropped) AS events "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' GROUP BY c.oid, c.relname",
            [[f"{p}%" for p in _PROTECT_PREFIXES], list(EVENT_COLUMNS)],
        )
        tables = cursor.fetchall()
        cursor.execute(
            f"GRANT CONNECT ON DATABASE {_quote(connection.settings_dict['NAME'])} TO {app}"
        )
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {app}")
        cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}")
        for table, protected, events in tables:
            if events or table in ("pghistory_context", "django_migrations"):
                rights = "SELECT"
            elif protected:
                rights = "SELECT, INSERT, UPDATE"
            else:
                rights = "SELECT, INSERT, UPDATE, DELETE"
            cursor.execute(f"GRANT {rights} ON {_quote(table)} TO {app}")
        # The audit trigger functions write the events as the owner.
        cursor.execute(
            "SELECT DISTINCT p.oid::regprocedure::text FROM pg_trigger t "
            "JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal AND t.tgname LIKE ANY(%s)",
            [[f"{p}%" for p in _AUDIT_PREFIXES]],
        )
        for (function,) in cursor.fetchall():
            cursor.execute(
                f"ALTER FUNCTION {function} SECURITY DEFINER SET search_path = public, pg_temp"
            )
