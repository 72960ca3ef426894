"""Generate a large synthetic trial into its own database, for ``make bench``.

    manage.py generate_load_data --participants 20000
        creates (or recreates) the database ``trialsite_bench_20000`` on the configured
        PostgreSQL server, migrates it and fills it (demo/loaddata.py).

The demo database is never touched: the command refuses to write into the configured
database itself.  ``--reuse`` keeps a database this command generated with the same
parameters during the last days (the bench calls it on every run).
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections
from django.utils import timezone

from demo import loaddata


def _owner_settings() -> dict:
    """The role that owns the tables and may create databases (the "owner" alias when the
    app connects as a less privileged role, see trialsite/dbroles.py)."""
    return settings.DATABASES.get("owner", settings.DATABASES["default"])


def _maintenance_connection():
    import psycopg2

    params = _owner_settings()
    conn = psycopg2.connect(
        dbname="postgres",
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
    )
    conn.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
    return conn


def _marker(cursor, name: str) -> dict | None:
    cursor.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
    )
    row = cursor.fetchone()
    if row is None:
        return None
    try:
        return json.loads(row[0] or "")
    except ValueError:
        return {}


class Command(BaseCommand):
    help = "Create a separate database filled with N synthetic participants (for make bench)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--participants", type=int, required=True)
        parser.add_argument(
            "--database-name", help="Database to create (default: trialsite_bench_<N>)."
        )
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--span-days", type=int, default=loaddata.DEFAULT_SPAN_DAYS)
        parser.add_argument("--batch", type=int, default=loaddata.DEFAULT_BATCH)
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="Keep an existing database generated with the same parameters recently.",
        )
        parser.add_argument("--reuse-days", type=int, default=7)

    def handle(self, *args: object, **options) -> None:
        n = options["participants"]
        if n < 1:
            raise CommandError("--participants must be at least 1.")
        name = options["database_name"] or f"trialsite_bench_{n}"
        if name == settings.DATABASES["default"]["NAME"]:
            raise CommandError(
                f"Refusing to generate load data into the configured database {name!r}: "
                "choose another --database-name (the demo data must stay untouched)."
            )
        today = timezone.localdate()
        wanted = {
            "generator": "generate_load_data",
            "version": loaddata.GENERATOR_VERSION,
            "participants": n,
            "seed": options["seed"],
            "span_days": options["span_days"],
            # A database made before a migration was added is not reused.
            "schema": _schema_version(),
        }
        reuse = None
        conn = _maintenance_connection()
        try:
            cursor = conn.cursor()
            marker = _marker(cursor, name)
            if marker is not None and options["reuse"]:
                generated = date.fromisoformat(marker.get("today", "1970-01-01"))
                same = marker.get("complete") and all(
                    marker.get(key) == value for key, value in wanted.items()
                )
                if same and today - generated <= timedelta(days=options["reuse_days"]):
                    reuse = generated
            if reuse is None and marker is not None:
                if marker.get("generator") != "generate_load_data":
                    raise CommandError(
                        f"Database {name!r} exists and was not made by this command: "
                        "refusing to drop it."
                    )
                cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            if reuse is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
                # Marked at once: a run that fails half-way leaves a database it may drop.
                cursor.execute(
                    f'COMMENT ON DATABASE "{name}" IS %s',
                    [json.dumps({**wanted, "complete": False})],
                )
        finally:
            conn.close()

        # Every alias now points at the new database; this process writes as the owner
        # (a bulk load, like a restore: COPY and moving the id sequences need it).
        owner = _owner_settings()
        for alias in settings.DATABASES:
            connections[alias].close()
            connections[alias].settings_dict["NAME"] = name
        for key in ("USER", "PASSWORD", "HOST", "PORT"):
            connection.settings_dict[key] = owner.get(key, "")
        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        if reuse is not None:
            # Kept, but brought up to the code's migrations (a new app, a new index) and
            # its staff to the code's (an authenticator for whoever must use one).
            loaddata.bench_staff()
            self.stdout.write(f"{name}: reused (generated for {reuse}), migrations applied.")
            return
        self.stdout.write(f"{name}: created and migrated in {time.perf_counter() - started:.1f} s")
        with connection.cursor() as cursor:
            # A bench database is rebuilt, never recovered: skip waiting for each commit.
            cursor.execute("SET synchronous_commit = off")
        sites, staff = loaddata.bench_staff()

        def progress(report: loaddata.Report) -> None:
            if options["verbosity"] >= 1:
                self.stdout.write(
                    f"  {report.participants:>7} participants, {report.total_rows:>9} rows, "
                    f"{report.rows_per_second:>7.0f} rows/s (with audit events)"
                )

        report = loaddata.generate(
            participants=n,
            sites=sites,
            staff=staff,
            today=today,
            seed=options["seed"],
            span_days=options["span_days"],
            batch=options["batch"],
            progress=progress,
        )
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = on")
            cursor.execute("VACUUM ANALYZE")  # fresh statistics, as autovacuum would leave them
            marker = json.dumps(
                {
                    **wanted,
                    "today": today.isoformat(),
                    "complete": True,
                    "rows": report.total_rows,
                    "audit_events": report.audit_events,
                    "seconds": round(report.seconds, 1),
                }
            )
            cursor.execute(f'COMMENT ON DATABASE "{name}" IS %s', [marker])
        for table, rows in sorted(report.rows.items()):
            self.stdout.write(f"  {table:<45} {rows:>10}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{name}: {report.participants} participants ({report.screenings} screenings), "
                f"{report.total_rows} rows and {report.audit_events} audit events in "
                f"{report.seconds:.1f} s: {report.rows_per_second:.0f} rows/s"
            )
        )
        if report.not_eligible:
            self.stdout.write(
                self.style.WARNING(
                    f"{report.not_eligible} enrolled candidates are not eligible by the criteria"
                )
            )


def _schema_version() -> str:
    """The latest migration of every app, as one short hash."""
    import hashlib

    from django.db.migrations.loader import MigrationLoader

    leaves = sorted(MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes())
    return hashlib.sha256(repr(leaves).encode()).hexdigest()[:12]
