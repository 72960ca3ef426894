"""Every redirect target taken from the request stays on this site (issue 16)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse

from crf.models import SaeAcknowledgement, SeriousAeAlert
from tests.factories.crf import make_participant, record_ae
from trialsite.redirects import redirect_next

pytestmark = pytest.mark.django_db

HOSTILE_TARGETS = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    " https://evil.example/",
    "https://testserver@evil.example/",
    "dashboard",  # a view name: a next is a URL, never reversed
]


@pytest.fixture
def alert(site_pumch, coordinator_pumch, investigator_pumch):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    record_ae(participant, coordinator_pumch)
    return SeriousAeAlert.objects.get()


def test_acknowledging_an_alert_never_redirects_to_another_site(
    client_for, investigator_pumch, alert
):
    client = client_for(investigator_pumch)
    url = reverse("crf:alert_acknowledge", args=[alert.pk])

    response = client.post(url, {"next": "https://evil.example/steal"})

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert SaeAcknowledgement.objects.filter(alert=alert, user=investigator_pumch).exists()


def test_acknowledging_an_alert_goes_back_to_a_page_of_this_site(
    client_for, investigator_pumch, alert
):
    back = reverse("enrollment:list") + "?status=enrolled"
    response = client_for(investigator_pumch).post(
        reverse("crf:alert_acknowledge", args=[alert.pk]), {"next": back}
    )
    assert response["Location"] == back


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_a_next_outside_this_site_falls_back_to_the_default(target):
    request = RequestFactory().post("/anything/", {"next": target})
    assert redirect_next(request, "dashboard")["Location"] == reverse("dashboard")


def test_a_next_on_this_site_is_followed_from_post_or_get():
    assert (
        redirect_next(RequestFactory().post("/", {"next": "/crf/"}), "dashboard")["Location"]
        == "/crf/"
    )
    assert (
        redirect_next(RequestFactory().get("/", {"next": "/crf/?a=1"}), "dashboard")["Location"]
        == "/crf/?a=1"
    )
