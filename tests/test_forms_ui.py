"""Small visible parts of issue 19: the favicon, no source-file names shown to users,
error summaries that link to their fields, inline radio buttons, and refusals that say
who can act."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_favicon_ico_is_answered_with_the_static_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code in (301, 302)
    assert response["Location"].endswith("img/favicon.svg")
    assert finders.find("img/favicon.svg"), "the icon is committed under static/"


def test_every_page_links_its_icon(client):
    response = client.get("/accounts/login/", follow=True)
    assert response.status_code == 200
    assert 'rel="icon"' in response.content.decode()
