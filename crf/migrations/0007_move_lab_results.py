# Lab results move to the dosing app (the treatment engine below the CRFs reads them; issue
# 14).  The rows stay where they are: dosing 0004 renames the tables and re-creates the
# audit triggers under their new names.  Here: the old triggers go, and the models leave
# crf's state only.

import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("crf", "0006_ae_follow_up_seriousness_criteria"),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(model_name="labresult", name="forbid_delete"),
        pgtrigger.migrations.RemoveTrigger(model_name="labresult", name="insert_insert"),
        pgtrigger.migrations.RemoveTrigger(model_name="labresult", name="update_update"),
        pgtrigger.migrations.RemoveTrigger(model_name="labresultauditevent", name="append_only"),
        # RemoveTrigger leaves the trigger functions behind.
        migrations.RunSQL(
            "DROP FUNCTION IF EXISTS pgtrigger_forbid_delete_8439f(), "
            "pgtrigger_insert_insert_ed753(), pgtrigger_update_update_30a97(), "
            "pgtrigger_append_only_3a3fe();",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="labresultauditevent", name="pgh_obj"),
                migrations.RemoveField(model_name="labresultauditevent", name="created_by"),
                migrations.RemoveField(model_name="labresultauditevent", name="participant"),
                migrations.RemoveField(model_name="labresultauditevent", name="pgh_context"),
                migrations.RemoveField(model_name="labresultauditevent", name="updated_by"),
                migrations.RemoveField(model_name="labresultauditevent", name="visit"),
                migrations.RemoveField(model_name="labresultauditevent", name="voided_by"),
                migrations.DeleteModel(name="LabResult"),
                migrations.DeleteModel(name="LabResultAuditevent"),
            ],
            database_operations=[],
        ),
    ]
