"""Shared fixtures: the named personas every test uses, and the real browser."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.factories.trialsite import PASSWORD, SiteFactory, UserFactory
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
# are printed at the end of every run and written to var/assurance.txt, which the
# README's Assurance section is copied from.

_FIGURES: list[tuple[str, str]] = []


@pytest.fixture
def figure():
    """``figure(name, value)``: report an assurance figure from a test."""

    def record(name: str, value: object) -> None:
        _FIGURES.append((name, str(value)))

    return record


def pytest_terminal_summary(terminalreporter) -> None:
    if not _FIGURES:
        return
    from pathlib import Path

    from django.conf import settings

    terminalreporter.section("assurance figures")
    lines = [f"{name}: {value}" for name, value in _FIGURES]
    for line in lines:
        terminalreporter.write_line(line)
    path = Path(settings.VAR_DIR) / "assurance.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
