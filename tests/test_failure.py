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
        timeout=300,
    )


def csrf_token(jar: CookieJar) -> str:
    return next(cookie.value for cookie in jar if cookie.name == "csrftoken")


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
    server = None
    try:
        manage(env, "migrate", "--noinput")
        # Sites and users only: the trial demo data is not needed here.
        manage(env, "shell", "-c", "from trialsite import demo; demo.seed_sites_and_users()")
        # Make the next screening insert slow, so the database can be stopped during it.
        db = psycopg2.connect(dbname=params["NAME"], host=params["HOST"], user="postgres")
        db.autocommit = True
        with db.cursor() as cursor:
            cursor.execute(
                "CREATE FUNCTION slow_insert() RETURNS trigger AS $$ "
                "BEGIN PERFORM pg_sleep(4); RETURN NEW; END $$ LANGUAGE plpgsql;"
                "CREATE TRIGGER slow BEFORE INSERT ON eligibility_screening "
                "FOR EACH ROW EXECUTE FUNCTION slow_insert();"
            )
            cursor.execute("SELECT count(*) FROM eligibility_screening")
            screenings_before = cursor.fetchone()[0]
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
        page = opener.open(f"{base}/screening/new/").read().decode()
        site_value = re.search(r'name="site" value="(\d+)"', page).group(1)
        form = urllib.parse.urlencode(
            {
                "site": site_value,
                "screening_date": "2026-11-20",
                "date_of_birth": "2014-01-01",
                "sex": "F",
                "planned_day_0": "2026-12-01",
                "csrfmiddlewaretoken": csrf_token(jar),
            }
        ).encode()

        import threading

        result: dict = {}

        def post() -> None:
            try:
                response = opener.open(f"{base}/screening/new/", form, timeout=60)
                result["status"], result["body"] = 200, response.read().decode()
            except urllib.error.HTTPError as exc:
                result["status"], result["body"] = exc.code, exc.read().decode()

        request = threading.Thread(target=post)
        request.start()
        time.sleep(1.5)  # the insert is now waiting inside its transaction
        embedded_db.stop(pgdata, mode="immediate")
        request.join(timeout=60)

        assert result.get("status") == 500, result.get("body", "")[-3000:]
        assert "Nothing was half-saved" in result["body"]

        embedded_db.ensure_running(pgdata)
        db = psycopg2.connect(dbname=params["NAME"], host=params["HOST"], user="postgres")
        with db.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM eligibility_screening")
            assert cursor.fetchone()[0] == screenings_before
            cursor.execute(
                "SELECT count(*) FROM eligibility_screeningauditevent "
                "WHERE pgh_created_at > now() - interval '5 minutes' "
                "AND number LIKE 'PUMCH-S%%' AND sequence > %s",
                [screenings_before],
            )
            assert cursor.fetchone()[0] == 0
        db.close()
        figure("failure behaviour", "database stopped mid-save: 500 page, 0 rows half-written")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        embedded_db.stop(pgdata)
        shutil.rmtree(pgdata, ignore_errors=True)
