"""Issue 11, accessibility: axe-core (vendored under tests/vendor/) runs inside Chromium on
the main pages, in English and in Chinese, on the demo trial. No serious or critical
violation is allowed; the test prints how many pages it checked and what it found."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from django.utils import timezone, translation

from demo import seed as demo
from dosing.models import Visit
from monitoring.models import DataQuery, Lock, LockScope, Signoff, SignoffKind
from tests.i18n_support import compile_catalogue
from trialsite.models import User

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


def run_axe(page) -> list[dict]:
    # Evaluated through the DevTools protocol: the page's Content-Security-Policy (no
    # inline or foreign script) stays on, as users have it.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
    return page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]


class AxeReport:
    def __init__(self) -> None:
        self.pages: list[str] = []
        self.by_impact: Counter[str] = Counter()
        self.failures: list[str] = []

    def check(self, page, url: str, label: str) -> None:
        if url:
            response = page.goto(url)
            assert response is not None and response.ok, (label, response and response.status)
        page.wait_for_load_state()
        assert not page.url.endswith("/accounts/login/") or "login" in label, page.url
        assert page.locator("h1").count(), f"{label}: no heading at {page.url}"
        self.pages.append(label)
        for violation in run_axe(page):
            self.by_impact[violation["impact"]] += len(violation["nodes"])
            if violation["impact"] in FAILING_IMPACTS:
                targets = [node["target"] for node in violation["nodes"][:3]]
                self.failures.append(
                    f"{label}: {violation['id']} ({violation['impact']}) {violation['help']} "
                    f"at {targets}"
                )


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


def log_out(page) -> None:
    page.locator("nav .dropdown-toggle").first.click()
    page.locator("nav form[action$='/logout/'] button").click()
    page.wait_for_load_state()


def switch_language(page, code: str) -> None:
    page.locator(f"form[data-language-switcher] button[value={code}]").first.click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == code


def vitals_pk(visit) -> int:
    from crf.models import Vitals

    return Vitals.objects.active().get(visit=visit).pk


def prescribe_next_belimumab(page, subject_id: str) -> None:
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


def test_the_main_pages_have_no_serious_or_critical_accessibility_violation(
    browser, live_server, demo_trial, capsys, figure
):
    baseline = Visit.objects.get(participant__subject_id="PUMCH-002", visit_code="BASELINE")
    signed_visits = Signoff.objects.filter(kind=SignoffKind.VISIT).values("visit")
    locked = Lock.objects.filter(scope=LockScope.VISIT, visit__in=signed_visits).first()
    assert locked is not None, "the demo has a signed, locked visit"
    query = DataQuery.objects.filter(site__code="PUMCH").order_by("pk").first()
    assert query is not None, "the demo has data queries at PUMCH"
    investigator_pages = [
        ("/", "dashboard"),
        ("/screening/", "screening log"),
        ("/screening/PUMCH-S002/", "screening detail"),
        ("/screening/PUMCH-S002/sjogren/", "screening section form"),
        ("/screening/PUMCH-S002/labs/", "screening labs"),
        ("/participants/", "participant list"),
        ("/participants/PUMCH-003/", "participant page"),
        ("/dosing/PUMCH-003/prescribe/", "prescription form"),
        ("/dosing/PUMCH-002/gate-labs/", "labs before belimumab"),
        (f"/crf/visit/{baseline.pk}/", "visit page"),
        (f"/crf/visit/{locked.visit_id}/", "locked and signed visit page"),
        (f"/monitoring/visits/{locked.visit_id}/", "locked and signed visit review"),
        (f"/crf/visit/{baseline.pk}/essdai/", "ESSDAI form"),
        (f"/crf/visit/{baseline.pk}/vitals/", "CRF form (vitals)"),
        (f"/crf/visit/{baseline.pk}/labs/", "visit labs"),
        ("/crf/participant/PUMCH-003/adverse-events/", "adverse events"),
        ("/crf/participant/PUMCH-003/adverse-events/new/", "adverse event form"),
        ("/crf/participant/PUMCH-003/con-meds/", "concomitant medication"),
        ("/dosing/calendar/", "calendar"),
        ("/crf/status/", "form status"),
        ("/crf/outcomes/", "outcomes"),
        ("/search/?q=PUMCH", "search results"),
        ("/crf/blank/", "blank CRFs"),
        ("/crf/blank/baseline/", "blank CRF"),
        # Beyond the main pages: the other forms a coordinator or investigator fills in.
        ("/participants/consent/PUMCH-S002/new/", "consent form"),
        ("/dosing/PUMCH-001/day-0/", "Day 0 re-confirmation"),
        ("/dosing/PUMCH-002/b-cells/", "B-cell result form"),
        (f"/crf/visit/{baseline.pk}/esspri/", "ESSPRI form"),
        ("/dosing/deviations/", "protocol deviations"),
        (f"/history/dosing/visit/{baseline.pk}/", "record history"),
        # Monitoring (issue 8): queries, the visit review and its sign-off.
        ("/monitoring/queries/", "data query list"),
        (f"/monitoring/queries/{query.pk}/", "data query"),
        (f"/monitoring/visits/{baseline.pk}/", "visit review"),
        (f"/monitoring/visits/{baseline.pk}/sign/", "visit sign-off"),
        ("/monitoring/participants/PUMCH-002/", "participant review"),
        # Notifications (issue 17): one's own, and the preferences.
        ("/notifications/", "your notifications"),
        ("/notifications/preferences/", "notification preferences"),
        # Accounts (issue 16): setting up one's authenticator.
        ("/accounts/mfa/enrol/", "authenticator set-up"),
    ]
    account = User.objects.get(username="coordinator_pumch").pk
    # Monitors' and data managers' own pages.
    data_manager_pages = [
        ("/exports/", "exports"),
        ("/monitoring/quality/", "data-quality dashboard"),
        ("/notifications/log/", "notification log"),
        ("/jobs/", "background jobs"),
        (f"/monitoring/queries/new/crf/vitals/{vitals_pk(baseline)}/", "raise a query"),
        # Accounts (issue 16): user administration.
        ("/accounts/users/", "users"),
        ("/accounts/users/invite/", "invite a user"),
        (f"/accounts/users/{account}/", "user account"),
        (f"/accounts/users/{account}/history/", "account history"),
    ]
    pages = [*investigator_pages, ("/dosing/PUMCH-003/infusion/", "infusion form")]
    report = AxeReport()
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        report.check(page, "/accounts/login/", "[en] login")
        log_in(page, "investigator_pumch")
        prescribe_next_belimumab(page, "PUMCH-003")
        for url, label in pages:
            report.check(page, url, f"[en] {label}")

        switch_language(page, "zh-hans")
        for url, label in pages:
            report.check(page, url, f"[zh-hans] {label}")
        log_out(page)
        report.check(page, "/accounts/login/", "[zh-hans] login")

        log_in(page, "datamanager")
        for url, label in data_manager_pages:
            report.check(page, url, f"[zh-hans] {label}")
        switch_language(page, "en")
        for url, label in data_manager_pages:
            report.check(page, url, f"[en] {label}")
    finally:
        context.close()

    summary = (
        f"axe-core {AXE_VERSION}: {len(report.pages)} pages checked; violations by impact "
        f"(elements): {dict(report.by_impact) or 'none'}; serious or critical: "
        f"{len(report.failures)}"
    )
    with capsys.disabled():
        print("\n" + summary)
    figure("accessibility", summary)
    assert not report.failures, "\n".join(report.failures)
