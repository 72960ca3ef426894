# Lab results move here from crf (the treatment engine reads them; issue 14).  The rows, their
# audit events and every id stay: the tables are renamed, the constraint and index follow
# the new names, and the audit triggers (dropped in crf 0007) are created for the new
# tables.  The content types move too, so data queries, locks and verifications on lab
# results keep pointing at them.

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
import trialsite.models
from django.conf import settings
from django.db import migrations, models


RENAME = """
ALTER TABLE crf_labresult RENAME TO dosing_labresult;
ALTER TABLE crf_labresultauditevent RENAME TO dosing_labresultauditevent;
ALTER TABLE dosing_labresult
    RENAME CONSTRAINT crf_labresult_void_needs_reason TO dosing_labresult_void_needs_reason;
ALTER INDEX crf_labresu_partici_e2f4bb_idx RENAME TO dosing_labr_partici_ba27fa_idx;
"""


def move_content_types(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    # On the migrating connection (the owner): another connection would wait on this
    # migration's own locks, or lack the privilege.
    content_types.objects.using(schema_editor.connection.alias).filter(
        app_label="crf", model__in=["labresult", "labresultauditevent"]
    ).update(app_label="dosing")


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('crf', '0007_move_lab_results'),
        ('dosing', '0003_prescription'),
        ('enrollment', '0002_consent_form_version_registered_by'),
        ('pghistory', '0007_auto_20250421_0444'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='LabResult',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                        ('version', models.PositiveIntegerField(default=1, editable=False, verbose_name='version')),
                        ('voided_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='voided at')),
                        ('void_reason', models.TextField(blank=True, editable=False, verbose_name='reason for voiding')),
                        ('analyte', models.CharField(choices=[('wbc', 'White blood cells'), ('neutrophils', 'Neutrophils'), ('lymphocytes', 'Lymphocytes'), ('monocytes', 'Monocytes'), ('eosinophils', 'Eosinophils'), ('basophils', 'Basophils'), ('haemoglobin', 'Haemoglobin'), ('platelets', 'Platelets'), ('igg', 'IgG'), ('iga', 'IgA'), ('igm', 'IgM'), ('c3', 'Complement C3'), ('c4', 'Complement C4'), ('beta2_microglobulin', 'β2-microglobulin'), ('esr', 'ESR'), ('crp', 'CRP'), ('rf', 'Rheumatoid factor'), ('creatinine', 'Creatinine')], max_length=30, verbose_name='test')),
                        ('value_entered', models.DecimalField(decimal_places=4, max_digits=12, verbose_name='value as entered')),
                        ('unit_entered', models.CharField(max_length=20, verbose_name='unit as entered')),
                        ('value', models.DecimalField(decimal_places=6, max_digits=14, verbose_name='value (canonical unit)')),
                        ('taken_on', models.DateField(verbose_name='date of sample')),
                        ('created_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                        ('participant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='labs', to='enrollment.participant', verbose_name='participant')),
                        ('updated_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='updated by')),
                        ('visit', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='labs', to='dosing.visit', verbose_name='visit')),
                        ('voided_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='voided by')),
                    ],
                    options={
                        'verbose_name': 'lab result',
                        'verbose_name_plural': 'lab results',
                        'ordering': ['participant', 'taken_on', 'analyte'],
                        'abstract': False,
                    },
                ),
                migrations.CreateModel(
                    name='LabResultAuditevent',
                    fields=[
                        ('pgh_id', models.AutoField(primary_key=True, serialize=False)),
                        ('pgh_created_at', models.DateTimeField(auto_now_add=True)),
                        ('pgh_label', models.TextField(help_text='The event label.')),
                        ('audit_db_user', models.TextField(db_default=trialsite.models.SessionUser(), editable=False)),
                        ('id', models.BigIntegerField()),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                        ('version', models.PositiveIntegerField(default=1, editable=False, verbose_name='version')),
                        ('voided_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='voided at')),
                        ('void_reason', models.TextField(blank=True, editable=False, verbose_name='reason for voiding')),
                        ('analyte', models.CharField(choices=[('wbc', 'White blood cells'), ('neutrophils', 'Neutrophils'), ('lymphocytes', 'Lymphocytes'), ('monocytes', 'Monocytes'), ('eosinophils', 'Eosinophils'), ('basophils', 'Basophils'), ('haemoglobin', 'Haemoglobin'), ('platelets', 'Platelets'), ('igg', 'IgG'), ('iga', 'IgA'), ('igm', 'IgM'), ('c3', 'Complement C3'), ('c4', 'Complement C4'), ('beta2_microglobulin', 'β2-microglobulin'), ('esr', 'ESR'), ('crp', 'CRP'), ('rf', 'Rheumatoid factor'), ('creatinine', 'Creatinine')], max_length=30, verbose_name='test')),
                        ('value_entered', models.DecimalField(decimal_places=4, max_digits=12, verbose_name='value as entered')),
                        ('unit_entered', models.CharField(max_length=20, verbose_name='unit as entered')),
                        ('value', models.DecimalField(decimal_places=6, max_digits=14, verbose_name='value (canonical unit)')),
                        ('taken_on', models.DateField(verbose_name='date of sample')),
                        ('created_by', models.ForeignKey(blank=True, db_constraint=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                        ('participant', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='enrollment.participant', verbose_name='participant')),
                        ('pgh_context', models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='pghistory.context')),
                        ('pgh_obj', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='audit_events', to='dosing.labresult')),
                        ('updated_by', models.ForeignKey(blank=True, db_constraint=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to=settings.AUTH_USER_MODEL, verbose_name='updated by')),
                        ('visit', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='dosing.visit', verbose_name='visit')),
                        ('voided_by', models.ForeignKey(blank=True, db_constraint=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to=settings.AUTH_USER_MODEL, verbose_name='voided by')),
                    ],
                    options={
                        'abstract': False,
                    },
                ),
                migrations.AddIndex(
                    model_name='labresult',
                    index=models.Index(fields=['participant', 'analyte', 'taken_on'], name='dosing_labr_partici_ba27fa_idx'),
                ),
                migrations.AddConstraint(
                    model_name='labresult',
                    constraint=models.CheckConstraint(condition=models.Q(('voided_at__isnull', True), models.Q(('void_reason', ''), _negated=True), _connector='OR'), name='dosing_labresult_void_needs_reason'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(RENAME, reverse_sql=migrations.RunSQL.noop),
                migrations.RunPython(move_content_types, migrations.RunPython.noop),
            ],
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='labresult',
            trigger=pgtrigger.compiler.Trigger(name='forbid_delete', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot delete rows from % table', TG_TABLE_NAME;", hash='893fd65456379ce3554b6a707839a8fb7d927f87', operation='DELETE', pgid='pgtrigger_forbid_delete_1c255', table='dosing_labresult', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='labresult',
            trigger=pgtrigger.compiler.Trigger(name='insert_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "dosing_labresultauditevent" ("analyte", "created_at", "created_by_id", "id", "participant_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "taken_on", "unit_entered", "updated_at", "updated_by_id", "value", "value_entered", "version", "visit_id", "void_reason", "voided_at", "voided_by_id") VALUES (NEW."analyte", NEW."created_at", NEW."created_by_id", NEW."id", NEW."participant_id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."taken_on", NEW."unit_entered", NEW."updated_at", NEW."updated_by_id", NEW."value", NEW."value_entered", NEW."version", NEW."visit_id", NEW."void_reason", NEW."voided_at", NEW."voided_by_id"); RETURN NULL;', hash='5287fee6a6de80a27b8a328f552bae0b6e28d9e2', operation='INSERT', pgid='pgtrigger_insert_insert_b3419', table='dosing_labresult', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='labresult',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.* IS DISTINCT FROM NEW.*)', func='INSERT INTO "dosing_labresultauditevent" ("analyte", "created_at", "created_by_id", "id", "participant_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "taken_on", "unit_entered", "updated_at", "updated_by_id", "value", "value_entered", "version", "visit_id", "void_reason", "voided_at", "voided_by_id") VALUES (NEW."analyte", NEW."created_at", NEW."created_by_id", NEW."id", NEW."participant_id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."taken_on", NEW."unit_entered", NEW."updated_at", NEW."updated_by_id", NEW."value", NEW."value_entered", NEW."version", NEW."visit_id", NEW."void_reason", NEW."voided_at", NEW."voided_by_id"); RETURN NULL;', hash='e96551e8ff062d2e2fb91df2a0851c8d8c43ded6', operation='UPDATE', pgid='pgtrigger_update_update_64339', table='dosing_labresult', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='labresultauditevent',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='a8d6726b7e2041f48e1898bf6684e60a2fb5119b', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_29fd5', table='dosing_labresultauditevent', when='BEFORE')),
        ),
    ]
