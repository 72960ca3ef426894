"""Every change of a user-site, user-role or role-permission link is recorded (issue 16).

A raw ``INSERT INTO trialsite_user_sites`` as the app role gave a coordinator another
site's access with no trace. The app role still writes these links (the accounts services
do), but a trigger on each link table, running as the owner (SECURITY DEFINER), records
every INSERT, UPDATE and DELETE in ``trialsite_linkevent`` with the operation, the ids, the
time, the database role and the pghistory context (who and why) when there is one. The
event table is append-only for everyone (its "append_only" trigger) and the app role may
only read it (trialsite/dbroles.py).
"""

import django.db.models.functions.datetime
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

# (table, the column of the user or group, the column of the site, group or permission)
LINKS = (
    ("trialsite_user_sites", "user_id", "site_id"),
    ("trialsite_user_groups", "user_id", "group_id"),
    ("auth_group_permissions", "group_id", "permission_id"),
)

FUNCTION = """
CREATE OR REPLACE FUNCTION trialsite_record_link_change() RETURNS trigger AS $$
DECLARE
    _row JSONB;
    _context_id UUID;
    _metadata JSONB;
BEGIN
    IF TG_OP = 'DELETE' THEN
        _row := to_jsonb(OLD);
    ELSE
        _row := to_jsonb(NEW);
    END IF;
    -- pghistory's (hardened, insert-only) context: NULL outside the application.
    _context_id := _pgh_attach_context();
    IF _context_id IS NOT NULL THEN
        SELECT metadata INTO _metadata FROM pghistory_context WHERE id = _context_id;
    END IF;
    INSERT INTO trialsite_linkevent (
        at, operation, link, row_id, left_id, right_id, previous, db_user,
        context_id, context_metadata
    ) VALUES (
        NOW(), TG_OP, TG_TABLE_NAME, (_row ->> 'id')::BIGINT,
        (_row ->> TG_ARGV[0])::BIGINT, (_row ->> TG_ARGV[1])::BIGINT,
        CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END, SESSION_USER,
        _context_id, _metadata
    );
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp;
"""

FORWARD = FUNCTION + "".join(
    f"CREATE TRIGGER trialsite_record_link_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
    f"FOR EACH ROW EXECUTE FUNCTION trialsite_record_link_change('{left}', '{right}');\n"
    for table, left, right in LINKS
)

BACKWARD = (
    "".join(
        f"DROP TRIGGER IF EXISTS trialsite_record_link_change ON {table};\n"
        for table, _, _ in LINKS
    )
    + "DROP FUNCTION IF EXISTS trialsite_record_link_change();\n"
)


class Migration(migrations.Migration):
    dependencies = [
        ("trialsite", "0005_merge_0003_form_token_0004_audit_context_insert_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("pghistory", "0007_auto_20250421_0444"),
    ]

    operations = [
        migrations.CreateModel(
            name="LinkEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(),
                        editable=False,
                        verbose_name="when",
                    ),
                ),
                (
                    "operation",
                    models.CharField(
                        choices=[
                            ("INSERT", "Granted"),
                            ("UPDATE", "Changed"),
                            ("DELETE", "Removed"),
                        ],
                        max_length=6,
                        verbose_name="change",
                    ),
                ),
                (
                    "link",
                    models.CharField(
                        choices=[
                            ("trialsite_user_sites", "user–site"),
                            ("trialsite_user_groups", "user–role"),
                            ("auth_group_permissions", "role–permission"),
                        ],
                        max_length=40,
                        verbose_name="link",
                    ),
                ),
                ("row_id", models.BigIntegerField(verbose_name="link row")),
                ("left_id", models.BigIntegerField(verbose_name="user or role")),
                ("right_id", models.BigIntegerField(verbose_name="site, role or permission")),
                ("previous", models.JSONField(blank=True, null=True, verbose_name="previous row")),
                ("db_user", models.TextField(verbose_name="database role")),
                (
                    "context_id",
                    models.UUIDField(blank=True, null=True, verbose_name="audit context"),
                ),
                (
                    "context_metadata",
                    models.JSONField(blank=True, null=True, verbose_name="audit context metadata"),
                ),
            ],
            options={
                "verbose_name": "link event",
                "verbose_name_plural": "link events",
                "ordering": ("at", "pk"),
                "indexes": [
                    models.Index(fields=["link", "left_id"], name="trialsite_linkevent_left")
                ],
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="linkevent",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="f968ffb077f4f385ed737fb8ecdef3ec56576ebf",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_0ad95",
                    table="trialsite_linkevent",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
