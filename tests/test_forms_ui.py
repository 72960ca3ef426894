"""Small visible parts of issue 19: the favicon, no source-file names shown to users,
error summaries that link to their fields, inline radio buttons, and refusals that say
who can act."""

from __future__ import annotations

import re
from html import escape, unescape

import pytest
from django import forms
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

from crf.forms import GLUCOCORTICOID_NEEDS_MG, SERIOUS_NEEDS_CRITERION
from tests.factories.crf import ae_data, make_participant, make_visit, save_labs
from tests.i18n_support import compile_catalogue

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


@pytest.fixture
def participant(site_pumch, coordinator_pumch, investigator_pumch):
    return make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )


def error_summary(html: str) -> str:
    match = re.search(r"<div[^>]*data-error-summary[^>]*>(.*?)</div>", html, flags=re.S)
    assert match, "the refused form has an error summary"
    return match.group(1)


def test_a_refused_form_links_each_error_to_its_field_and_shows_the_message_once(
    client_for, coordinator_pumch, participant
):
    response = client_for(coordinator_pumch).post(
        reverse("crf:ae_add", args=[participant.subject_id]),
        ae_data(term="", serious_criteria=[]),
    )

    assert response.status_code == 200
    html = response.content.decode()
    summary = error_summary(html)
    assert 'href="#id_term"' in summary
    assert 'href="#id_serious_criteria_0"' in summary and 'id="id_serious_criteria_0"' in html
    assert 'id="id_term"' in html
    needs_criterion = escape(str(SERIOUS_NEEDS_CRITERION))
    assert html.count(needs_criterion) == 1 and needs_criterion not in summary
    assert html.count(escape(str(forms.Field.default_error_messages["required"]))) == 1


def test_an_error_of_no_field_is_in_the_summary_once(client_for, coordinator_pumch, participant):
    response = client_for(coordinator_pumch).post(
        reverse("crf:con_med_add", args=[participant.subject_id]),
        {
            "drug": "prednisolone",
            "dose": "5",
            "dose_unit": "mL",
            "route": "oral",
            "frequency": "prn",
            "start_date": "2026-01-01",
            "indication": "x",
        },
    )

    html = response.content.decode()
    message = escape(str(GLUCOCORTICOID_NEEDS_MG))
    assert message in error_summary(html)
    assert html.count(message) == 1


def test_radio_buttons_are_inline_and_their_error_shows_once(
    client_for, coordinator_pumch, participant
):
    url = reverse("crf:ae_add", args=[participant.subject_id])
    client = client_for(coordinator_pumch)
    html = client.get(url).content.decode()
    grade_radios = re.findall(
        r'<div class="([^"]*)">\s*<input type="radio" [^>]*name="grade"', html
    )
    assert grade_radios and all("form-check-inline" in c for c in grade_radios)
    criteria = re.findall(r'<div class="([^"]*)">\s*<input type="checkbox"', html)
    assert criteria and not any("form-check-inline" in c for c in criteria)

    refused = client.post(url, ae_data(grade="")).content.decode()
    assert 'href="#id_grade_0"' in error_summary(refused)
    required = escape(str(forms.Field.default_error_messages["required"]))
    assert refused.count(required) == 1


def test_a_refused_action_says_who_can_take_it_and_whom_to_ask(
    client_for, coordinator_pumch, investigator_pumch, investigator_chcmu, participant
):
    client = client_for(coordinator_pumch)
    response = client.get(reverse("dosing:day_0", args=[participant.subject_id]))

    assert response.status_code == 403
    text = " ".join(visible_text(response.content.decode()).split())
    assert "The investigator confirms Day 0 (EXC5 re-confirmation): ask" in text
    assert investigator_pumch.printed_name in text
    assert investigator_chcmu.printed_name not in text  # another site's investigator

    compile_catalogue()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.get(reverse("dosing:prescribe", args=[participant.subject_id]))
    text = visible_text(response.content.decode())
    assert response.status_code == 403
    assert f"每次输注由研究者开具处方：请联系{investigator_pumch.printed_name}。" in text
