"""Helpers for the web page tests: uploads over the real API, a form-posting browser-like
client, and a check that HTML carries nothing executable."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import requests

from tests.support.server import PASSWORD, RepoServer

_XSRF = re.compile(r'name="_xsrf" value="([^"]+)"')


def upload(
    server: RepoServer,
    token: str,
    owner: str,
    package: str,
    version: str,
    path: Path,
    *,
    basename: str | None = None,
    **params: Any,
) -> None:
    """The one-request upload of the API (creates the package and release)."""
    response = requests.put(
        f"{server.api}/upload/{owner}/{package}/{version}/{basename or path.name}",
        params=params,
        data=path.read_bytes(),
        headers={"Authorization": f"token {token}"},
        timeout=60,
    )
    assert response.status_code in (200, 201), response.text


class WebClient:
    """A cookie-keeping client that fills in forms like a browser would."""

    def __init__(self, server: RepoServer) -> None:
        self.server = server
        self.http = requests.Session()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return self.http.get(self.server.url + path, timeout=30, **kwargs)

    def xsrf(self, page: str = "/login") -> str:
        match = _XSRF.search(self.get(page).text)
        assert match, f"no form on {page}"
        return match.group(1)

    def post(
        self, path: str, data: dict[str, Any], *, form_page: str = "/login", xsrf: bool = True
    ) -> requests.Response:
        if xsrf:
            data = {**data, "_xsrf": self.xsrf(form_page)}
        return self.http.post(self.server.url + path, data=data, allow_redirects=False, timeout=30)

    def login(self, login: str, password: str = PASSWORD) -> WebClient:
        response = self.post("/login", {"username": login, "password": password})
        assert response.status_code == 303, response.text
        return self


class _Inertness(HTMLParser):
    """Collects everything in a page that could run code or load something."""

    EXECUTABLE_TAGS = {
        "script",
        "iframe",
        "frame",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "base",
        "meta",
        "link",
        "style",
        "form",
        "input",
        "button",
        "video",
        "audio",
        "source",
        "track",
        "image",
    }

    VOID_TAGS = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }

    def __init__(self, box: str = "notebook") -> None:
        super().__init__()
        self.box = box
        self.problems: list[str] = []
        self.depth = 0  # > 0 inside the notebook's box
        self.seen_notebook = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.box in (dict(attrs).get("class") or "").split() and not self.depth:
            self.depth = 1
            self.seen_notebook = True
            return
        if self.depth:
            self._check(tag, attrs)
            if tag not in self.VOID_TAGS:
                self.depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self._check(tag, attrs)

    def _check(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.EXECUTABLE_TAGS:
            self.problems.append(f"<{tag}> in the notebook")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on"):
                self.problems.append(f"{name}= on <{tag}>")
            if name in (
                "src",
                "srcset",
                "poster",
                "data",
                "action",
                "formaction",
                "ping",
                "background",
                "xlink:href",
            ) and not (name == "src" and tag == "img" and value.startswith("data:image/")):
                self.problems.append(f"{name}={value[:60]!r} on <{tag}>")
            if name == "href" and (value.startswith(("javascript:", "data:", "vbscript:"))):
                self.problems.append(f"href={value[:60]!r} on <{tag}>")
            if name == "style" and "url(" in value:
                self.problems.append(f"style with url() on <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in self.VOID_TAGS:
            self.depth -= 1


def active_content(html: str, box: str = "notebook") -> list[str]:
    """Everything inside the page's ``.notebook`` (or other ``box`` class of uploaded
    content) that could execute or fetch."""
    parser = _Inertness(box)
    parser.feed(html)
    assert parser.seen_notebook, f"the page shows no rendered {box}"
    return parser.problems
