"""One export measured in a process of its own (run by bench.run), so its memory is its own.

    DJANGO_SETTINGS_MODULE=bench.settings BENCH_DATABASE_NAME=... python -m bench.exports KIND

KIND is ``csv`` (the CSV bundle), ``odm`` (CDISC ODM) or ``copy``: the floor, PostgreSQL's
``COPY (SELECT ...) TO STDOUT WITH CSV`` of the very queries the CSV bundle reads (one per
form), written to a file.  ``csv`` and ``odm`` run the app's export job as a data manager
asking for everything would (``exports.services``: the audited export record, progress
updates, the file).  Prints JSON: seconds, time to the first byte on disk, peak RSS (VmHWM
of this process) and the RSS before the export started, rows and bytes written.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class FirstByte(threading.Thread):
    """Polls the output folder; records when the first byte of the export reached the disk."""

    def __init__(self, folder: Path, started: float) -> None:
        super().__init__(daemon=True)
        self.folder, self.started = folder, started
        self.seconds: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            if any(p.stat().st_size > 0 for p in self.folder.iterdir() if p.is_file()):
                self.seconds = time.perf_counter() - self.started
                return
            time.sleep(0.005)


def _copy_floor(folder: Path) -> tuple[int, int]:
    from django.db import connection

    from exports.registry import export_forms
    from exports.rows import ExportFilters, ExportOptions, base_queryset
    from trialsite import dbcopy

    rows = 0
    with (folder / "copy.csv").open("wb") as out, connection.cursor() as cursor:
        for form in export_forms():
            sql, params = base_queryset(
                form, ExportFilters(), ExportOptions()
            ).query.sql_with_params()
            query = dbcopy.mogrify(cursor, sql, params)
            dbcopy.copy_out(cursor, f"COPY ({query}) TO STDOUT WITH CSV HEADER", out.write)
            rows += cursor.rowcount
    return rows, (folder / "copy.csv").stat().st_size


def _export(kind: str, folder: Path) -> tuple[int, int]:
    from django.conf import settings

    from exports import services
    from exports.rows import ExportFilters, ExportOptions
    from trialsite.models import User

    settings.EXPORT_ROOT = folder
    user = User.objects.get(username="datamanager")
    export = services.export_create(
        user=user, kind=kind, filters=ExportFilters(), options=ExportOptions()
    )
    export = services.export_run(export)
    if export.status != "done":
        raise RuntimeError(f"{kind} export failed: {export.error}")
    return sum(export.row_counts.values()), export.size_bytes or 0


def main(kind: str) -> None:
    import django

    django.setup()
    from django.conf import settings

    base = Path(settings.EXPORT_ROOT)
    base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=base))
    # Imported before measuring: the baseline is a ready app process.
    import exports.csv_bundle  # noqa: F401
    import exports.odm  # noqa: F401

    baseline_kb = _rss_kb("VmRSS")
    started = time.perf_counter()
    watcher = FirstByte(folder, started)
    watcher.start()
    try:
        rows, size = _copy_floor(folder) if kind == "copy" else _export(kind, folder)
        seconds = time.perf_counter() - started
    finally:
        watcher.stop.set()
        watcher.join(1)
        shutil.rmtree(folder, ignore_errors=True)
    json.dump(
        {
            "kind": kind,
            "seconds": round(seconds, 2),
            "first_byte_s": round(watcher.seconds, 3) if watcher.seconds is not None else None,
            "peak_rss_mb": round(_rss_kb("VmHWM") / 1024, 1),
            "baseline_rss_mb": round(baseline_kb / 1024, 1),
            "rows": rows,
            "bytes": size,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main(sys.argv[1])
