"""Background work runs as jobs on workers (trialsite/jobs.py), never in a thread of a web
process, where a restart, a timeout or a deploy loses it (issue 17).

Application code is every app package; ``bench/`` is the benchmark harness (its load
generator runs virtual users in threads) and ``tests/`` the test suite: neither is served.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
THREADS = re.compile(r"threading\.Thread|ThreadPoolExecutor|_thread\.start_new|daemon=True")


def application_packages() -> list[Path]:
    apps = [name for name in settings.INSTALLED_APPS if (ROOT / name).is_dir()]
    assert {"trialsite", "exports", "notifications"} <= set(apps)
    return [ROOT / name for name in apps]


def test_no_application_code_starts_a_thread():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for package in application_packages()
        for path in package.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if THREADS.search(line) and not line.lstrip().startswith("#")
    ]
    assert found == []
