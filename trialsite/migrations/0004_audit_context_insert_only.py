"""The audit trail's context rows (who, why, from where) are insert-only (issue 16).

Every event points at a row of ``pghistory_context``; rewriting that row would re-attribute
every event of a request to someone else, with another reason. The trigger refuses any
UPDATE or DELETE of a row, whoever asks: the app role (which has only SELECT on it), the
audit trigger functions that run as the owner, and the owner itself. TRUNCATE stays an
owner's act, as for the audit event tables (the app role has no right to it, and the test
suite's flush needs it).
pghistory's upsert of a context, which used to rewrite a row whose metadata changed, is
replaced after every migrate by an insert-only one (trialsite/dbroles.py HARDENED_CONTEXT).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION trialsite_context_insert_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'pghistory_context is insert-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER trialsite_context_insert_only
    BEFORE UPDATE OR DELETE ON pghistory_context
    FOR EACH ROW EXECUTE FUNCTION trialsite_context_insert_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS trialsite_context_insert_only ON pghistory_context;
DROP FUNCTION IF EXISTS trialsite_context_insert_only();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("trialsite", "0003_signature_key_id"),
        ("pghistory", "0007_auto_20250421_0444"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
