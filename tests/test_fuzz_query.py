"""Hostile query parameters against every GET page of the URL map: never a 500.

The views come from the resolver (a new page is fuzzed too), with the demo trial's ids
for their URL arguments (the authorisation matrix's ``world``). Each is asked, as a
data manager and as a coordinator, with the query parameters the pages read (month,
site, page, the filters) and random names, holding hostile values: NUL, huge and
negative numbers, impossible months, unicode. Issue 16: ``/dosing/calendar/?month=9999-12``,
``?month=0001-01`` and ``/crf/status/?site=%00`` answered 500.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_authorization_matrix import (  # noqa: F401 - world is a fixture
    GET_ONLY,
    KINDS,
    POST_ONLY,
    url_for,
    url_patterns,
    world,
)
from trialsite.models import User
from trialsite.query import IGNORED, MONTH_OUT_OF_RANGE, month_bounds

pytestmark = pytest.mark.django_db

EXAMPLES_PER_VIEW = 3

# The parameters the pages read (grep request.GET and the GET filter forms).
NAMES = (
    "page",
    "month",
    "site",
    "participant",
    "q",
    "status",
    "state",
    "field",
    "code",
    "kind",
    "open_only",
    "reconsent",
    "next",
)

# Each is tried in every known parameter at once; hypothesis mixes them with others.
HOSTILE_VALUES = (
    "\x00",
    "9999-12",
    "0001-01",
    "-1",
    "99999999999999999999999999",
    "💉٣",
    "x" * 5_000,
)
MORE_HOSTILE = (
    "a\x00b",
    "0000-00",
    "10000-01",
    "-99999999999999999999",
    "1e308",
    "NaN",
    "2026-13",
    "<script>alert(1)</script>",
    "",
)

HOSTILE = st.one_of(
    st.sampled_from(HOSTILE_VALUES + MORE_HOSTILE),
    st.text(max_size=20),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
PARAMS = st.dictionaries(
    st.one_of(st.sampled_from(NAMES), st.text(min_size=1, max_size=8)), HOSTILE, max_size=5
)

# Not pages: logging out ends the session the test fuzzes with.
SKIPPED = {"logout"}


def get_views(values: dict, by_view: dict) -> dict[str, str]:
    """Every view answering GET, by name, with its URL (the demo's ids for arguments)."""
    urls = {}
    for name, pattern in url_patterns():
        kind = KINDS.get(name, "")
        if name in SKIPPED or name in POST_ONLY or kind.endswith("_POST") or kind == "ALERT":
            continue
        urls[name] = url_for(name, pattern, values, by_view)
    return urls


def assert_never_500(client: Client, name: str, url: str) -> None:
    # Every known parameter at once, with each fixed hostile value: the issue's URLs first.
    for value in HOSTILE_VALUES:
        response = client.get(url, dict.fromkeys(NAMES, value))
        assert response.status_code < 500, (name, repr(value[:20]), response.status_code)

    @settings(
        max_examples=EXAMPLES_PER_VIEW,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=True,
        database=None,
    )
    @given(params=PARAMS)
    def get_hostile(params):
        response = client.get(url, params)
        assert response.status_code < 500, (name, params, response.status_code)

    get_hostile()


def test_the_issue_urls_answer_with_the_page_and_a_message(world, client):  # noqa: F811
    client.force_login(User.objects.get(username="datamanager"))
    for url in (
        "/dosing/calendar/?month=9999-12",
        "/dosing/calendar/?month=0001-01",
        "/crf/status/?site=%00",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert [str(m) for m in response.context["messages"]], url

    response = client.get("/dosing/calendar/", {"month": "9999-12"})
    assert response.context["calendar"].month == timezone.localdate().replace(day=1)
    first, last = month_bounds(timezone.localdate())
    expected = MONTH_OUT_OF_RANGE % {"first": f"{first:%Y-%m}", "last": f"{last:%Y-%m}"}
    assert expected in [str(m) for m in response.context["messages"]]
    response = client.get("/crf/status/", {"site": "\x00"})
    assert response.context["site_code"] == ""
    assert IGNORED % {"name": "site"} in [str(m) for m in response.context["messages"]]


@pytest.mark.slow
def test_hostile_query_parameters_never_break_a_page(world, figure):  # noqa: F811
    values, by_view, _secrets = world
    urls = get_views(values, by_view)
    assert {"dosing:calendar", "crf:form_status", "enrollment:list", "search"} <= set(urls)
    assert GET_ONLY - {"healthz", "dosing:feed_ics"} <= set(urls)
    for username in ("datamanager", "coordinator_pumch"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        for name, url in urls.items():
            assert_never_500(client, name, url)
    figure(
        "hostile query parameters",
        f"{len(urls)} GET pages x 2 roles x ({len(HOSTILE_VALUES)} fixed + "
        f"{EXAMPLES_PER_VIEW} generated) hostile queries: no 500",
    )
