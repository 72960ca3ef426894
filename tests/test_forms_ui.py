"""Small visible parts of issue 19: the favicon, no source-file names shown to users,
error summaries that link to their fields, inline radio buttons, and refusals that say
who can act."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.factories.crf import make_participant, make_visit, save_labs

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


def visible_text(html: str) -> str:
    """The page as a reader sees it: no tags, no scripts, entities decoded."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


SOURCE_FILE = re.compile(r"\b[\w/]+\.py\b")


@pytest.fixture
def visit(site_pumch, coordinator_pumch, investigator_pumch):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    return make_visit(participant, "W12", user=coordinator_pumch)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_page_names_a_source_file(client_for, coordinator_pumch, data_manager, visit, language):
    save_labs(visit, coordinator_pumch, esr="45", c4="0.05", igg="12")
    pages = [
        (coordinator_pumch, reverse("crf:visit", args=[visit.pk])),
        (coordinator_pumch, reverse("crf:visit_labs", args=[visit.pk])),
        (data_manager, reverse("jobs")),
    ]
    for user, url in pages:
        client = client_for(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        response = client.get(url)
        assert response.status_code == 200, url
        text = visible_text(response.content.decode())
        assert "L/H" in text or url != pages[0][1]
        assert not SOURCE_FILE.findall(text), (url, SOURCE_FILE.findall(text))
