"""The audit context (who, why) of an event, once written, is never changed: a rewrite is
refused to the app role and to the owner alike, through the ORM or raw SQL (issue 16)."""

from __future__ import annotations

import pghistory
import psycopg2
import pytest
from django.db import DatabaseError, connection, transaction
from pghistory.models import Context

from eligibility.models import Screening
from tests.factories.eligibility import make_screening
from trialsite.audit import history_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def screening(site_pumch, coordinator_pumch):
    return make_screening(site=site_pumch, user=coordinator_pumch, sex="F")


def context_of_first_event(screening) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pgh_context_id FROM eligibility_screeningauditevent WHERE pgh_obj_id = %s "
            "ORDER BY pgh_id LIMIT 1",
            [screening.pk],
        )
        return str(cursor.fetchone()[0])


def test_the_app_role_cannot_update_or_delete_a_context(app_db, screening):
    context_id = context_of_first_event(screening)
    for sql in (
        'UPDATE pghistory_context SET metadata = \'{"username": "x"}\'::jsonb WHERE id = %s',
        "DELETE FROM pghistory_context WHERE id = %s",
    ):
        with app_db.cursor() as cursor, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute(sql, [context_id])


def test_even_the_owner_cannot_rewrite_a_context_through_the_orm(screening, coordinator_pumch):
    context_id = context_of_first_event(screening)

    for rewrite in (
        lambda: Context.objects.filter(id=context_id).update(metadata={"username": "x"}),
        lambda: Context.objects.filter(id=context_id).delete(),
    ):
        with pytest.raises(DatabaseError, match="insert-only"), transaction.atomic():
            rewrite()

    assert Context.objects.get(id=context_id).metadata["username"] == coordinator_pumch.username


def test_reusing_a_context_id_as_the_app_role_writes_a_new_context(
    app_db, screening, coordinator_pumch
):
    context_id = context_of_first_event(screening)
    genuine = Context.objects.get(id=context_id).metadata
    with app_db.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pghistory.context_id', %s, false), "
            "set_config('pghistory.context_metadata', %s, false)",
            [context_id, '{"username": "someone_else", "reason": "forged"}'],
        )
        cursor.execute("UPDATE eligibility_screening SET sex = 'M' WHERE id = %s", [screening.pk])

    assert Context.objects.get(id=context_id).metadata == genuine
    creation, *_, change = history_of(screening)
    assert creation.who == coordinator_pumch.username
    assert creation.reason == genuine["reason"] != "forged"
    # The forger's own statement carries what it claimed, under a context of its own.
    assert (change.who, change.reason) == ("someone_else", "forged")


def test_a_reason_changed_within_a_request_leaves_the_earlier_events_their_own(
    screening, coordinator_pumch
):
    # pghistory keeps one context id per request and used to rewrite its row when the
    # metadata changed: the first change would then read "second" too.
    rows = Screening.objects.filter(pk=screening.pk)
    with pghistory.context(username=coordinator_pumch.username, reason="first"):
        rows.update(sex="M")
        with pghistory.context(reason="second"):
            rows.update(sex="F")

    *_, first, second = history_of(screening)
    assert (first.reason, second.reason) == ("first", "second")
    assert first.who == second.who == coordinator_pumch.username
