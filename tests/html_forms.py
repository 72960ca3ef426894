"""The POST forms of a rendered page, read as a browser reads them.

``main_form(html, url)`` gives the page's own form (the one posting back to the page):
its hidden values (the version or fingerprint it was loaded with), the fields a user
fills in, and what a browser would send for it unchanged, so tests post exactly what a
user's browser posts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Field:
    kind: str  # the input type ("text", "number", "date", "radio"...), "select", "textarea"
    options: list[str] = field(default_factory=list)  # radio and select values, in order
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class HtmlForm:
    action: str
    attrs: dict[str, str] = field(default_factory=dict)  # the <form> tag's own attributes
    hidden: dict[str, str] = field(default_factory=dict)
    fields: dict[str, Field] = field(default_factory=dict)  # the fields a user fills in
    sent: dict[str, list[str]] = field(default_factory=dict)  # what the browser sends as is

    @property
    def names(self) -> set[str]:
        return set(self.fields)

    def data(self) -> dict[str, list[str]]:
        """The POST data of the form submitted unchanged (hidden values included)."""
        return {**{k: [v] for k, v in self.hidden.items()}, **self.sent}

    def merge(self, other: HtmlForm) -> None:
        self.hidden.update(other.hidden)
        self.fields.update(other.fields)
        for name, values in other.sent.items():
            self.sent.setdefault(name, []).extend(values)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[HtmlForm] = []
        self._form: HtmlForm | None = None
        self._select: tuple[str, bool, list[str], list[str]] | None = None
        self._option: str | None = None
        self._textarea: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            if a.get("method", "").lower() == "post":
                self._form = HtmlForm(action=a.get("action", ""), attrs=a)
                self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text").lower()
            if kind == "hidden":
                if name != "csrfmiddlewaretoken":
                    form.hidden[name] = a.get("value", "")
            elif kind not in ("submit", "button", "reset", "image"):
                info = form.fields.setdefault(name, Field(kind=kind, attrs=a))
                if kind in ("radio", "checkbox"):
                    info.options.append(a.get("value", "on"))
                    if "checked" in a:
                        form.sent.setdefault(name, []).append(a.get("value", "on"))
                else:
                    form.sent[name] = [a.get("value", "")]
        elif tag == "select" and name:
            self._select = (name, "multiple" in a, [], [])
            form.fields[name] = Field(kind="select", attrs=a)
        elif tag == "option" and self._select is not None:
            self._option = a.get("value")
            name, _multiple, options, chosen = self._select
            value = a.get("value", "")
            options.append(value)
            if "selected" in a:
                chosen.append(value)
        elif tag == "textarea" and name:
            self._textarea = (name, [])
            form.fields[name] = Field(kind="textarea", attrs=a)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag):
        form = self._form
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and form is not None:
            name, multiple, options, chosen = self._select
            form.fields[name].options = options
            if chosen or multiple:
                form.sent[name] = chosen
            elif options:
                form.sent[name] = [options[0]]  # a browser sends the first option
            self._select = None
        elif tag == "textarea" and self._textarea is not None and form is not None:
            name, text = self._textarea
            # A browser drops the one newline that follows <textarea>.
            form.sent[name] = ["".join(text).removeprefix("\n")]
            self._textarea = None


def forms_of(html: str) -> list[HtmlForm]:
    parser = _Parser()
    parser.feed(html)
    return parser.forms


def main_form(html: str, url: str) -> HtmlForm | None:
    """The page's own form (posting to the page), its parts merged; None if it has none."""
    own = [form for form in forms_of(html) if form.action in ("", url)]
    if not own:
        return None
    merged = HtmlForm(action=url, attrs=own[0].attrs)
    for form in own:
        merged.merge(form)
    return merged
