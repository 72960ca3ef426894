"""Hostile input against every clinical form: never a 500, never a stored script,
a clear field error each time, and nothing already saved changes when a post is refused.

The forms are found from the URL map (the data-entry views of the authorisation
matrix) and their fields from the rendered page, so a new form is fuzzed too.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_authorization_matrix import KINDS, url_for, url_patterns, world  # noqa: F401
from trialsite.models import ClinicalRecord, User

pytestmark = pytest.mark.django_db

EXAMPLES_PER_FORM = 12

HOSTILE = st.one_of(
    st.sampled_from(
        [
            "<script>alert('x')</script>",
            '"><img src=x onerror=alert(1)>',
            "'; DROP TABLE eligibility_screening; --",
            "NaN",
            "Infinity",
            "-1",
            "-999999999999999999999",
            "1e308",
            "9" * 60,
            "31/02/2026",
            "2026-13-45",
            "0000-00-00",
            "\x00",
            "x" * 10_000,
            "٣",
            "💉🧪",
            "   ",
            "true",
        ]
    ),
    st.text(min_size=0, max_size=50),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)


class _Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and (attributes.get("method") or "").lower() == "post":
            self._in_form = True
        named = self._in_form and tag in ("input", "select", "textarea") and attributes.get("name")
        # Hidden fields are the form's own plumbing, except the optimistic-lock version.
        if named and (
            attributes.get("type") not in ("hidden", "submit") or attributes["name"] == "version"
        ):
            self.names.add(attributes["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False


def form_fields(html: str) -> set[str]:
    parser = _Fields()
    parser.feed(html)
    return parser.names - {"csrfmiddlewaretoken"}


def snapshot() -> dict[str, list]:
    """Every clinical row's version, to show a refused post changed nothing."""
    return {
        model._meta.label: sorted(model._default_manager.values_list("pk", "version"))
        for model in apps.get_models()
        if issubclass(model, ClinicalRecord) and not model._meta.abstract
    }


# The hostile markup itself, unescaped (escaped, it is harmless text).
EXECUTABLE = re.compile(r"<script>alert|<img src=x onerror", re.I)


def fuzz_form(client: Client, name: str, url: str, fields: list[str], counts: dict) -> None:
    """POST hostile values to one form, EXAMPLES_PER_FORM times."""
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()  # each form starts without earlier lockouts

    @settings(
        max_examples=EXAMPLES_PER_FORM,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=True,
    )
    @given(data=st.fixed_dictionaries(dict.fromkeys(fields, HOSTILE)))
    def post_hostile(data):
        before = snapshot()
        response = client.post(url, data)
        counts[name] = counts.get(name, 0) + 1
        assert response.status_code != 500, (name, data)
        if response.status_code == 429 and "password" in fields:
            # Wrong signing passwords lock the signer out, as wrong logins do.
            assert snapshot() == before, (name, "a refused signature changed saved data")
            return
        assert response.status_code in (200, 302, 403), (name, response.status_code)
        if response.status_code == 200:
            html = response.content.decode()
            assert not EXECUTABLE.search(html), (name, "script rendered unescaped")
            # Refused: the page says why, and nothing saved before has changed.
            assert "invalid-feedback" in html or "alert-danger" in html or "errorlist" in html, (
                name,
                data,
            )
            assert snapshot() == before, (name, "a refused post changed saved data")
        else:
            for page in (client.get(reverse("dashboard")), client.get(url)):
                assert not EXECUTABLE.search(page.content.decode()), name

    post_hostile()


@pytest.mark.slow
def test_hostile_values_never_break_a_clinical_form(world, figure):  # noqa: F811 - the fixture
    values, by_view, _secrets = world
    client = Client()
    client.force_login(User.objects.get(username="investigator_pumch"))
    forms = []
    for name, pattern in url_patterns():
        if KINDS.get(name) not in ("WRITE", "CREATE", "READ_WRITE", "SIGN"):
            continue
        url = url_for(name, pattern, values, by_view)
        page = client.get(url)
        if page.status_code != 200:
            continue  # e.g. the infusion form without an open prescription redirects
        fields = form_fields(page.content.decode())
        if fields - {"version"}:
            forms.append((name, url, sorted(fields)))
    assert len(forms) >= 20, forms

    counts: dict[str, int] = {}
    for name, url, fields in forms:
        fuzz_form(client, name, url, fields, counts)

    figure(
        "hostile input",
        f"{len(forms)} clinical forms, {sum(counts.values())} hostile posts "
        f"({EXAMPLES_PER_FORM} per form): no 500, no script rendered, refused posts changed "
        "nothing",
    )
