"""Driving a real browser with the keyboard only: Tab to move, type to fill, Space to
tick, arrow keys for radio buttons and selects, Enter to follow a link or submit.

The page is *read* (which element has the focus) to decide the next key, never changed
by script: what the test does, a keyboard user can do. Dates are typed the way Chromium's
date field takes them under the browser locale en-US (month, day, year).
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

MAX_TABS = 400

_FOCUSED = """() => {
  const e = document.activeElement;
  const radios = e.type === "radio" ? Array.from(document.getElementsByName(e.name)) : [];
  return {
    tag: e.tagName.toLowerCase(),
    type: (e.getAttribute("type") || "").toLowerCase(),
    name: e.getAttribute("name") || "",
    value: e.value === undefined ? null : e.value,
    checked: !!e.checked,
    text: (e.innerText || e.value || "").replace(/\\s+/g, " ").trim(),
    options: e.tagName === "SELECT" ? Array.from(e.options).map((o) => o.value) : null,
    selected: e.tagName === "SELECT" ? e.selectedIndex : null,
    radios: radios.map((r) => r.value),
  };
}"""


def focused(page) -> dict[str, Any]:
    return page.evaluate(_FOCUSED)


def _tab(page) -> dict[str, Any]:
    page.keyboard.press("Tab")
    return focused(page)


def follow_link(page, text: str) -> None:
    """Tab to the first link whose text contains ``text`` and press Enter."""
    for _ in range(MAX_TABS):
        element = _tab(page)
        if element["tag"] == "a" and text in element["text"]:
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return
    raise AssertionError(f"no link {text!r} reachable with Tab")


def _type_value(page, element: dict[str, Any], value: Any) -> None:
    if element["type"] == "date":
        assert isinstance(value, date)
        page.keyboard.type(value.strftime("%m%d%Y"))
    elif element["type"] == "time":
        assert isinstance(value, time)
        page.keyboard.type(value.strftime("%I%M%p"))
    else:
        page.keyboard.press("Control+A")
        page.keyboard.type(str(value))


def complete_form(page, answers: dict[str, Any], submit: str) -> None:
    """Tab through the page, answering every field named in ``answers``, then press Enter
    on the button labelled ``submit``.

    ``answers`` values: a date or time for date and time fields; the option value for a
    select; the radio value for a radio group; a set of values for checkboxes; text
    otherwise.
    """
    answered: set[str] = set()
    # A field the page focuses on load (autofocus) is answered before the first Tab.
    element = focused(page)
    if element["name"] not in answers or element["type"] in {"radio", "checkbox"}:
        element = _tab(page)
    for _ in range(MAX_TABS):
        name = element["name"]
        if element["tag"] == "button" and element["text"] == submit:
            missing = set(answers) - answered
            assert not missing, f"fields not reached with Tab: {missing}"
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return
        if name not in answers or (element["type"] == "radio" and name in answered):
            element = _tab(page)
            continue
        wanted = answers[name]
        if element["type"] == "radio":
            values = element["radios"]
            steps = (values.index(str(wanted)) - values.index(element["value"])) % len(values)
            if steps == 0 and not element["checked"]:
                page.keyboard.press("Space")
            for _step in range(steps):
                page.keyboard.press("ArrowDown")
        elif element["type"] == "checkbox":
            if (element["value"] in wanted) != element["checked"]:
                page.keyboard.press("Space")
        elif element["tag"] == "select":
            steps = element["options"].index(str(wanted)) - element["selected"]
            for _step in range(abs(steps)):
                page.keyboard.press("ArrowDown" if steps > 0 else "ArrowUp")
        else:
            _type_value(page, element, wanted)
        answered.add(name)
        element = _tab(page)
    raise AssertionError(f"no button {submit!r} reachable with Tab")
