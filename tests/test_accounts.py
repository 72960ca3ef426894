"""Issue 16: user administration in the app, by data managers, every change audited.

A data manager invites users and resets passwords through one-time links (never seeing a
password), grants and revokes roles and sites with a reason, deactivates accounts; never
on their own account, never on a superuser's; every change is an append-only event on
the user's history page, and the user is e-mailed on a password reset or a role change.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from accounts import services
from accounts.models import AccountEvent, AccountEventKind
from tests.factories.trialsite import PASSWORD, UserFactory
from trialsite.models import User
from trialsite.roles import Role

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-fresh-passphrase-2026"
LINK = re.compile(r"https?://\S+/accounts/password/set/\S+/")


def events(user: User) -> list[str]:
    return list(
        AccountEvent.objects.filter(user=user).order_by("pk").values_list("kind", flat=True)
    )


def the_link(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return urlsplit(match.group(0)).path


def set_password_through(client, link: str, password: str):
    """Open the one-time link (Django moves the token into the session) and choose."""
    opened = client.get(link)
    assert opened.status_code == 302, opened.status_code
    return client.post(opened["Location"], {"new_password1": password, "new_password2": password})


# --- inviting and passwords -------------------------------------------------------------


def test_an_invited_user_chooses_the_password_through_a_one_time_link(
    client, client_for, data_manager, site_pumch
):
    response = client_for(data_manager).post(
        reverse("accounts:user_invite"),
        {
            "username": "nina",
            "first_name": "Nina",
            "last_name": "Xu",
            "email": "nina@example.org",
            "role": Role.COORDINATOR.value,
            "sites": [site_pumch.pk],
            "reason": "New study nurse at PUMCH",
        },
    )
    assert response.status_code == 302
    nina = User.objects.get(username="nina")
    assert not nina.has_usable_password()
    assert nina.has_role(Role.COORDINATOR)
    assert list(nina.sites.values_list("code", flat=True)) == ["PUMCH"]
    (message,) = mail.outbox
    assert message.to == ["nina@example.org"]
    link = the_link(message)

    client.logout()
    done = set_password_through(client, link, NEW_PASSWORD)

    assert done.status_code == 302 and done["Location"] == reverse("login")
    nina.refresh_from_db()
    assert nina.check_password(NEW_PASSWORD)
    assert events(nina) == [AccountEventKind.INVITED, AccountEventKind.PASSWORD_SET]
    # The link worked once: the token was bound to the password it replaced.
    again = client.get(link, follow=True)
    assert b"This link is not valid" in again.content


def test_a_password_reset_e_mails_a_link_and_the_data_manager_never_sees_a_password(
    client, client_for, data_manager, investigator_pumch
):
    response = client_for(data_manager).post(
        reverse("accounts:user_password_reset", args=[investigator_pumch.pk]),
        {"reason": "Forgot the password (telephone call 9:40)"},
        follow=True,
    )
    assert response.status_code == 200
    investigator_pumch.refresh_from_db()
    assert not investigator_pumch.check_password(PASSWORD)  # the old one stops working
    (message,) = mail.outbox
    assert message.to == [investigator_pumch.email]
    link = the_link(message)
    assert link.encode() not in response.content  # the link goes to the user only
    event = AccountEvent.objects.get(user=investigator_pumch)
    assert (event.kind, event.actor, event.reason) == (
        AccountEventKind.PASSWORD_RESET,
        data_manager,
        "Forgot the password (telephone call 9:40)",
    )

    client.logout()
    set_password_through(client, link, NEW_PASSWORD)
    investigator_pumch.refresh_from_db()
    assert investigator_pumch.check_password(NEW_PASSWORD)


# --- the rules ---------------------------------------------------------------------------


def test_a_data_manager_cannot_grant_themselves_the_investigator_role(client_for, data_manager):
    with pytest.raises(PermissionDenied) as refused:
        services.user_role_grant(
            actor=data_manager, user=data_manager, role=Role.INVESTIGATOR, reason="to sign"
        )
    assert str(refused.value) == str(services.SELF_SIGNING)

    response = client_for(data_manager).post(
        reverse("accounts:user_role", args=[data_manager.pk]),
        {"role": Role.INVESTIGATOR.value, "action": "grant", "reason": "to sign"},
    )
    assert response.status_code == 403
    data_manager.refresh_from_db()
    assert not data_manager.has_role(Role.INVESTIGATOR)
    assert not data_manager.has_perm("trialsite.sign_data")
    assert not AccountEvent.objects.exists()


def test_nobody_changes_their_own_sites_or_roles(data_manager, site_pumch):
    for change in (
        lambda: services.user_site_grant(
            actor=data_manager, user=data_manager, site=site_pumch, reason="x"
        ),
        lambda: services.user_role_revoke(
            actor=data_manager, user=data_manager, role=Role.DATA_MANAGER, reason="x"
        ),
        lambda: services.user_deactivate(actor=data_manager, user=data_manager, reason="x"),
    ):
        with pytest.raises(PermissionDenied):
            change()
    assert not data_manager.sites.exists()
    assert not AccountEvent.objects.exists()


def test_a_superuser_is_untouchable_by_a_data_manager(client_for, data_manager):
    root = User.objects.create_superuser("root", "root@example.org", "root-pass-2026!")
    for change in (
        lambda: services.user_password_reset(actor=data_manager, user=root, reason="x"),
        lambda: services.user_deactivate(actor=data_manager, user=root, reason="x"),
        lambda: services.user_role_grant(
            actor=data_manager, user=root, role=Role.MONITOR, reason="x"
        ),
    ):
        with pytest.raises(PermissionDenied):
            change()
    response = client_for(data_manager).post(
        reverse("accounts:user_password_reset", args=[root.pk]), {"reason": "take over"}
    )
    assert response.status_code == 403
    root.refresh_from_db()
    assert root.check_password("root-pass-2026!") and root.is_active
    assert not mail.outbox and not AccountEvent.objects.exists()


def test_a_change_without_a_reason_is_refused(client_for, data_manager, coordinator_pumch):
    with pytest.raises(ValidationError):
        services.user_role_grant(
            actor=data_manager, user=coordinator_pumch, role=Role.INVESTIGATOR, reason="  "
        )
    response = client_for(data_manager).post(
        reverse("accounts:user_role", args=[coordinator_pumch.pk]),
        {"role": Role.INVESTIGATOR.value, "action": "grant", "reason": ""},
        follow=True,
    )
    assert b"This field is required" in response.content
    coordinator_pumch.refresh_from_db()
    assert not coordinator_pumch.has_role(Role.INVESTIGATOR)
    assert not AccountEvent.objects.exists()
    # Not even a raw insert: the database asks for the reason too.
    with pytest.raises(DatabaseError), transaction.atomic():
        AccountEvent.objects.create(
            actor=data_manager, user=coordinator_pumch, kind=AccountEventKind.ROLE_GRANTED
        )


def test_only_a_user_administrator_reaches_the_user_pages(
    client_for, investigator_pumch, coordinator_pumch
):
    client = client_for(investigator_pumch)
    assert client.get(reverse("accounts:users")).status_code == 403
    assert (
        client.get(reverse("accounts:user_detail", args=[coordinator_pumch.pk])).status_code == 403
    )
    refused = client.post(
        reverse("accounts:user_role", args=[coordinator_pumch.pk]),
        {"role": Role.INVESTIGATOR.value, "action": "grant", "reason": "help"},
    )
    assert refused.status_code == 403
    with pytest.raises(PermissionDenied):
        services.user_role_grant(
            actor=investigator_pumch, user=coordinator_pumch, role=Role.MONITOR, reason="x"
        )


# --- what is recorded and sent --------------------------------------------------------------


def test_a_role_change_is_recorded_e_mailed_and_shown_on_the_history_page(
    client_for, data_manager, coordinator_pumch, figure
):
    client = client_for(data_manager)
    client.post(
        reverse("accounts:user_role", args=[coordinator_pumch.pk]),
        {"role": Role.INVESTIGATOR.value, "action": "grant", "reason": "Delegation log v3"},
    )
    client.post(
        reverse("accounts:user_role", args=[coordinator_pumch.pk]),
        {"role": Role.COORDINATOR.value, "action": "revoke", "reason": "Delegation log v3"},
    )

    coordinator_pumch = User.objects.get(pk=coordinator_pumch.pk)
    assert coordinator_pumch.roles == {Role.INVESTIGATOR}
    assert events(coordinator_pumch) == [
        AccountEventKind.ROLE_GRANTED,
        AccountEventKind.ROLE_REVOKED,
    ]
    assert [m.to for m in mail.outbox] == [[coordinator_pumch.email]] * 2
    assert "Investigator" in mail.outbox[0].body
    page = client.get(reverse("accounts:user_history", args=[coordinator_pumch.pk]))
    assert page.status_code == 200
    assert page.content.count(b"Delegation log v3") == 4  # 2 account events, 2 link events
    assert b'data-account-event="role_granted"' in page.content
    assert data_manager.printed_name.encode() in page.content
    figure(
        "accounts and roles",
        "a role granted and one revoked by a data manager in the app: 2 append-only account "
        "events with who, when and why, the user e-mailed twice, both on the user's history "
        "page; the data manager cannot open the admin, set a password, grant themselves a "
        "role or touch a superuser (tests/test_accounts*.py)",
    )


def test_sites_are_granted_and_revoked_with_their_events(
    client_for, data_manager, coordinator_pumch, site_chcmu
):
    client = client_for(data_manager)
    client.post(
        reverse("accounts:user_site", args=[coordinator_pumch.pk]),
        {"site": site_chcmu.pk, "action": "grant", "reason": "Covers CHCMU in May"},
    )
    assert coordinator_pumch.sites.filter(pk=site_chcmu.pk).exists()
    client.post(
        reverse("accounts:user_site", args=[coordinator_pumch.pk]),
        {"site": site_chcmu.pk, "action": "revoke", "reason": "Back at PUMCH"},
    )
    assert not coordinator_pumch.sites.filter(pk=site_chcmu.pk).exists()
    recorded = AccountEvent.objects.filter(user=coordinator_pumch).order_by("pk")
    assert [(e.kind, e.detail, e.reason) for e in recorded] == [
        (AccountEventKind.SITE_GRANTED, "CHCMU", "Covers CHCMU in May"),
        (AccountEventKind.SITE_REVOKED, "CHCMU", "Back at PUMCH"),
    ]


def test_a_deactivated_user_can_no_longer_log_in(client, data_manager, coordinator_pumch):
    services.user_deactivate(actor=data_manager, user=coordinator_pumch, reason="Left the site")
    response = client.post(
        reverse("login"), {"username": coordinator_pumch.username, "password": PASSWORD}
    )
    assert response.status_code == 200  # the form again, not a redirect
    assert events(coordinator_pumch) == [AccountEventKind.DEACTIVATED]


def test_the_account_trail_cannot_be_rewritten_or_removed(data_manager, coordinator_pumch):
    services.user_deactivate(actor=data_manager, user=coordinator_pumch, reason="Left the site")
    event = AccountEvent.objects.get()
    for sql in (
        "UPDATE accounts_accountevent SET reason = 'nothing happened' WHERE id = %s",
        "DELETE FROM accounts_accountevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="Cannot update or delete"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    event.refresh_from_db()
    assert event.reason == "Left the site"


def test_the_users_page_lists_every_account(client_for, data_manager, coordinator_pumch):
    other = UserFactory(username="zed", role=Role.MONITOR)
    page = client_for(data_manager).get(reverse("accounts:users"))
    assert page.status_code == 200
    for user in (data_manager, coordinator_pumch, other):
        assert reverse("accounts:user_detail", args=[user.pk]).encode() in page.content
