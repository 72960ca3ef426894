"""Issue 16: the raw Django admin no longer lets a data manager become anyone.

Before: ``POST /admin/trialsite/user/<id>/password/`` as the demo's data manager set the
investigator's password, and the data manager could then sign as the investigator.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from demo import seed as demo
from trialsite.models import User

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "taken-over-2026!"


@pytest.fixture
def demo_users():
    demo.seed_sites_and_users()
    return {user.username: user for user in User.objects.all()}


def set_password_url(user: User) -> str:
    return reverse("admin:auth_user_password_change", args=[user.pk])


def test_the_demo_data_manager_cannot_set_the_investigators_password(client, demo_users):
    manager, investigator = demo_users["datamanager"], demo_users["investigator_pumch"]
    assert manager.is_staff  # staff status alone used to open the admin
    client.force_login(manager)

    response = client.post(
        set_password_url(investigator),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("admin:login"))
    investigator.refresh_from_db()
    assert investigator.check_password(demo.DEMO_PASSWORD)
    assert not investigator.check_password(NEW_PASSWORD)


def test_the_data_manager_cannot_open_the_admin_at_all(client, demo_users):
    client.force_login(demo_users["datamanager"])
    for url in (
        reverse("admin:index"),
        reverse("admin:trialsite_user_changelist"),
        reverse("admin:trialsite_user_change", args=[demo_users["datamanager"].pk]),
        reverse("admin:auth_group_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_a_superuser_sees_users_and_roles_read_only_in_the_admin(client, demo_users):
    root = User.objects.create_superuser("root", "root@example.org", "root-pass-2026!")
    investigator = demo_users["investigator_pumch"]
    client.force_login(root)

    assert client.get(reverse("admin:index")).status_code == 200
    page = client.get(reverse("admin:trialsite_user_change", args=[investigator.pk]))
    assert page.status_code == 200
    assert b'name="groups"' not in page.content  # no role editing
    assert b'name="sites"' not in page.content  # no site editing
    refused = client.post(
        set_password_url(investigator),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert refused.status_code == 403
    group = client.post(
        reverse("admin:auth_group_change", args=[investigator.groups.get().pk]),
        {"name": "Investigator", "permissions": []},
    )
    assert group.status_code == 403
    investigator.refresh_from_db()
    assert investigator.check_password(demo.DEMO_PASSWORD)
    assert investigator.groups.get().permissions.filter(codename="sign_data").exists()
