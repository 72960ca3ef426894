"""Shared fixtures: the named personas every test uses, and the real browser."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.factories.trialsite import PASSWORD, SiteFactory, UserFactory
from trialsite import workflow
from trialsite.roles import Role

# Playwright's sync API runs an event loop in the test thread; the ORM calls a
# test makes around it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_report_header(config) -> str:
    if CHROMIUM:
        return f"browser tests: Chromium at {CHROMIUM}"
    return "browser tests: NO CHROMIUM FOUND — browser tests will be skipped"


@pytest.fixture(autouse=True)
def every_write_runs_the_after_write_steps():
    """A clinical record saved by the app's code without ``workflow.record_changed`` (the
    after-write steps: SDV cleared, sign-offs voided, edit checks…) fails the test."""
    workflow.unannounced_saves()
    yield
    missed = workflow.unannounced_saves()
    assert not missed, f"saved without workflow.record_changed: {missed!r}"


# --- the second factor ------------------------------------------------------------
# Investigators, data managers and superusers must pass a second factor before anything
# else (accounts/middleware.py). Tests of other features log users in with force_login or
# the password form; here, in one place, every such login counts as verified: the session
# is bound to a "test session" device of the user, as django-otp binds a real login to
# the device that accepted the code. A static device without codes: it never makes the
# login form ask for a code (only an authenticator does) and no code can be typed for it.
# Tests of the second factor itself are marked `real_mfa` and get the real thing.

TEST_DEVICE = "test session"
_REAL_MFA = {"on": False}


def _verified_test_login(sender, request, user, **kwargs) -> None:
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_static.models import StaticDevice

    if _REAL_MFA["on"] or request is None or DEVICE_ID_SESSION_KEY in request.session:
        return
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=TEST_DEVICE, defaults={"confirmed": True}
    )
    request.session[DEVICE_ID_SESSION_KEY] = device.persistent_id


@pytest.fixture(autouse=True, scope="session")
def test_logins_pass_the_second_factor():
    from django.contrib.auth.signals import user_logged_in

    user_logged_in.connect(_verified_test_login, dispatch_uid="tests-verified-login")
    yield
    user_logged_in.disconnect(dispatch_uid="tests-verified-login")


@pytest.fixture(autouse=True)
def real_mfa_when_marked(request):
    _REAL_MFA["on"] = request.node.get_closest_marker("real_mfa") is not None
    yield
    _REAL_MFA["on"] = False


# --- sites and personas --------------------------------------------------------


@pytest.fixture
def site_pumch(db):
    return SiteFactory(code="PUMCH", name="Peking Union Medical College Hospital")


@pytest.fixture
def site_chcmu(db):
    return SiteFactory(code="CHCMU", name="Children's Hospital of Chongqing Medical University")


@pytest.fixture
def coordinator_pumch(site_pumch):
    return UserFactory(username="alice", role=Role.COORDINATOR, sites=[site_pumch])


@pytest.fixture
def investigator_pumch(site_pumch):
    return UserFactory(
        username="ivan",
        first_name="Ivan",
        last_name="Chen",
        role=Role.INVESTIGATOR,
        sites=[site_pumch],
    )


@pytest.fixture
def monitor_pumch(site_pumch):
    return UserFactory(username="mona", role=Role.MONITOR, sites=[site_pumch])


@pytest.fixture
def data_manager(db):
    return UserFactory(username="dana", role=Role.DATA_MANAGER, is_staff=True)


@pytest.fixture
def coordinator_chcmu(site_chcmu):
    return UserFactory(username="bob", role=Role.COORDINATOR, sites=[site_chcmu])


@pytest.fixture
def investigator_chcmu(site_chcmu):
    return UserFactory(username="irene", role=Role.INVESTIGATOR, sites=[site_chcmu])


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def client_for(client):
    """``client_for(user)``: the test client logged in as ``user``."""

    def log_in(user):
        client.force_login(user)
        return client

    return log_in


# --- the real browser ----------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:
        pytest.skip("no Chromium on this machine (install Debian's 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, transactional_db):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def log_in(page):
    """``log_in(user)`` through the real login form."""

    def do_log_in(user, password: str = PASSWORD):
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        return page

    return do_log_in


# --- assurance figures -----------------------------------------------------------
# Tests that prove a property report a figure (pairs checked, examples run...). They
# are printed at the end of every run and written to var/assurance.txt (one figure a
# line: name, figure and the test file producing it, tab-separated), with a first line
# describing the run itself; `make assurance-readme` (trialsite/assurance.py) copies them
# into the README's Assurance section.

_FIGURES: list[tuple[str, str, str]] = []
# Figures assembled from many tests (one part each, e.g. one per page checked).
_PARTS: dict[str, tuple[str, str, list[str]]] = {}


def _source(request) -> str:
    return request.node.path.relative_to(request.config.rootpath).as_posix()


@pytest.fixture
def figure(request):
    """``figure(name, value)``: report an assurance figure from a test."""

    def record(name: str, value: object) -> None:
        _FIGURES.append((name, str(value), _source(request)))

    return record


@pytest.fixture
def figure_part(request):
    """``figure_part(name, item, template)``: one part of a figure several tests make
    together; the line is ``template`` with ``{n}`` the number of parts reported."""

    def record(name: str, item: str, template: str) -> None:
        _PARTS.setdefault(name, (template, _source(request), []))[2].append(item)

    return record


def _run_description(terminalreporter) -> str:
    from django.db import connection

    stats = terminalreporter.stats
    counts = {
        "passed": len([r for r in stats.get("passed", []) if r.when == "call"]),
        "failed": len(stats.get("failed", [])),
        "skipped": len(stats.get("skipped", [])),
        "errors": len(stats.get("error", [])),
    }
    tested = ", ".join(f"{n} {word}" for word, n in counts.items() if n or word == "passed")
    try:
        server = f"PostgreSQL {connection.pg_version // 10000}"
    except Exception:  # no database was used in this run
        server = "no database"
    where = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "the embedded server"
    args = terminalreporter.config.invocation_params.args
    chosen = [a for a in args if not a.startswith("-")] or stats.get("deselected")
    scope = "a partial run" if chosen else "the full suite"
    from django.utils import timezone

    return f"{timezone.localdate().isoformat()}: {scope}, {tested}, on {server} ({where})"


def pytest_terminal_summary(terminalreporter) -> None:
    if not _FIGURES and not _PARTS:
        return
    from pathlib import Path

    from django.conf import settings

    figures = list(_FIGURES) + [
        (name, template.format(n=len(items)), source)
        for name, (template, source, items) in _PARTS.items()
    ]
    run = _run_description(terminalreporter)
    terminalreporter.section("assurance figures")
    terminalreporter.write_line(f"run: {run}")
    for name, value, _source_file in figures:
        terminalreporter.write_line(f"{name}: {value}")
    lines = [f"run\t{run}\tmake test"] + [
        "\t".join(" ".join(part.split()) for part in figure) for figure in figures
    ]
    # The latest run, and the latest of its database leg (CI runs both; the README shows
    # both: `make assurance-readme`).
    leg = "external" if os.environ.get("DATABASE_URL") else "embedded"
    for name in ("assurance.txt", f"assurance-{leg}.txt"):
        path = Path(settings.VAR_DIR) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def app_db():
    """A connection as the app's least-privilege database role (what the web app uses)."""
    import psycopg2
    from django.conf import settings
    from django.db import connection

    params = connection.settings_dict
    conn = psycopg2.connect(
        dbname=params["NAME"],
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        user=settings.DATABASE_APP_ROLE,
    )
    conn.autocommit = True
    yield conn
    conn.close()
