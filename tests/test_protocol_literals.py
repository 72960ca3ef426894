"""Protocol numbers live in one place (issue 14): ``trialsite/protocol.py``.

An amendment, the commonest change in a running trial, must be a one-line change there.
This test fails on a visit code or a protocol day number written anywhere else in the
application's code, and on a template that decides by the treatment engine's codes (a
phase, an event status, a visit code): templates show what the code decided.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from dosing import engine
from trialsite import protocol

ROOT = Path(__file__).resolve().parent.parent
APPS = ("trialsite", "eligibility", "enrollment", "dosing", "crf", "monitoring", "exports",
        "overview", "demo")  # fmt: skip
VISIT_CODE = re.compile(r"^(W\d+|BASELINE|RTX\d*|BEL\d*|UNS\d*)$")
# Day numbers of the schedule: assessment visits, the last belimumab target, chart ticks.
PROTOCOL_DAYS = {day for _code, day in protocol.ASSESSMENT_VISITS} | {
    protocol.BELIMUMAB_LAST_TARGET_DAY,
    protocol.CHART_TICK_DAYS,
}
# The short list of allowed exceptions: (path, literal, why).
ALLOWED = {
    # Demo scenarios: study days of what the demo children lived through, not rules.
    ("demo/clinical.py", 84),
    ("demo/loaddata.py", 84),
}


def python_files():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative and relative != "trialsite/protocol.py":
                yield relative, path


def literals(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and type(node.value) in (str, int):
            yield node.lineno, node.value


def test_visit_codes_and_schedule_days_are_written_only_in_the_protocol_module():
    found = []
    for relative, path in python_files():
        for line, value in literals(path):
            if (relative, value) in ALLOWED:
                continue
            if isinstance(value, str) and VISIT_CODE.match(value):
                found.append(f"{relative}:{line} {value!r}")
            elif (
                isinstance(value, int)
                and value in PROTOCOL_DAYS
                and not relative.startswith("demo/")
            ):
                found.append(f"{relative}:{line} {value}")
    assert not found, "protocol literals outside trialsite/protocol.py: " + ", ".join(found)


# Words other apps' own statuses share (a CRF "missing" or "overdue", a criterion's "pass"
# or "fail") are not the engine's: the check is on the codes only the engine uses.
SHARED_WORDS = {"due", "overdue", "planned", "missing", "pass", "fail"}
ENGINE_CODES = (
    {phase.value for phase in engine.Phase}
    | {status.value for status in engine.EventStatus}
    | {kind.value for kind in engine.EventKind}
    | {outcome.value for outcome in engine.GateOutcome}
) - SHARED_WORDS
COMPARISON = re.compile(r"""(?:==|!=)\s*["']([A-Za-z0-9_]+)["']""")


def test_no_template_decides_by_the_engines_codes():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for code in COMPARISON.findall(line):
                if code in ENGINE_CODES or VISIT_CODE.match(code):
                    found.append(f"{path.relative_to(ROOT)}:{line_number} {code!r}")
    assert not found, "decisions on engine codes in templates: " + ", ".join(found)


def test_the_checks_see_a_literal_where_there_is_one(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('CODE = "W12"\nDAYS = 196\n', encoding="utf-8")
    assert {value for _line, value in literals(sample)} == {"W12", 196}
    assert COMPARISON.findall('{% if s.phase == "not_started" %}') == ["not_started"]
