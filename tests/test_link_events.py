"""Issue 16: a raw-SQL role or site grant as the app role is recorded, never silent.

``INSERT INTO trialsite_user_sites`` as the app role gave a CHCMU coordinator PUMCH access
with no trace. Every INSERT, UPDATE and DELETE of a user–site, user–role or role–permission
link now leaves a ``LinkEvent`` written by a trigger running as the owner: with the data
manager and the reason when it came through the accounts services, without a context (and
shown as a change outside the application) when it did not. The app role can only read the
event table. Connects as the app role exactly as the web app does (tests/test_db_roles.py).
"""

from __future__ import annotations

from io import StringIO

import psycopg2
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from accounts import services
from trialsite.models import LinkEvent, LinkTable

pytestmark = pytest.mark.django_db(transaction=True)


def site_events(user) -> list[LinkEvent]:
    return list(LinkEvent.objects.filter(link=LinkTable.USER_SITES, left_id=user.pk).order_by("pk"))


def test_a_raw_sql_site_grant_as_the_app_role_is_recorded_and_shown_as_outside_the_app(
    app_db, client_for, data_manager, coordinator_chcmu, site_pumch, figure
):
    before = len(site_events(coordinator_chcmu))
    with app_db.cursor() as cursor:
        cursor.execute(
            "INSERT INTO trialsite_user_sites (user_id, site_id) VALUES (%s, %s)",
            [coordinator_chcmu.pk, site_pumch.pk],
        )

    events = site_events(coordinator_chcmu)
    assert len(events) == before + 1
    event = events[-1]
    assert (event.operation, event.right_id) == ("INSERT", site_pumch.pk)
    assert event.context_id is None and event.context_metadata is None
    assert event.db_user == settings.DATABASE_APP_ROLE
    page = client_for(data_manager).get(
        reverse("accounts:user_history", args=[coordinator_chcmu.pk])
    )
    assert page.status_code == 200
    assert b"data-outside-app" in page.content
    assert f"database role {settings.DATABASE_APP_ROLE}".encode() in page.content
    assert site_pumch.code.encode() in page.content

    out = StringIO()
    with pytest.raises(CommandError, match="1 link changes without an audit context"):
        call_command("verify_audit", stdout=out)
    listed = [line for line in out.getvalue().splitlines() if line.startswith("link ")]
    assert listed == [
        f"link trialsite_user_sites INSERT {coordinator_chcmu.pk}-{site_pumch.pk} "
        f"at {event.at:%Y-%m-%d %H:%M:%S} by database role {settings.DATABASE_APP_ROLE}"
        "\twithout an audit context (outside the application)"
    ]
    figure(
        "role and site links audited",
        "a raw-SQL user–site grant as the app role: recorded without context, shown on the "
        "user's history page and listed by manage.py verify_audit",
    )


def test_a_grant_through_the_services_records_the_data_manager_and_the_reason(
    client_for, data_manager, coordinator_pumch, site_chcmu
):
    services.user_site_grant(
        actor=data_manager, user=coordinator_pumch, site=site_chcmu, reason="Covers CHCMU in May"
    )
    services.user_site_revoke(
        actor=data_manager, user=coordinator_pumch, site=site_chcmu, reason="Back at PUMCH"
    )

    recorded = [e for e in site_events(coordinator_pumch) if e.right_id == site_chcmu.pk]
    assert [(e.operation, e.who, e.reason) for e in recorded] == [
        ("INSERT", data_manager.username, "Covers CHCMU in May"),
        ("DELETE", data_manager.username, "Back at PUMCH"),
    ]
    assert all(e.context_id is not None for e in recorded)
    page = client_for(data_manager).get(
        reverse("accounts:user_history", args=[coordinator_pumch.pk])
    )
    assert page.content.count(b"Covers CHCMU in May") == 2  # the account event and the link
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().startswith("0 link changes without an audit context")


def test_role_and_permission_links_are_recorded_too(app_db, coordinator_pumch):
    with app_db.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM auth_group WHERE name <> ALL(SELECT g.name FROM auth_group g "
            "JOIN trialsite_user_groups ug ON ug.group_id = g.id WHERE ug.user_id = %s) "
            "ORDER BY id LIMIT 1",
            [coordinator_pumch.pk],
        )
        group_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO trialsite_user_groups (user_id, group_id) VALUES (%s, %s)",
            [coordinator_pumch.pk, group_id],
        )
        cursor.execute("DELETE FROM auth_group_permissions WHERE group_id = %s", [group_id])
        deleted = cursor.rowcount

    role = LinkEvent.objects.filter(link=LinkTable.USER_GROUPS, left_id=coordinator_pumch.pk)
    assert list(role.values_list("operation", "right_id", "context_id"))[-1] == (
        "INSERT",
        group_id,
        None,
    )
    removed = LinkEvent.objects.filter(
        link=LinkTable.GROUP_PERMISSIONS, left_id=group_id, operation="DELETE"
    )
    assert deleted > 0 and removed.count() == deleted


def test_the_app_role_cannot_write_change_or_remove_link_events(
    app_db, coordinator_chcmu, site_pumch
):
    with app_db.cursor() as cursor:
        cursor.execute(
            "INSERT INTO trialsite_user_sites (user_id, site_id) VALUES (%s, %s)",
            [coordinator_chcmu.pk, site_pumch.pk],
        )
    event = site_events(coordinator_chcmu)[-1]
    for sql in (
        'UPDATE trialsite_linkevent SET context_metadata = \'{"reason": "x"}\' WHERE id = %s',
        "DELETE FROM trialsite_linkevent WHERE id = %s",
        "INSERT INTO trialsite_linkevent (operation, link, row_id, left_id, right_id, db_user) "
        "SELECT 'DELETE', link, row_id, left_id, right_id, 'x' FROM trialsite_linkevent "
        "WHERE id = %s",
    ):
        with app_db.cursor() as cursor, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute(sql, [event.pk])
    # Nobody rewrites it, the owner included: the append-only trigger.
    with connection.cursor() as cursor:
        for sql in (
            "UPDATE trialsite_linkevent SET db_user = 'someone' WHERE id = %s",
            "DELETE FROM trialsite_linkevent WHERE id = %s",
        ):
            with pytest.raises(Exception, match="Cannot update or delete"):
                cursor.execute(sql, [event.pk])
    event.refresh_from_db()
    assert event.db_user == settings.DATABASE_APP_ROLE
