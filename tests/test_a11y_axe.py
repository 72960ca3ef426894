"""Issues 11 and 19, accessibility: axe-core (vendored under tests/vendor/) runs inside
Chromium on every page the demo trial reaches, as each demo role.

The test is a crawler, not a list: logged in as the coordinator, the investigator, the
monitor and the data manager, it starts from the dashboard (and from a locked, signed
visit of the demo data) and follows every same-origin GET link it finds. Pages are
grouped by their URL pattern (the route, with the kind of form or visit it names), and
at most ``SAMPLES_FIRST_WALK`` distinct objects are visited per pattern, so every page
type is covered without visiting every record. English for every role, Chinese for the
investigator (who reaches the most pages). No serious or critical violation is allowed;
the test prints the pages it checked, what it found and how long it took."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from django.conf import settings
from django.urls import Resolver404, resolve
from django.utils import timezone, translation

from demo import seed as demo
from monitoring.models import Lock, LockScope, Signoff, SignoffKind
from tests.i18n_support import compile_catalogue

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(autouse=True, scope="module")
def _compiled_catalogue():
    # The Chinese pages need the compiled catalogue (`make` builds it; a bare pytest may not).
    compile_catalogue()


AXE_VERSION = "4.14.1"
AXE_SOURCE = Path(__file__).parent / "vendor" / f"axe-core-{AXE_VERSION}" / "axe.min.js"
FAILING_IMPACTS = {"serious", "critical"}
# Every WCAG 2.0/2.1/2.2 A and AA rule, plus axe's best practices.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
# One user per role (demo/seed.py), and the languages each walk is made in.
WALKS = (
    ("investigator_pumch", "en"),
    ("coordinator_pumch", "en"),
    ("investigator_pumch", "zh-hans"),
    ("monitor", "en"),
    ("datamanager", "en"),
)
# Each walk visits one object of each page type (CI time: every page type of every role is
# covered, not every object); the start pages come on top.
SAMPLES_FIRST_WALK, SAMPLES_PER_PATTERN = 1, 1
# A11Y_TRACE=1 prints each page as it is visited (to see where the time goes).
TRACE = os.environ.get("A11Y_TRACE")
# URL arguments that name a kind of page (a form, a visit type...), not an object: pages
# differing in them are different pages.
PAGE_KIND_ARGUMENTS = {"kind", "visit_type", "code", "section", "app_label", "model_name"}
# Not pages: leaving the session, file downloads, Django's own admin, machine endpoints.
SKIPPED_PREFIXES = ("/admin/", "/static/", "/media/", "/i18n/", "/healthz", "/favicon.ico")
SKIPPED_PARTS = ("logout", "/download/", "/exports/casebook/")


def run_axe(page) -> list[dict]:
    # Evaluated through the DevTools protocol: the page's Content-Security-Policy (no
    # inline or foreign script) stays on, as users have it.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
    return page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]


def page_pattern(path: str) -> str | None:
    """The page type a path shows (its route and page-kind arguments), None if not ours."""
    if path.startswith(SKIPPED_PREFIXES) or any(part in path for part in SKIPPED_PARTS):
        return None
    try:
        match = resolve(path)
    except Resolver404:
        return None
    kinds = sorted((k, v) for k, v in match.kwargs.items() if k in PAGE_KIND_ARGUMENTS)
    return f"{match.route}{kinds or ''}"


@dataclass
class AxeReport:
    pages: list[str] = field(default_factory=list)
    patterns: set[str] = field(default_factory=set)
    by_impact: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    def check(self, page, label: str) -> None:
        self.pages.append(label)
        for violation in run_axe(page):
            self.by_impact[violation["impact"]] += len(violation["nodes"])
            if violation["impact"] in FAILING_IMPACTS:
                targets = [node["target"] for node in violation["nodes"][:3]]
                self.failures.append(
                    f"{label}: {violation['id']} ({violation['impact']}) {violation['help']} "
                    f"at {targets}"
                )


class Walk:
    """One role's crawl, in one language, in its own browser context."""

    def __init__(self, page, origin: str, label: str, report: AxeReport, samples: int) -> None:
        self.page, self.origin, self.label, self.report = page, origin, label, report
        self.limit = samples
        self.seen: set[str] = set()
        self.samples: Counter[str] = Counter()
        self.queue: deque[str] = deque()

    def enqueue(self, url: str, *, start: bool = False) -> None:
        url = urldefrag(url)[0]
        parts = urlsplit(url)
        if parts.scheme and f"{parts.scheme}://{parts.netloc}" != self.origin:
            return
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path in self.seen:
            return
        self.seen.add(path)
        pattern = page_pattern(parts.path)
        if pattern is None or (not start and self.samples[pattern] >= self.limit):
            return
        self.samples[pattern] += 0 if start else 1
        self.report.patterns.add(pattern)
        self.queue.append(path)

    def visit(self, path: str) -> None:
        if TRACE:
            print(f"{time.monotonic():.1f} {self.label} {path}", file=sys.__stderr__, flush=True)
        try:
            response = self.page.goto(path)
        except Exception as exc:  # e.g. a download starting instead of a page
            self.report.skipped[f"{type(exc).__name__}"] += 1
            return
        assert response is not None, path
        if "text/html" not in (response.headers.get("content-type") or ""):
            self.report.skipped["not HTML"] += 1
            return
        label = f"[{self.label}] {path}"
        if not response.ok:
            self.report.failures.append(f"{label}: a link leads to HTTP {response.status}")
            return
        assert not self.page.url.endswith("/accounts/login/"), f"{label}: logged out"
        assert self.page.locator("h1").count(), f"{label}: no heading"
        self.report.check(self.page, label)
        for href in self.page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            self.enqueue(href)

    def run(self, start: list[str]) -> None:
        for path in start:
            self.enqueue(path, start=True)
        while self.queue:
            self.visit(self.queue.popleft())


@pytest.fixture
def demo_trial(transactional_db):
    demo.seed_sites_and_users()
    demo.seed_trial_data(timezone.localdate())
    translation.deactivate()


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(demo.DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def prescribe_next_belimumab(page, subject_id: str) -> None:
    """A pending prescription, so that the infusion form is among the pages reached."""
    today = timezone.localdate().isoformat()
    page.goto(f"/dosing/{subject_id}/prescribe/")
    page.locator("#id_planned_on").fill(today)
    page.locator("#id_weight_kg").fill("32")
    page.locator("#id_height_cm").fill("140")
    page.locator("#id_anthropometry_measured_on").fill(today)
    page.locator("button[name=calculate]").click()
    page.locator("#id_password").fill(demo.DEMO_PASSWORD)
    page.locator("button[name=sign]").click()
    page.wait_for_load_state()


def new_context(browser, live_server, language: str):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(15_000)
    context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    return context


def start_pages() -> list[str]:
    """The dashboard, and the locked, signed visits of the demo data (a crawl from the
    dashboard reaches only a sample of the visits)."""
    signed = Signoff.objects.filter(kind=SignoffKind.VISIT).values("visit")
    locked = Lock.objects.filter(scope=LockScope.VISIT, visit__in=signed).order_by("pk")
    visit_ids = list(locked.values_list("visit_id", flat=True)[:1])
    assert visit_ids, "the demo has a signed, locked visit"
    return ["/", *(f"/crf/visit/{pk}/" for pk in visit_ids)] + [
        f"/monitoring/visits/{pk}/" for pk in visit_ids
    ]


def test_every_page_the_demo_reaches_has_no_serious_or_critical_violation(
    browser, live_server, demo_trial, capsys, figure
):
    started = time.monotonic()
    report = AxeReport()
    start = start_pages()
    for username, language in WALKS:
        context = new_context(browser, live_server, language)
        page = context.new_page()
        try:
            if not report.pages:
                # The login page, before anyone is logged in.
                page.goto("/accounts/login/")
                report.check(page, f"[{language}] login")
            log_in(page, username)
            if not report.patterns:
                # The first walk (the investigator's) prescribes first.
                prescribe_next_belimumab(page, "PUMCH-003")
            samples = SAMPLES_PER_PATTERN if report.patterns else SAMPLES_FIRST_WALK
            walk = Walk(page, live_server.url, f"{username} {language}", report, samples)
            walk.run(start)
        finally:
            context.close()
    seconds = time.monotonic() - started
    summary = (
        f"axe-core {AXE_VERSION}: {len(report.pages)} pages of {len(report.patterns)} page "
        f"types checked as {len(WALKS)} role walks in {seconds:.0f} s; violations by impact "
        f"(elements): {dict(report.by_impact) or 'none'}; serious or critical: "
        f"{len(report.failures)}; links skipped (not pages): {dict(report.skipped) or 'none'}"
    )
    with capsys.disabled():
        print("\n" + summary)
    figure("accessibility", summary)
    assert not report.failures, "\n".join(report.failures)
