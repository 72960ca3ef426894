"""Helpers for the translation gates (tests/test_i18n.py): find text a template shows
without marking it for translation, list the msgids the code marks, read the catalogue.

No GNU gettext needed: templates are read with Django's own lexer and ``templatize``
(what ``makemessages`` feeds to xgettext), Python files with ``ast``, the catalogue
with polib.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import polib
from django.conf import settings
from django.template.base import Lexer, TokenType
from django.utils.translation.template import templatize

BASE_DIR = Path(settings.BASE_DIR)
PO_PATH = BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")
# The same folders `make messages` leaves out.
IGNORED_DIRS = {".venv", "var", "bench", "tests", "node_modules", "migrations", "static"}

# Text a template may show untranslated: instrument names, criteria and visit codes,
# units and symbols, the way clinicians and the protocol write them in any language.
# Anything made only of capitals, digits and punctuation (SCH1, EXC10, W12, RTX) is a
# code and needs no entry here.
ALLOWED_TEXT = {
    "mg",
    "kg",
    "cm",
    "m²",
    "mL",
    "×10⁶/L",
    "×10⁹/L",
    "CD19⁺",
    "CD19⁺ %",
}
_CODE = re.compile(r"^[A-Z0-9⁺²³·/%.,:;()\[\]×≥≤<>=+\-–— ]+$")
_LETTER = re.compile(r"[^\W\d_]")
# Attributes whose value a person reads or hears.
_SPOKEN_ATTRIBUTES = {"title", "alt", "aria-label", "placeholder", "aria-description"}
# Literal strings in template tags that end up on screen: {{ x|default:"none" }},
# {% include ... with here="Somewhere" %}.
_LITERAL_IN_TAG = re.compile(
    r"""(?:\|default(?:_if_none)?:|\bwith\s+\w+=|\s\w+=)(?P<q>["'])(?P<text>[^"']*)(?P=q)"""
)
MARK = "\x00"


def template_files() -> list[Path]:
    roots = [Path(d) for engine in settings.TEMPLATES for d in engine.get("DIRS", [])]
    roots += [p for p in BASE_DIR.glob("*/templates") if p.parent.name not in IGNORED_DIRS]
    return sorted({path for root in roots for path in root.rglob("*.html")})


_PUNCTUATION = "()[]{}.,:;/·–—-\"'“”‘’!?…"


def _is_translatable(text: str) -> bool:
    """Text with at least one word that is neither a code nor an allowed unit."""
    text = text.strip()
    if not text or not _LETTER.search(text) or text in ALLOWED_TEXT:
        return False
    for word in text.split():
        word = word.strip(_PUNCTUATION)
        if _LETTER.search(word) and word not in ALLOWED_TEXT and not _CODE.match(word):
            return True
    return False


class _VisibleText(HTMLParser):
    """Collects the text and the spoken attributes of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skip += 1
        for name, value in attrs:
            if value and name in _SPOKEN_ATTRIBUTES:
                self.found.extend(value.split(MARK))
            button = tag == "input" and dict(attrs).get("type") in {"submit", "button", "reset"}
            if value and button and name == "value":
                self.found.extend(value.split(MARK))

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.found.extend(data.split(MARK))


def _literals(tag_content: str, before: str) -> list[str]:
    """Literal strings of a template tag that are shown as text (not inside an HTML tag,
    where they are class names or data values; not identifiers such as "overdue" passed
    to an include)."""
    if before.rfind("<") > before.rfind(">"):
        return []
    found = []
    for match in _LITERAL_IN_TAG.finditer(tag_content):
        text = match["text"]
        if match.group(0).startswith("|") or not re.fullmatch(r"[a-z0-9_\-]*", text):
            found.append(text)
    return found


def untranslated_text(source: str) -> list[str]:
    """Literal text of a template that is not inside a translation tag."""
    pieces: list[str] = []
    literals: list[str] = []
    in_block_translate = in_comment = False
    for token in Lexer(source).tokenize():
        content = token.contents
        if token.token_type == TokenType.BLOCK:
            tag = content.split()[0] if content else ""
            if tag in {"blocktranslate", "blocktrans"}:
                in_block_translate = True
            elif tag in {"endblocktranslate", "endblocktrans"}:
                in_block_translate = False
            elif tag == "comment":
                in_comment = True
            elif tag == "endcomment":
                in_comment = False
            if not in_block_translate and tag not in {"translate", "trans"}:
                literals += _literals(content, "".join(pieces))
            # A space keeps "<tr{% if x %} class=...{% endif %}>" a well-formed tag.
            pieces.append(" ")
        elif token.token_type == TokenType.VAR:
            literals += _literals(content, "".join(pieces))
            pieces.append(MARK)
        elif token.token_type == TokenType.COMMENT:
            pieces.append(" ")
        elif not (in_block_translate or in_comment):
            pieces.append(content)
        else:
            pieces.append(MARK)
    parser = _VisibleText()
    parser.feed("".join(pieces))
    parser.close()
    return [text.strip() for text in parser.found + literals if _is_translatable(text)]


# --- the msgids the code marks ----------------------------------------------------------

_GETTEXT_FUNCTIONS = {
    "_": 0,
    "gettext": 0,
    "gettext_lazy": 0,
    "gettext_noop": 0,
    "ngettext": 0,
    "ngettext_lazy": 0,
    "pgettext": 1,
    "pgettext_lazy": 1,
    "npgettext": 1,
    "npgettext_lazy": 1,
}
_TEMPLATIZED_CALL = re.compile(
    r"\b(?P<func>n?p?gettext)\((?P<args>(?:\s*u?(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s*,?)+)"
)
_PY_STRING = re.compile(r"u?('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")


def python_files() -> Iterator[Path]:
    for path in BASE_DIR.rglob("*.py"):
        if not IGNORED_DIRS.intersection(path.relative_to(BASE_DIR).parts[:-1]):
            yield path


def python_msgids(path: Path) -> Iterator[tuple[str, str]]:
    """(msgctxt, msgid) of every gettext call with a literal argument in a Python file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in _GETTEXT_FUNCTIONS:
            continue
        index = _GETTEXT_FUNCTIONS[name]
        args = node.args
        if len(args) > index and isinstance(args[index], ast.Constant):
            msgid = args[index].value
            context = ""
            if index == 1 and isinstance(args[0], ast.Constant):
                context = args[0].value
            if isinstance(msgid, str) and msgid:
                yield context, msgid


def template_msgids(path: Path) -> Iterator[tuple[str, str]]:
    """(msgctxt, msgid) of every translation tag of a template, as makemessages sees them."""
    code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    for match in _TEMPLATIZED_CALL.finditer(code):
        strings = [ast.literal_eval(s) for s in _PY_STRING.findall(match["args"])]
        if match["func"].startswith(("pgettext", "npgettext")):
            yield strings[0], strings[1]
        else:
            yield "", strings[0]


def marked_msgids() -> dict[tuple[str, str], str]:
    """Every msgid the templates and the Python code mark, with one place it comes from."""
    found: dict[tuple[str, str], str] = {}
    for path in template_files():
        for key in template_msgids(path):
            found.setdefault(key, str(path.relative_to(BASE_DIR)))
    for path in python_files():
        for key in python_msgids(path):
            found.setdefault(key, str(path.relative_to(BASE_DIR)))
    return found


def catalogue() -> polib.POFile:
    return polib.pofile(str(PO_PATH))


def compile_catalogue() -> None:
    """Build the .mo the way `make` does when it is missing or older than the .po (a bare
    `pytest` on a fresh checkout), and make Django read it again."""
    if MO_PATH.exists() and MO_PATH.stat().st_mtime >= PO_PATH.stat().st_mtime:
        return
    catalogue().save_as_mofile(str(MO_PATH))
    from django.utils.translation import trans_real

    trans_real._translations = {}
    trans_real._default = None
