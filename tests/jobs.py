"""Background jobs in tests: a real worker process, a real SMTP server, or the queue run
in the test's own transaction.

* ``Worker``: ``manage.py procrastinate worker`` in a subprocess on the test database,
  connected as the app's database role (tests/worker_settings.py). The worker only sees
  committed rows: tests that use it are transactional (``django_db(transaction=True)``).
  One per test module (a fixture of module scope), started in about two seconds.
* ``SmtpServer``: aiosmtpd on a port of its own; it can be started late (until then the
  port refuses connections, as a mail server that is down does).
* ``run_queued_jobs()``: for the ordinary (non-transactional) tests, runs each job the
  test's writes queued, in the test's transaction, through the task's own function, and
  marks it done, as a worker would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], object], *, timeout: float = 30, what: str = "") -> object:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")


def clear_queue() -> None:
    """Forget the jobs earlier tests left (their rows are gone: flushed by pytest-django).

    The queue's tables are not Django-managed, so pytest-django's flush leaves them.
    """
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE status <> 'doing'")


def jobs_of(task_name: str) -> list[tuple[int, str, int]]:
    """(id, status, attempts) of each job of a task, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, status::text, attempts FROM procrastinate_jobs "
            "WHERE task_name = %s ORDER BY id",
            [task_name],
        )
        return cursor.fetchall()


def _stop_with_parent() -> None:
    """In the child: Linux sends it SIGTERM when the test process dies, however it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: the fixture's teardown still stops it
        pass


class Worker:
    """A real job worker process on the test database."""

    def __init__(self, log_dir: Path, smtp_port: int, env: dict[str, str] | None = None) -> None:
        self.log_dir, self.smtp_port, self.extra_env = log_dir, smtp_port, env or {}
        self.process: subprocess.Popen | None = None
        self.started = 0

    def start(self) -> Worker:
        self.started += 1
        log = self.log_dir / f"worker-{self.started}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
            "WORKER_DATABASE_NAME": connection.settings_dict["NAME"],
            "WORKER_SMTP_PORT": str(self.smtp_port),
            **self.extra_env,
        }
        name = f"test-{self.started}"
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "procrastinate", "worker", "--name", name],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_stop_with_parent,
        )  # fmt: skip
        self.log = log
        wait_for(self._registered, timeout=60, what="the worker to start")
        return self

    def _registered(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the worker exited:\n{self.log.read_text()[-3000:]}")
        return "Starting worker" in self.log.read_text()

    def kill(self) -> None:
        """SIGKILL: what a crash, an OOM kill or a lost machine does (no clean-up at all)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


class SmtpServer:
    """A real SMTP server (aiosmtpd) that keeps every message it accepted."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list = []
        self.controller = None

    def start(self) -> SmtpServer:
        from aiosmtpd.controller import Controller

        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):  # noqa: N802 (aiosmtpd's name)
                server.messages.append(envelope)
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m.rcpt_tos]

    @staticmethod
    def text(envelope) -> str:
        """The decoded subject and body of a received message."""
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.original_content, policy=policy.default)
        body = message.get_content().replace("\r\n", "\n")
        return f"{str(message['subject']).strip()}\n{body}"


def run_queued_jobs(task_name: str | None = None) -> int:
    """Run the queued jobs (of ``task_name``, or all) in this transaction; how many ran."""
    from trialsite.jobs import app

    ran = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, task_name, args FROM procrastinate_jobs WHERE status = 'todo' "
                "AND (%s::text IS NULL OR task_name = %s) ORDER BY id LIMIT 1",
                [task_name, task_name],
            )
            row = cursor.fetchone()
            if row is None:
                return ran
            job_id, name, args = row
            cursor.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s", [job_id])
        app.tasks[name](**(json.loads(args) if isinstance(args, str) else args))
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = %s", [job_id]
            )
        ran += 1
