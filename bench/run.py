"""`make bench`: pages and exports at N participants, side by side, against their floors.

    python -m bench.run --n 2000 20000 [--rounds 12] [--users 4] [--workers 2]

For each N: generate (or reuse) the database ``trialsite_bench_<N>``; start gunicorn
(bench settings) and let several virtual users (threads, each a coordinator or an
investigator of PUMCH or CHCMU) go through the pages in random order, over real HTTP;
read each response's server time and SQL query count from the headers
``bench.middleware`` adds; then run the CSV bundle, the ODM export and their COPY floor,
each in a process of its own.  At the largest N, a scale-out leg runs two gunicorn
instances on two ports sharing the database and Redis, each user's requests alternating
between them.  The report (markdown) goes to stdout and var/bench/latest.md.

Why a small threaded client rather than locust or wrk: the users must log in through
the CSRF-protected form, post a CRF with the version and values read from the page they
just got, and the server's own figures come back in headers; that is a few dozen lines
of standard library, with no extra package to install (requirements-bench.txt stays
empty).  The client's own overhead does not enter the server times it reports.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bench.client import User, form_fields

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
OUT = ROOT / "var" / "bench"
PASSWORD = "demo-pass-2026"  # demo.loaddata.PASSWORD: bench databases only
PERSONAS = (
    ("coordinator_pumch", "PUMCH", "coordinator"),
    ("investigator_pumch", "PUMCH", "investigator"),
    ("coordinator_chcmu", "CHCMU", "coordinator"),
    ("investigator_chcmu", "CHCMU", "investigator"),
    ("coordinator_csu", "CSU", "coordinator"),
    ("investigator_csu", "CSU", "investigator"),
)
PAGES = (
    ("floor", "floor (layout, login, middleware)"),
    ("dashboard", "dashboard"),
    ("screening_log", "screening log (paged)"),
    ("participant_list", "participant list (paged)"),
    ("participant", "participant page with timeline"),
    ("calendar", "month calendar"),
    ("crf_get", "CRF GET (vitals form)"),
    ("crf_post", "CRF POST (vitals correction)"),
    ("outcomes", "outcome review (investigators)"),
)
EXPORTS = (
    ("copy", "floor: COPY (SELECT …) TO STDOUT WITH CSV"),
    ("csv", "CSV bundle (.zip)"),
    ("odm", "CDISC ODM 1.3.2"),
)


@dataclass
class Sample:
    page: str
    role: str
    status: int
    client_ms: float
    server_ms: float
    queries: int


@dataclass
class Leg:
    name: str
    n: int
    instances: int
    workers: int
    users: int
    seconds: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    load: float = 0.0


# --- Processes ---------------------------------------------------------------------------


def _env(database: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("EMBEDDED_PGDATA", "var/pg-bench")
    env.update(DJANGO_SETTINGS_MODULE="bench.settings", BENCH_DATABASE_NAME=database, **extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """One app server instance; stopped (its process group) when the block ends."""

    def __init__(self, database: str, port: int, workers: int, **env: str) -> None:
        self.port = port
        log = (OUT / f"gunicorn-{port}.log").open("w")
        self.process = subprocess.Popen(
            [
                PYTHON, "-m", "gunicorn", "trialsite.wsgi",
                "--bind", f"127.0.0.1:{port}",
                "--workers", str(workers),
                "--timeout", "900",
                "--graceful-timeout", "5",
            ],
            cwd=ROOT,
            env=_env(database, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def __enter__(self) -> Gunicorn:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn on port {self.port} exited: see {OUT}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"gunicorn on port {self.port} did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def generate(n: int) -> dict:
    database = f"trialsite_bench_{n}"
    subprocess.run(
        [PYTHON, "manage.py", "generate_load_data", "--participants", str(n), "--reuse"],
        cwd=ROOT,
        env=_env(""),
        check=True,
    )
    out = subprocess.run(
        [PYTHON, "-c", _MARKER_SQL, database],
        cwd=ROOT,
        env=_env(""),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


_MARKER_SQL = """
import json, sys, django
django.setup()
from django.db import connection
with connection.cursor() as c:
    c.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname=%s",
              [sys.argv[1]])
    print(c.fetchone()[0])
"""


def targets(database: str, sites: list[str]) -> dict:
    out = subprocess.run(
        [PYTHON, "-m", "bench.targets", *sites],
        cwd=ROOT,
        env=_env(database),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def export(database: str, kind: str) -> dict:
    out = subprocess.run(
        [PYTHON, "-m", "bench.exports", kind],
        cwd=ROOT,
        env=_env(database),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- The virtual users -------------------------------------------------------------------


class VirtualUser(threading.Thread):
    def __init__(
        self, persona: tuple[str, str, str], servers: list[tuple[str, int]], site: dict, leg: Leg
    ) -> None:
        super().__init__(daemon=True)
        self.username, self.site_code, self.role = persona
        self.user = User(self.username, PASSWORD, servers)
        self.site, self.leg = site, leg
        self.rng = random.Random(self.username)
        self.rounds = 0
        self.record = False
        self.lock = threading.Lock()

    def pages(self) -> list[str]:
        names = [name for name, _label in PAGES if name not in ("crf_get", "crf_post")]
        if self.role != "investigator":
            names.remove("outcomes")
        return [*names, "crf"]  # the CRF GET and its POST go together

    def hit(self, page: str, method: str, path: str, data: dict | None = None, expect=200):
        response = self.user.request(method, path, data)
        if response.status != expect:
            with self.lock:
                self.leg.errors.append(f"{self.username} {method} {path}: HTTP {response.status}")
        elif self.record:
            with self.lock:
                self.leg.samples.append(
                    Sample(
                        page,
                        self.role,
                        response.status,
                        response.client_ms,
                        response.server_ms or 0.0,
                        response.queries or 0,
                    )
                )
        return response

    def visit(self, page: str) -> None:
        rng, site = self.rng, self.site
        if page == "floor":
            self.hit(page, "GET", "/bench/floor/")
        elif page == "dashboard":
            self.hit(page, "GET", "/")
        elif page == "screening_log":
            self.hit(page, "GET", f"/screening/?page={rng.randint(1, site['screening_pages'])}")
        elif page == "participant_list":
            self.hit(
                page, "GET", f"/participants/?page={rng.randint(1, site['participant_pages'])}"
            )
        elif page == "participant":
            self.hit(page, "GET", f"/participants/{rng.choice(site['participants'])}/")
        elif page == "calendar":
            self.hit(page, "GET", "/dosing/calendar/")
        elif page == "outcomes":
            self.hit(page, "GET", "/crf/outcomes/")
        elif page == "crf":
            path = f"/crf/visit/{rng.choice(site['vitals_visits'])}/vitals/"
            form = self.hit("crf_get", "GET", path)
            if form.status != 200:
                return
            data = form_fields(form.body)
            temperature = round(36.3 + rng.random(), 1)
            data.update(temperature_c=str(temperature), reason_for_change="bench: transcription")
            self.hit("crf_post", "POST", path, data, expect=302)

    def run_rounds(self, rounds: int) -> None:
        for _ in range(rounds):
            order = self.pages()
            self.rng.shuffle(order)
            for page in order:
                self.visit(page)
            self.rounds += 1

    def run(self) -> None:
        try:
            self.user.log_in()
            self.run_rounds(self.warmup)
            self.ready.wait()
            self.record = True
            self.run_rounds(self.measured)
        except Exception as exc:  # reported with the leg: a failed user must not hang the run
            with self.lock:
                self.leg.errors.append(f"{self.username}: {exc!r}")
        finally:
            self.done.set()


def run_leg(leg: Leg, servers: list[tuple[str, int]], sites: dict, rounds: int, warmup: int) -> Leg:
    personas = [PERSONAS[i % len(PERSONAS)] for i in range(leg.users)]
    ready = threading.Event()
    users = []
    for persona in personas:
        user = VirtualUser(persona, servers, sites[persona[1]], leg)
        user.warmup, user.measured, user.ready, user.done = warmup, rounds, ready, threading.Event()
        users.append(user)
        user.start()
    # Measure from when every user has logged in and warmed up.
    while not all(u.rounds >= warmup or u.done.is_set() for u in users):
        time.sleep(0.2)
    started = time.perf_counter()
    ready.set()
    for user in users:
        user.join()
    leg.seconds = time.perf_counter() - started
    leg.load = os.getloadavg()[1]  # the machine's 5-minute load average over the leg
    return leg


# --- Figures -----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def page_figures(leg: Leg) -> dict[str, dict[str, float]]:
    by_page: dict[str, list[Sample]] = defaultdict(list)
    for sample in leg.samples:
        by_page[sample.page].append(sample)
    figures = {}
    for page, samples in by_page.items():
        server = [s.server_ms for s in samples]
        queries = [s.queries for s in samples]
        figures[page] = {
            "n": len(samples),
            "p50": percentile(server, 50),
            "p95": percentile(server, 95),
            "client_p95": percentile([s.client_ms for s in samples], 95),
            "q_min": min(queries),
            "q_max": max(queries),
            "q_median": statistics.median(queries),
        }
    return figures


def machine() -> dict[str, str]:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = int(
        next(
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    )
    import django

    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": f"{memory_kb / 1024 / 1024:.0f} GB",
        "python": platform.python_version(),
        "django": django.get_version(),
        "os": platform.platform(),
    }


def _ms(value: float) -> str:
    return "—" if value != value else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _q(fig: dict) -> str:
    low, high = fig["q_min"], fig["q_max"]
    return f"{low}" if low == high else f"{low}–{high}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _page_table(results: dict) -> list[str]:
    ns = results["n"]
    legs = {n: results["legs"][str(n)]["pages"] for n in ns}
    header, rule = "| page |", "|---|"
    for n in ns:
        header += f" N={n:,} p50 / p95 ms | queries |"
        rule += "---:|---:|"
    if len(ns) > 1:
        header += f" p95 ratio N={ns[-1]:,} / N={ns[0]:,} | target at N={ns[-1]:,} |"
        rule += "---:|---|"
    lines = [header, rule]
    floor = legs[ns[-1]].get("floor")
    for page, label in PAGES:
        row = f"| {label} |"
        for n in ns:
            fig = legs[n].get(page)
            row += f" {_ms(fig['p50'])} / {_ms(fig['p95'])} | {_q(fig)} |" if fig else " — | — |"
        if len(ns) > 1:
            first, last = legs[ns[0]].get(page), legs[ns[-1]].get(page)
            ratio = f"{last['p95'] / first['p95']:.1f}" if first and last else "—"
            target = "—"
            if page != "floor" and last and floor:
                limit = 1.5 * floor["p95"] + 30
                # Counts vary with the participant's state (a few queries), not with N:
                # compare the medians; the table shows the ranges.
                flat = first is not None and last["q_median"] <= first["q_median"]
                target = (
                    f"p95 ≤ {limit:.0f} ms: {_verdict(last['p95'] <= limit)}; "
                    f"queries flat: {_verdict(flat)}"
                )
            row += f" {ratio} | {target} |"
        lines.append(row)
    return lines


def _export_table(results: dict) -> list[str]:
    ns = results["n"]
    header, rule = "| export (everything, every site) |", "|---|"
    for n in ns:
        header += f" N={n:,}: time / first byte / peak RSS |"
        rule += "---:|"
    if len(ns) > 1:
        header += f" time ratio N={ns[-1]:,} / N={ns[0]:,} | targets |"
        rule += "---:|---|"
    lines = [header, rule]
    for kind, label in EXPORTS:
        figures = [results["legs"][str(n)]["exports"].get(kind) for n in ns]
        row = f"| {label} |"
        for fig in figures:
            if fig:
                row += (
                    f" {fig['seconds']:.1f} s / {fig['first_byte_s']:.2f} s / "
                    f"{fig['peak_rss_mb']:.0f} MB |"
                )
            else:
                row += " — |"
        if len(ns) > 1:
            first, last = figures[0], figures[-1]
            ratio = f"{last['seconds'] / first['seconds']:.1f}" if first and last else "—"
            target = "—"
            measured = [f for f in figures if f]
            if kind != "copy" and measured:
                checks = []
                if kind == "csv":
                    for n, fig in zip(ns, figures, strict=True):
                        floor = results["legs"][str(n)]["exports"].get("copy")
                        if fig and floor:
                            times = fig["seconds"] / floor["seconds"]
                            checks.append(
                                f"{times:.1f}× COPY at N={n:,} (≤ 2×: {_verdict(times <= 2)})"
                            )
                peak = max(f["peak_rss_mb"] for f in measured)
                first_byte = max(f["first_byte_s"] for f in measured)
                checks.append(f"RSS < 150 MB: {_verdict(peak < 150)}")
                checks.append(f"first byte < 1 s: {_verdict(first_byte < 1)}")
                target = "; ".join(checks)
            row += f" {ratio} | {target} |"
        lines.append(row)
    return lines


def report(results: dict) -> str:
    ns = results["n"]
    m, pg = results["machine"], results["postgres"]
    lines = [
        f"Measured on {results['date']}: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM; "
        f"PostgreSQL {pg['version']} (shared_buffers {pg['shared_buffers']}, work_mem "
        f"{pg['work_mem']}) on the same machine; Python {m['python']}, Django {m['django']}.",
        "",
        f"Pages: real HTTP against gunicorn ({results['workers']} sync workers), "
        f"{results['users']} concurrent users (a coordinator and an investigator of each of "
        f"{results['users'] // 2} sites), {results['rounds']} rounds of every page each, in "
        "random order, after warm-up rounds.  Server time from the outermost middleware; "
        "SQL queries counted on the server; the floor is a page with the same middleware, "
        "login and layout and nothing else.  Load average of the machine (5 min) at the end "
        "of each page run: "
        + ", ".join(f"N={n:,}: {results['legs'][str(n)].get('load', 0):.1f}" for n in ns)
        + f" ({m['cores']} cores; anything above the app's own load is other work on the "
        "machine, which slows every row, the floor included).",
        "",
        *_page_table(results),
        "",
        *_export_table(results),
    ]
    last = results["legs"][str(ns[-1])]["exports"].get("copy")
    if last:
        lines += [
            "",
            f"Rows exported at N={ns[-1]:,}: {last['rows']:,}.  Peak RSS is the whole export "
            f"process (Django loaded and idle: {last['baseline_rss_mb']:.0f} MB).",
        ]
    generated = []
    for n in ns:
        leg = results["legs"][str(n)]
        g = leg["generated"]
        rows, events, seconds = g.get("rows", 0), g.get("audit_events", 0), g.get("seconds", 0)
        rate = (rows + events) / seconds if seconds else 0
        generated.append(
            f"N={n:,}: {rows:,} rows + {events:,} audit events in {seconds:.0f} s "
            f"({rate:,.0f} rows/s), database {leg['database_size']}"
        )
    lines += ["", "Generated data (generate_load_data, COPY): " + "; ".join(generated) + "."]
    scale = results.get("scale_out")
    if scale:
        single = results["legs"][str(scale["n"])]
        lines += [
            "",
            f"Scale-out at N={scale['n']:,}: the same users and rounds, each user's requests "
            "alternating between two gunicorn instances on two ports (sessions in PostgreSQL, "
            "cache in Redis):",
            "",
            "| leg | app servers | requests/s | dashboard p95 | participant p95 | "
            "CRF POST p95 | errors |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for name, leg in (("one instance", single), ("two instances", scale)):
            pages = leg["pages"]

            def p95(page: str, pages: dict = pages) -> str:
                return f"{_ms(pages[page]['p95'])} ms" if page in pages else "—"

            lines.append(
                f"| {name} | {leg['instances']} × {leg['workers']} workers | "
                f"{leg['requests'] / leg['seconds']:.1f} | {p95('dashboard')} | "
                f"{p95('participant')} | {p95('crf_post')} | {leg['errors']} |"
            )
    return "\n".join(lines) + "\n"


def summarise(leg: Leg) -> dict:
    return {
        "instances": leg.instances,
        "workers": leg.workers,
        "seconds": leg.seconds,
        "requests": len(leg.samples),
        "errors": len(leg.errors),
        "error_examples": leg.errors[:5],
        "load": round(leg.load, 1),
        "pages": page_figures(leg),
    }


def update_readme(text: str) -> None:
    readme = ROOT / "README.md"
    content = readme.read_text()
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin not in content:
        raise SystemExit("README.md has no <!-- bench:begin --> marker")
    new = re.sub(
        re.escape(begin) + ".*?" + re.escape(end),
        lambda _m: f"{begin}\n{text}{end}",
        content,
        flags=re.S,
    )
    readme.write_text(new)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--no-scale-out", action="store_true")
    parser.add_argument("--no-exports", action="store_true")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    ns = sorted(args.n)
    sites = sorted({site for _u, site, _r in PERSONAS[: args.users]})
    results: dict = {
        "date": date.today().isoformat(),  # noqa: DTZ011 - the machine's date, for the report
        "machine": machine(),
        "n": ns,
        "users": args.users,
        "workers": args.workers,
        "rounds": args.rounds,
        "legs": {},
    }
    for n in ns:
        database = f"trialsite_bench_{n}"
        print(f"\n=== N = {n:,}: database {database} ===", flush=True)
        generated = generate(n)
        found = targets(database, sites)
        results["postgres"] = found["postgres"]
        leg = Leg("single", n, 1, args.workers, args.users)
        port = _free_port()
        print(f"pages: gunicorn on :{port}, {args.users} users × {args.rounds} rounds", flush=True)
        with Gunicorn(database, port, args.workers):
            run_leg(leg, [("127.0.0.1", port)], found["sites"], args.rounds, args.warmup)
        results["legs"][str(n)] = {
            **summarise(leg),
            "generated": generated,
            "database_size": found["postgres"]["database_size"],
            "exports": {},
        }
        if leg.errors:
            print(f"  {len(leg.errors)} errors, e.g. {leg.errors[:3]}", flush=True)
        if not args.no_exports:
            for kind, _label in EXPORTS:
                print(f"export: {kind}", flush=True)
                results["legs"][str(n)]["exports"][kind] = export(database, kind)
        (OUT / "latest.json").write_text(json.dumps(results, indent=2))
    if not args.no_scale_out:
        n = ns[-1]
        database = f"trialsite_bench_{n}"
        found = targets(database, sites)
        leg = Leg("scale-out", n, 2, args.workers, args.users)
        ports = [_free_port(), _free_port()]
        print(f"\n=== scale-out at N = {n:,}: gunicorn on :{ports[0]} and :{ports[1]} ===")
        redis_url = args.redis
        with (
            Gunicorn(database, ports[0], args.workers, CACHE_URL=redis_url),
            Gunicorn(database, ports[1], args.workers, CACHE_URL=redis_url),
        ):
            run_leg(
                leg,
                [("127.0.0.1", ports[0]), ("127.0.0.1", ports[1])],
                found["sites"],
                args.rounds,
                args.warmup,
            )
        _flush_redis(redis_url)
        results["scale_out"] = {"n": n, **summarise(leg)}
    (OUT / "latest.json").write_text(json.dumps(results, indent=2))
    text = report(results)
    (OUT / "latest.md").write_text(text)
    print("\n" + text)
    if args.update_readme:
        update_readme(text)
        print("README.md updated.")
    return 0


def _flush_redis(url: str) -> None:
    """Leave the Redis database the leg used empty (it is the bench's own, e.g. /14)."""
    import redis

    redis.Redis.from_url(url).flushdb()


if __name__ == "__main__":
    sys.exit(main())
