"""Hostile input against every clinical form: never a 500, never a stored script,
a clear field error each time a post is refused, and nothing already saved changes.

The forms are found from the URL map (the data-entry views of the authorisation
matrix), expanded over every visit CRF kind and every screening section, and their
fields from the rendered page, so a new form is fuzzed too. The test knows which forms
it must reach and fails if one is missing (a page that redirects, a 404...).

Each example loads the form as a browser does and posts its hidden fields back as they
came (the version or the lab panel's fingerprint it was loaded at: a hostile version
would only test the conflict check, before any validation), with a hostile value in
every field the user fills in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.test import Client
from django.urls import resolve, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crf.forms import VISIT_FORMS
from eligibility.forms import SECTIONS
from tests.html_forms import main_form
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

# The data-entry kinds of the authorisation matrix: pages with a form of their own.
FORM_KINDS = ("WRITE", "CREATE", "READ_WRITE", "SIGN")
# Views expanded over a URL argument: every visit CRF and every screening section.
EXPANDED = {
    "crf:visit_form": ("kind", sorted(VISIT_FORMS)),
    "eligibility:section": ("section", sorted(SECTIONS)),
}
# Data-entry views without a page of their own: buttons on other pages that post a
# reason (voiding a record, closing a screening). Their reason is fuzzed too, after
# every form (an accepted one voids the record). Each must answer GET with 405.
ACTIONS = {
    "eligibility:therapy_void": "reason",
    "eligibility:fail": "reason",
    "dosing:b_cell_void": "reason",
    "dosing:gate_lab_void": "reason",
    "crf:visit_form_void": "reason",
    "crf:ae_void": "reason",
    "crf:ae_update_void": "reason",
    "crf:con_med_void": "reason",
}
# A button without any input (completing treatment): nothing to fuzz.
NO_INPUT = {"dosing:complete"}
# Confirmations made once: after one is accepted its page sends the user back.
ONE_SHOT = {"dosing:not_done"}


def snapshot() -> dict[str, list]:
    """Every clinical row's version, to show a refused post changed nothing."""
    return {
        model._meta.label: sorted(model._default_manager.values_list("pk", "version"))
        for model in apps.get_models()
        if issubclass(model, ClinicalRecord) and not model._meta.abstract
    }


# The hostile markup itself, unescaped (escaped, it is harmless text).
EXECUTABLE = re.compile(r"<script>alert|<img src=x onerror", re.I)
INVALID_INPUT = re.compile(r"<(?:input|select|textarea)\b[^>]*\baria-invalid=\"true\"[^>]*>", re.I)
NAME = re.compile(r"\bname=\"([^\"]+)\"")


def invalid_fields(html: str) -> set[str]:
    """Names of the inputs marked invalid (``aria-invalid``): errors tied to a field."""
    return {m.group(1) for tag in INVALID_INPUT.findall(html) if (m := NAME.search(tag))}


def field_errors(response) -> set[str]:
    """Fields the page's form holds errors for (not the form-level banner)."""
    context = response.context
    form = context.get("form") if context is not None else None
    if form is None or not hasattr(form, "errors"):
        return set()
    return {name for name in form.errors if name != "__all__"}


@dataclass
class Tally:
    posts: int = 0
    accepted: int = 0
    refused: int = 0
    locked_out: int = 0


def no_script_after(client: Client, response, url: str, name: str) -> None:
    pages = [reverse("dashboard"), url]
    if response.status_code == 302:
        pages.append(response["Location"])
    for page in pages:
        shown = client.get(page)
        assert shown.status_code != 500, (name, page)
        assert not EXECUTABLE.search(shown.content.decode(errors="replace")), (name, page)


def fuzz_form(client: Client, name: str, url: str, tally: Tally) -> None:
    """POST hostile values to one form, EXAMPLES_PER_FORM times, each on a fresh load."""
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()  # each form starts without earlier lockouts
    accepted_once: list[bool] = []

    @settings(
        max_examples=EXAMPLES_PER_FORM,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=True,
        database=None,
    )
    @given(values=st.data())
    def post_hostile(values):
        if accepted_once:
            return  # a one-shot confirmation: once accepted, nothing is left to confirm
        page = client.get(url)
        assert page.status_code == 200, (name, "the form page no longer answers", page.status_code)
        form = main_form(page.content.decode(), url)
        assert form is not None and form.names, (name, "the page no longer has its form")
        fields = sorted(form.names)
        hostile = values.draw(st.fixed_dictionaries(dict.fromkeys(fields, HOSTILE)))
        before = snapshot()
        response = client.post(url, {**form.hidden, **hostile})
        tally.posts += 1
        assert response.status_code != 500, (name, hostile)
        if response.status_code == 429 and "password" in fields:
            # Wrong signing passwords lock the signer out, as wrong logins do.
            assert snapshot() == before, (name, "a refused signature changed saved data")
            tally.locked_out += 1
            return
        assert response.status_code in (200, 302), (name, response.status_code)
        if response.status_code == 200:
            html = response.content.decode()
            assert not EXECUTABLE.search(html), (name, "script rendered unescaped")
            # Refused: an error tied to a field the user filled (not only a banner) ...
            tied = invalid_fields(html) & set(fields)
            assert tied, (name, "refused without a field-level error", hostile)
            errors = field_errors(response)
            if response.context and "form" in response.context:
                assert errors, (name, "the form holds no field error", hostile)
            # ... and nothing saved before has changed.
            assert snapshot() == before, (name, "a refused post changed saved data")
            tally.refused += 1
        else:
            tally.accepted += 1
            no_script_after(client, response, url, name)
            if name in ONE_SHOT:
                accepted_once.append(True)

    post_hostile()


def fuzz_action(client: Client, name: str, url: str, field_name: str, tally: Tally) -> None:
    """POST hostile reasons to a button's view (void, screen failure)."""
    answered: list[int] = []

    @settings(
        max_examples=EXAMPLES_PER_FORM,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=True,
        database=None,
    )
    @given(reason=HOSTILE)
    def post_hostile(reason):
        response = client.post(url, {field_name: reason})
        tally.posts += 1
        # Once an earlier reason was accepted, the record is voided: a visit form's void
        # then finds no current form to void (404); the others say so in a message.
        allowed = {302, 404} if 302 in answered else {302}
        assert response.status_code in allowed, (name, response.status_code, reason)
        answered.append(response.status_code)
        if response.status_code == 302:
            no_script_after(client, response, response["Location"], name)

    post_hostile()


def form_urls(values: dict, by_view: dict) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """Every data-entry view's URL(s): (forms, actions, views without input)."""
    forms, actions, no_input = {}, {}, set()
    for name, pattern in url_patterns():
        if KINDS.get(name) not in FORM_KINDS:
            continue
        if name in ACTIONS:
            actions[name] = url_for(name, pattern, values, by_view)
        elif name in NO_INPUT:
            no_input.add(name)
        elif name in EXPANDED:
            key, choices = EXPANDED[name]
            fixed = {k: v for k, v in by_view.get(name, {}).items() if k != key}
            for choice in choices:
                forms[f"{name}[{choice}]"] = url_for(
                    name, pattern, {**values, key: choice}, {**by_view, name: fixed}
                )
        else:
            forms[name] = url_for(name, pattern, values, by_view)
    return forms, actions, no_input


def expected_forms() -> set[str]:
    """What must be fuzzed, from the URL map alone (not from what answered)."""
    names = set()
    for name, _pattern in url_patterns():
        if KINDS.get(name) not in FORM_KINDS or name in ACTIONS or name in NO_INPUT:
            continue
        if name in EXPANDED:
            names |= {f"{name}[{choice}]" for choice in EXPANDED[name][1]}
        else:
            names.add(name)
    return names


def test_every_visit_crf_kind_and_screening_section_is_expected():
    expected = expected_forms()
    assert {f"crf:visit_form[{kind}]" for kind in VISIT_FORMS} <= expected
    assert {f"eligibility:section[{section}]" for section in SECTIONS} <= expected
    assert {"dosing:infusion", "crf:visit_labs", "eligibility:labs", "dosing:gate_labs"} <= expected


@pytest.mark.slow
def test_hostile_values_never_break_a_clinical_form(world, figure):  # noqa: F811 - the fixture
    values, by_view, _secrets = world
    client = Client()
    client.force_login(User.objects.get(username="investigator_pumch"))
    forms, actions, no_input = form_urls(values, by_view)

    # Every form is reached: the page answers 200 with a form the user fills in.
    unreached = {}
    for name, url in forms.items():
        page = client.get(url)
        form = main_form(page.content.decode(), url) if page.status_code == 200 else None
        if form is None or not form.names:
            unreached[name] = (url, page.status_code, page.get("Location"))
    assert not unreached, f"forms the fuzzer could not reach: {unreached}"
    assert set(forms) == expected_forms()
    # The buttons take no GET: they have no page of their own (else they belong above).
    for name in [*actions, *no_input]:
        url = actions.get(name) or url_for(name, dict(url_patterns())[name], values, by_view)
        assert client.get(url).status_code == 405, name
        assert resolve(url).view_name == name

    tally = Tally()
    for name, url in forms.items():
        fuzz_form(client, name, url, tally)
    form_posts = tally.posts
    for name, url in actions.items():
        fuzz_action(client, name, url, ACTIONS[name], tally)

    figure(
        "hostile input",
        f"{len(forms)} clinical forms (every visit CRF kind and screening section, the "
        f"infusion form included) x {EXAMPLES_PER_FORM} hostile examples = {form_posts} posts "
        f"({tally.refused} refused, each with an error tied to a field, saved data unchanged; "
        f"{tally.accepted} accepted; {tally.locked_out} signature lock-outs), plus "
        f"{len(actions)} void/close buttons x {EXAMPLES_PER_FORM} = "
        f"{tally.posts - form_posts} posts: no 500, no script rendered",
    )
