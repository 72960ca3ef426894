"""The README's Assurance section is copied from the figures the tests report
(`make assurance-readme`, trialsite/assurance.py), never typed by hand."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trialsite import assurance

ROOT = Path(__file__).resolve().parent.parent

FULL_RUN = (
    "run\t2026-12-02: the full suite, 900 passed, 3 skipped, on PostgreSQL 18 "
    "(the embedded server)\tmake test\n"
    "authorisation matrix\t91 views x 8 personas: 1432 checks\ttests/test_authorization_matrix.py\n"
    "hostile input\t41 forms | 492 posts\ttests/test_fuzz_forms.py\n"
)
README = (
    "# Title\n\n## Assurance\n\nIntro.\n\n"
    "<!-- assurance:begin -->\nold, typed by hand: 825 tests\n<!-- assurance:end -->\n"
    "\n## Next\n"
)


def test_the_block_is_rewritten_from_the_figures_and_nothing_else_changes():
    updated = assurance.update(README, FULL_RUN)
    head, block, tail = re.split(r"<!-- assurance:(?:begin|end) -->", updated)
    assert head == README.split("<!-- assurance:begin -->")[0]
    assert tail == README.split("<!-- assurance:end -->")[1]
    assert "825 tests" not in block
    assert "Latest run: 2026-12-02: the full suite, 900 passed" in block
    assert "| hostile input | 41 forms \\| 492 posts | `tests/test_fuzz_forms.py` |" in block
    assert assurance.update(updated, FULL_RUN) == updated  # running it again changes nothing


@pytest.mark.parametrize(
    "run",
    [
        "a partial run, 12 passed",
        "the full suite, 890 passed, 2 failed",
        "the full suite, 3 errors",
    ],
)
def test_figures_of_a_partial_or_failing_run_are_refused_unless_forced(run):
    figures = FULL_RUN.replace("the full suite, 900 passed, 3 skipped", run)
    with pytest.raises(assurance.NotAFullRun):
        assurance.update(README, figures)
    assert run in assurance.update(README, figures, force=True)


def test_the_command_reports_a_missing_figures_file(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(README)
    assert assurance.main([str(tmp_path / "missing.txt"), str(readme)]) == 2
    assert "run `make test` first" in capsys.readouterr().err
    figures = tmp_path / "assurance.txt"
    figures.write_text(FULL_RUN)
    assert assurance.main([str(figures), str(readme)]) == 0
    assert "| authorisation matrix |" in readme.read_text()


def test_every_figure_in_the_readme_names_the_test_that_produces_it():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(assurance.BEGIN)[1].split(assurance.END)[0]
    lines = [line for line in block.strip().splitlines() if line.strip()]
    assert lines[0].startswith("Latest run: ") and "the full suite" in lines[0]
    assert lines[1:3] == ["| property | figure | produced by |", "|---|---|---|"]
    rows = lines[3:]
    assert len(rows) >= 15
    for row in rows:
        match = re.fullmatch(r"\| (.+?) \| (.+) \| `(tests/[\w/]+\.py)` \|", row)
        assert match, row
        name, _figure, source = match.groups()
        code = (ROOT / source).read_text(encoding="utf-8")
        stem = name.split(" (")[0]
        assert re.search(r"figure(_part)?\(", code) and stem in code, (name, source)


def test_the_runs_of_both_database_legs_are_shown_together(tmp_path):
    on_15 = "on PostgreSQL 15 (DATABASE_URL)"
    external = (
        FULL_RUN.replace("on PostgreSQL 18 (the embedded server)", on_15)
        + "audit integrity (postgresql 15)\t11 forbidden operations refused"
        + "\ttests/test_db_roles.py\n"
    )
    readme = tmp_path / "README.md"
    readme.write_text(README)
    embedded, other = tmp_path / "assurance-embedded.txt", tmp_path / "assurance-external.txt"
    embedded.write_text(FULL_RUN)
    other.write_text(external)
    assert assurance.main([str(embedded), str(other), str(readme)]) == 0
    block = readme.read_text()
    assert "(the embedded server) and 2026-12-02" in block and "(DATABASE_URL)" in block
    assert block.count("| authorisation matrix |") == 1  # reported by both runs: once
    assert "| audit integrity (postgresql 15) | 11 forbidden operations refused |" in block
    other.write_text(external.replace("900 passed", "899 passed, 1 failed"))
    assert assurance.main([str(embedded), str(other), str(readme)]) == 1  # a failing leg
