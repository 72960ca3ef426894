"""`make assurance-readme`: copy the assurance figures of the last test run into README.md.

Every `make test` writes the figures its tests report to ``var/assurance.txt``
(tests/conftest.py): a first line describing the run, then one figure a line, each
``name<TAB>figure<TAB>test file``. This rewrites the README's block between
``<!-- assurance:begin -->`` and ``<!-- assurance:end -->`` from it, so no figure there is
typed by hand. A partial or failing run is refused (``--force`` overrides), so the README
never shows the figures of half a suite.

    python -m trialsite.assurance var/assurance.txt README.md [--force]
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


def render(run: str, figures: list[Figure]) -> str:
    """The Markdown between the markers: the run, then a table of figures."""
    rows = "\n".join(
        f"| {_cell(f.name)} | {_cell(f.value)} | `{f.source}` |"
        for f in sorted(figures, key=lambda f: (f.source, f.name))
    )
    return (
        f"Latest run: {run}. Copied from `var/assurance.txt` by `make assurance-readme`.\n\n"
        "| property | figure | produced by |\n"
        "|---|---|---|\n"
        f"{rows}\n"
    )


def update(readme: str, assurance: str, *, force: bool = False) -> str:
    """``readme`` with its assurance block rewritten from ``assurance`` (file texts)."""
    run, figures = read_figures(assurance)
    if not force and ("partial run" in run or " failed" in run or " errors" in run):
        raise NotAFullRun(f"not a full, passing run: {run}")
    if readme.count(BEGIN) != 1 or readme.count(END) != 1:
        raise ValueError(f"the README needs exactly one {BEGIN} ... {END} block")
    head, rest = readme.split(BEGIN)
    _old, tail = rest.split(END)
    return f"{head}{BEGIN}\n{render(run, figures)}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assurance", type=Path)
    parser.add_argument("readme", type=Path)
    parser.add_argument("--force", action="store_true", help="accept a partial or failing run")
    args = parser.parse_args(argv)
    if not args.assurance.exists():
        print(f"{args.assurance} not found: run `make test` first", file=sys.stderr)
        return 2
    try:
        text = update(
            args.readme.read_text(encoding="utf-8"),
            args.assurance.read_text(encoding="utf-8"),
            force=args.force,
        )
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    args.readme.write_text(text, encoding="utf-8")
    print(f"{args.readme}: assurance figures copied from {args.assurance}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
