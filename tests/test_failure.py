"""When the database goes away in the middle of a save, the user gets a clear error page
and nothing half-written remains.

A separate embedded PostgreSQL and a separate app server are started for this test, so
stopping the database does not disturb the rest of the suite.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings

from tests.factories.crf import NORMAL_PANEL
from trialsite import embedded_db

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        # A guard against a hang, not a speed target: a fresh migrate on a loaded machine
        # takes minutes (make bench measures speed).
        timeout=900,
    )


def csrf_token(jar: CookieJar) -> str:
    return next(cookie.value for cookie in jar if cookie.name == "csrftoken")


# A participant with a baseline visit (through the real services), on the separate server.
SETUP = """
from datetime import timedelta
from django.utils import timezone
from demo.participants import enrol_candidate
from tests.factories.crf import make_visit
from demo import seed as demo
from trialsite.models import Site, User
demo.seed_sites_and_users()
coordinator = User.objects.get(username="coordinator_pumch")
participant = enrol_candidate(
    site=Site.objects.get(code="PUMCH"),
    coordinator=coordinator,
    investigator=User.objects.get(username="investigator_pumch"),
    investigator_password=demo.DEMO_PASSWORD,
    day_0=timezone.localdate() - timedelta(days=3),
)
print("VISIT", make_visit(participant, "BASELINE", user=coordinator).pk)
"""

# The full panel the coordinator saves: one row per test (and an audit event each), all
# in the save's one transaction.
PANEL = NORMAL_PANEL
STOP_AFTER_ROWS = 6  # the database is stopped once this many rows are written


def test_database_loss_mid_save_shows_an_error_page_and_leaves_nothing_half_written(figure):
    # Under var/ (not pytest's private tmp): the server runs as its own system user.
    pgdata = Path(settings.VAR_DIR) / f"pg-failure-test-{os.getpid()}-{time.time_ns()}"
    params = embedded_db.ensure_running(pgdata)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "trialsite.settings.dev",
        # A Unix-socket server: the socket directory goes in the "host" parameter.
        "DATABASE_URL": f"postgres://postgres@/{params['NAME']}?host={params['HOST']}",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
    }

    def owner():
        return psycopg2.connect(dbname=params["NAME"], host=params["HOST"], user="postgres")

    server = None
    try:
        manage(env, "migrate", "--noinput")
        setup = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SETUP],
            cwd=settings.BASE_DIR,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
        visit_pk = int(re.search(r"VISIT (\d+)", setup.stdout).group(1))
        # Each lab row now takes a while to insert, and counts itself on a sequence (a
        # sequence is not transactional: the count is readable while the save runs).
        db = owner()
        db.autocommit = True
        with db.cursor() as cursor:
            cursor.execute(
                "CREATE SEQUENCE lab_rows_written;"
                "CREATE FUNCTION slow_lab_row() RETURNS trigger AS $$ "
                "BEGIN PERFORM nextval('lab_rows_written'); PERFORM pg_sleep(0.5); "
                "RETURN NEW; END $$ LANGUAGE plpgsql;"
                "CREATE TRIGGER slow BEFORE INSERT ON dosing_labresult "
                "FOR EACH ROW EXECUTE FUNCTION slow_lab_row();"
            )
            cursor.execute("SELECT count(*) FROM dosing_labresult WHERE visit_id = %s", [visit_pk])
            assert cursor.fetchone()[0] == 0
        db.close()

        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        for _ in range(60):
            try:
                opener.open(f"{base}/accounts/login/", timeout=5)
                break
            except OSError:
                time.sleep(0.5)
        opener.open(
            f"{base}/accounts/login/",
            urllib.parse.urlencode(
                {
                    "username": "coordinator_pumch",
                    "password": "demo-pass-2026",
                    "csrfmiddlewaretoken": csrf_token(jar),
                }
            ).encode(),
        )
        labs_url = f"{base}/crf/visit/{visit_pk}/labs/"
        page = opener.open(labs_url).read().decode()
        fingerprint = re.search(r'name="fingerprint" value="([^"]*)"', page).group(1)
        taken_on = re.search(r'name="taken_on" value="([^"]*)"', page).group(1)
        form = {
            "taken_on": taken_on,
            "fingerprint": fingerprint,
            "csrfmiddlewaretoken": csrf_token(jar),
        }
        for analyte, value in PANEL.items():
            form[f"{analyte}_value"], form[f"{analyte}_unit"] = value, ""

        import threading

        result: dict = {}

        def post() -> None:
            data = urllib.parse.urlencode(form).encode()
            try:
                response = opener.open(labs_url, data, timeout=60)
                result["status"], result["body"] = 200, response.read().decode()
            except urllib.error.HTTPError as exc:
                result["status"], result["body"] = exc.code, exc.read().decode()

        request = threading.Thread(target=post)
        request.start()
        # Wait until the save is part-way through the panel, then stop the database.
        db = owner()
        db.autocommit = True
        written = 0
        deadline = time.monotonic() + 30
        while written < STOP_AFTER_ROWS and time.monotonic() < deadline:
            time.sleep(0.1)
            with db.cursor() as cursor:
                cursor.execute(
                    "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM lab_rows_written"
                )
                written = cursor.fetchone()[0]
        db.close()
        assert STOP_AFTER_ROWS <= written < len(PANEL), written
        embedded_db.stop(pgdata, mode="immediate")
        request.join(timeout=60)

        assert result.get("status") == 500, result.get("body", "")[-3000:]
        assert "Nothing was half-saved" in result["body"]

        embedded_db.ensure_running(pgdata)
        db = owner()
        with db.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM dosing_labresult WHERE visit_id = %s", [visit_pk])
            rows_left = cursor.fetchone()[0]
            cursor.execute(
                "SELECT count(*) FROM dosing_labresultauditevent WHERE visit_id = %s", [visit_pk]
            )
            events_left = cursor.fetchone()[0]
        db.close()
        figure(
            "failure behaviour",
            f"database stopped in the middle of a {len(PANEL)}-row lab panel save, after "
            f"{written} rows were written inside its transaction: a clear 500 page; "
            f"{rows_left} lab rows and {events_left} audit events of it remain",
        )
        assert rows_left == 0
        assert events_left == 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        embedded_db.stop(pgdata)
        shutil.rmtree(pgdata, ignore_errors=True)
