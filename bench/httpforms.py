"""Read an HTML form the way a browser submits it (bench scripts only; standard library).

The benchmarks post the forms the pages actually render (CSRF token, hidden
fields, defaults), so they keep working when the templates or the code
behind them change.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._fields: list[tuple[str, str]] | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._fields = []
            self.forms.append((a.get("action", ""), self._fields))
            return
        if self._fields is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select, self._select_value, self._select_first = name, None, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self._select_value = value
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._fields is None:
            return
        if tag == "select" and self._select:
            value = self._select_value if self._select_value is not None else self._select_first
            self._fields.append((self._select, value or ""))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self._fields.append((self._textarea, "".join(self._text).lstrip("\n")))
            self._textarea = None
        elif tag == "form":
            self._fields = None


def forms_in(html: str) -> list[tuple[str, dict[str, str]]]:
    """Every form of the page: (action, {name: value}) with the values a browser would send."""
    parser = _FormParser()
    parser.feed(html)
    return [(action, dict(fields)) for action, fields in parser.forms]


def form_posting_to(html: str, action_part: str) -> tuple[str, dict[str, str]] | None:
    """The first form whose action contains `action_part`."""
    for action, fields in forms_in(html):
        if action_part in action:
            return action, fields
    return None


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not match:
        raise ValueError("no CSRF token in the page")
    return match.group(1)
