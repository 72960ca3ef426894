"""`make assurance-readme`: copy the assurance figures of the last test run into README.md.

Every `make test` writes the figures its tests report to ``var/assurance.txt`` and to
``var/assurance-embedded.txt`` or ``var/assurance-external.txt`` by its database leg
(tests/conftest.py): a first line describing the run, then one figure a line, each
``name<TAB>figure<TAB>test file``. This rewrites the README's block between
``<!-- assurance:begin -->`` and ``<!-- assurance:end -->`` from them, so no figure there is
typed by hand. A partial or failing run is refused (``--force`` overrides), so the README
never shows the figures of half a suite.

    python -m trialsite.assurance var/assurance-embedded.txt [var/assurance-external.txt] \
        README.md [--force]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

BEGIN, END = "<!-- assurance:begin -->", "<!-- assurance:end -->"


class NotAFullRun(ValueError):
    """The figures come from a partial or failing run."""


@dataclass(frozen=True)
class Figure:
    name: str
    value: str
    source: str


def read_figures(text: str) -> tuple[str, list[Figure]]:
    """The run's description and its figures, from the text of var/assurance.txt."""
    run, figures = "", []
    for line in text.splitlines():
        if not line.strip():
            continue
        name, value, source = (line.split("\t") + ["", ""])[:3]
        if name == "run":
            run = value
        else:
            figures.append(Figure(name, value, source))
    if not run:
        raise ValueError("no run line: not written by tests/conftest.py")
    return run, figures


def _cell(text: str) -> str:
    """A table cell's text, shown as written (no column break, no HTML tag)."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def render(runs: list[str], figures: list[Figure]) -> str:
    """The Markdown between the markers: the runs, then a table of figures."""
    rows = "\n".join(
        f"| {_cell(f.name)} | {_cell(f.value)} | `{f.source}` |"
        for f in sorted(figures, key=lambda f: (f.source, f.name))
    )
    return (
        f"Latest run: {' and '.join(runs)}. Copied from `var/assurance-*.txt` by "
        "`make assurance-readme`.\n\n"
        "| property | figure | produced by |\n"
        "|---|---|---|\n"
        f"{rows}\n"
    )


def update(readme: str, *assurance: str, force: bool = False) -> str:
    """``readme`` with its assurance block rewritten from the runs ``assurance`` (file
    texts, e.g. the embedded and the external database leg).  A figure several runs
    report under one name is shown once, as the first run reported it; a figure of one
    database only (the audit integrity of PostgreSQL 15, say) is named for it."""
    runs: list[str] = []
    figures: dict[str, Figure] = {}
    for text in assurance:
        run, found = read_figures(text)
        if not force and ("partial run" in run or " failed" in run or " errors" in run):
            raise NotAFullRun(f"not a full, passing run: {run}")
        runs.append(run)
        for figure in found:
            figures.setdefault(figure.name, figure)
    if readme.count(BEGIN) != 1 or readme.count(END) != 1:
        raise ValueError(f"the README needs exactly one {BEGIN} ... {END} block")
    head, rest = readme.split(BEGIN)
    _old, tail = rest.split(END)
    return f"{head}{BEGIN}\n{render(runs, list(figures.values()))}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assurance", type=Path, nargs="+", help="figures of one run each")
    parser.add_argument("readme", type=Path)
    parser.add_argument("--force", action="store_true", help="accept a partial or failing run")
    args = parser.parse_args(argv)
    missing = [path for path in args.assurance if not path.exists()]
    if missing:
        print(f"{missing[0]} not found: run `make test` first", file=sys.stderr)
        return 2
    try:
        text = update(
            args.readme.read_text(encoding="utf-8"),
            *(path.read_text(encoding="utf-8") for path in args.assurance),
            force=args.force,
        )
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    args.readme.write_text(text, encoding="utf-8")
    names = ", ".join(str(path) for path in args.assurance)
    print(f"{args.readme}: assurance figures copied from {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
