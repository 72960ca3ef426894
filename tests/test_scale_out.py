"""Scale-out: the app servers keep no state of their own, so any of them serves any request.

Two real gunicorn instances on two ports share the test database (and Redis as the
cache when one answers on 127.0.0.1:6379): a login made through one holds on the
other, a logout through one ends the session on both, and five wrong passwords spread
over both lock the account out on both (django-axes keeps its counters in the
database).  The servers run the benchmark's production-like settings (bench.settings):
DEBUG off, database sessions, the app's database role.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from bench.client import User, form_fields

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/15"  # this test's own Redis database, emptied after


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:  # no Redis here: the test still runs, without a shared cache
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _wait_until_serving(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app server on :{port} exited:\n{log.read_text()[-3000:]}")
        try:
            response = User("", "", [("127.0.0.1", port)]).request("GET", "/accounts/login/")
            if response.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"app server on :{port} did not start:\n{log.read_text()[-3000:]}")


@pytest.fixture
def app_servers(tmp_path) -> Iterator[list[tuple[str, int]]]:
    """Two gunicorn instances on the test database; stopped (and Redis emptied) after."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_DATABASE_NAME": connection.settings_dict["NAME"],
    }
    shared_cache = _redis_answers()
    if shared_cache:
        env["CACHE_URL"] = REDIS_URL
    processes, servers = [], []
    try:
        for n in range(2):
            port, log = _free_port(), tmp_path / f"gunicorn-{n}.log"
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "trialsite.wsgi", "--workers", "1",
                 "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5"],
                cwd=ROOT,
                env=env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its workers stop with it
            )  # fmt: skip
            processes.append(process)
            _wait_until_serving(port, process, log)
            servers.append(("127.0.0.1", port))
        yield servers
    finally:
        for process in processes:
            _stop(process)
        if shared_cache:
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.fixture
def alice(coordinator_pumch, password):
    """The coordinator, with a password the servers' own hasher checks (quickly)."""
    hasher = PBKDF2PasswordHasher()
    coordinator_pumch.password = hasher.encode(password, hasher.salt(), iterations=1000)
    coordinator_pumch.save(update_fields=["password"])
    return coordinator_pumch


def _post_login(user: User, username: str, password: str):
    token = form_fields(user.request("GET", "/accounts/login/").body)["csrfmiddlewaretoken"]
    return user.request(
        "POST",
        "/accounts/login/",
        {"username": username, "password": password, "csrfmiddlewaretoken": token},
    )


def test_a_login_made_on_one_app_server_holds_on_the_other(app_servers, alice, password, figure):
    first, second = app_servers
    browser = User(alice.username, password, [first])
    assert _post_login(browser, alice.username, password).status == 302

    browser.servers = [second]
    dashboard = browser.request("GET", "/")
    assert dashboard.status == 200
    assert alice.username in dashboard.body or "Dashboard" in dashboard.body

    token = form_fields(dashboard.body)["csrfmiddlewaretoken"]
    assert browser.request("POST", "/accounts/logout/", {"csrfmiddlewaretoken": token}).status in (
        200,
        302,
    )
    browser.servers = [first]
    after = browser.request("GET", "/")
    assert after.status == 302 and "/accounts/login/" in after.location
    figure(
        "scale-out (sessions)",
        f"{len(app_servers)} gunicorn instances on one database: a login made on one holds "
        "on the other, and a logout made on the other ends it on the first",
    )


def test_five_wrong_passwords_over_two_app_servers_lock_the_account_out_on_both(
    app_servers, alice, password, figure
):
    browser = User(alice.username, password, app_servers)  # requests alternate between them
    answers = [
        _post_login(browser, alice.username, "wrong-password").status
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert answers == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]  # the fifth locks
    assert AccessAttempt.objects.get(username=alice.username).failures_since_start == 5

    for server in app_servers:
        browser.servers = [server]
        locked = _post_login(browser, alice.username, password)
        assert locked.status == 429
        assert "Too many failed log-in attempts" in locked.body
        assert "sessionid" not in browser.cookies
    figure(
        "scale-out (lockout)",
        f"{settings.AXES_FAILURE_LIMIT} wrong passwords alternated over {len(app_servers)} "
        "gunicorn instances lock the account out on both (the right password then refused "
        "with 429 on each)",
    )


def test_app_servers_share_the_cache_when_cache_url_is_set(monkeypatch):
    """What CACHE_URL gives: Django's Redis cache, which every instance reads and writes."""
    import environ

    monkeypatch.setenv("CACHE_URL", REDIS_URL)
    cache = environ.Env().cache_url("CACHE_URL")
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == REDIS_URL
    # Sessions and lockout counters never depend on a process's memory.
    assert settings.SESSION_ENGINE in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    )
    assert getattr(settings, "AXES_HANDLER", "axes.handlers.database.AxesDatabaseHandler") == (
        "axes.handlers.database.AxesDatabaseHandler"
    )
