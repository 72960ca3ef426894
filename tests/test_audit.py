"""The audit trail lives in the database: triggers record every change and refuse deletes."""

from __future__ import annotations

import pghistory.models
import pytest
from django.apps import apps
from django.db import DatabaseError, IntegrityError, connection, transaction

from tests.factories.eligibility import ScreeningFactory
from trialsite.audit import audit_context, history_of
from trialsite.models import ClinicalRecord

pytestmark = pytest.mark.django_db

# A trigger's RAISE is a ProgrammingError with psycopg 3 (InternalError with psycopg2): both
# are DatabaseErrors; the message says it was the trigger that refused.


def clinical_models():
    return [
        model
        for model in apps.get_models()
        if issubclass(model, ClinicalRecord) and not model._meta.abstract
    ]


def table_triggers(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def test_every_clinical_table_is_tracked_and_refuses_deletes():
    models = clinical_models()
    assert models, "no clinical models found"
    for model in models:
        assert hasattr(model, "pgh_event_models") or any(
            getattr(m, "pgh_tracked_model", None) is model for m in apps.get_models()
        ), f"{model.__name__} is not tracked by pghistory"
        triggers = table_triggers(model._meta.db_table)
        assert any(t.startswith("pgtrigger_forbid_delete") for t in triggers), model
        assert any(t.startswith("pgtrigger_insert_insert") for t in triggers), model
        assert any(t.startswith("pgtrigger_update_update") for t in triggers), model


def test_raw_sql_update_is_recorded_with_old_and_new_values(site_pumch):
    screening = ScreeningFactory(site=site_pumch, sex="F")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE eligibility_screening SET sex = 'M' WHERE id = %s", [screening.pk])

    update = pghistory.models.Events.objects.tracks(screening).order_by("-pgh_id").first()
    assert update.pgh_diff["sex"] == ["F", "M"]
    assert update.pgh_data["audit_db_user"]  # the database role that made the change
    last = history_of(screening)[-1]
    assert "database role" in last.who
    assert [(c.label, c.old, c.new) for c in last.changes] == [("sex", "Female", "Male")]


def test_queryset_update_is_recorded(site_pumch, coordinator_pumch):
    screening = ScreeningFactory(site=site_pumch)
    from eligibility.models import Screening

    with audit_context(coordinator_pumch, "bulk correction"):
        Screening.objects.filter(pk=screening.pk).update(sex="M")

    last = history_of(screening)[-1]
    assert last.who == coordinator_pumch.username
    assert last.reason == "bulk correction"
    assert ("sex", "Female", "Male") in [(c.label, c.old, c.new) for c in last.changes]


def test_raw_sql_delete_of_a_clinical_record_is_refused(site_pumch):
    screening = ScreeningFactory(site=site_pumch)
    with (
        pytest.raises(DatabaseError, match="Cannot delete"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM eligibility_screening WHERE id = %s", [screening.pk])
    from eligibility.models import Screening

    assert Screening.objects.filter(pk=screening.pk).exists()


def test_orm_delete_is_refused_too(site_pumch):
    screening = ScreeningFactory(site=site_pumch)
    with pytest.raises(DatabaseError, match="Cannot delete"), transaction.atomic():
        screening.delete()


def test_audit_events_cannot_be_updated_or_deleted(site_pumch):
    screening = ScreeningFactory(site=site_pumch, sex="F")
    table = "eligibility_screeningauditevent"
    for statement in (f"UPDATE {table} SET sex = 'M'", f"DELETE FROM {table}"):
        with (
            pytest.raises(DatabaseError, match="Cannot update or delete"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    before = pghistory.models.Events.objects.tracks(screening).count()
    assert before >= 1
    screening.refresh_from_db()
    assert screening.sex == "F"


def test_voiding_needs_a_reason_even_in_the_database(site_pumch):
    screening = ScreeningFactory(site=site_pumch)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE eligibility_screening SET voided_at = now(), void_reason = '' WHERE id = %s",
            [screening.pk],
        )


def test_two_changes_in_one_request_keep_their_own_reasons(site_pumch, coordinator_pumch):
    from eligibility.models import Screening

    screening = ScreeningFactory(site=site_pumch, sex="F")
    with audit_context(coordinator_pumch):  # the request (middleware) context
        with audit_context(coordinator_pumch, "first reason"):
            Screening.objects.filter(pk=screening.pk).update(sex="M")
        with audit_context(coordinator_pumch, "second reason"):
            Screening.objects.filter(pk=screening.pk).update(sex="F")
    reasons = [entry.reason for entry in history_of(screening)[-2:]]
    assert reasons == ["first reason", "second reason"]
