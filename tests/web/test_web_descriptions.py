"""Long descriptions on package pages: a wheel's Description (Markdown, reStructuredText,
none given), a conda recipe's description, a project's README, an environment's comment and
a notebook's first Markdown cell, rendered as PyPI renders them and sanitised; hostile HTML
in each format leaves nothing that runs or loads."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from jupyter_repo.demo import builders
from tests.support.server import RepoServer
from tests.support.web import active_content, upload

BEACON = "http://127.0.0.1:9/beacon"

#: Raw HTML an attacker writes into a description: scripts, handlers, javascript: links,
#: style sheets and inline styles that load, frames, forms, SVG, meta refreshes, base.
HOSTILE_HTML = f"""
<script>alert('script')</script>
<img src="{BEACON}/img.png" onerror="alert('onerror')">
<a href="javascript:alert('link')">click</a>
<a href="  JaVaScRiPt:alert('spaced')">spaced</a>
<a href="data:text/html,<script>alert(1)</script>">data link</a>
<div onclick="alert('onclick')" onmouseover="alert('over')">hover</div>
<style>body {{ background: url({BEACON}/style.png) }}</style>
<p style="background-image: url({BEACON}/inline.png)">styled</p>
<iframe src="{BEACON}/frame"></iframe>
<object data="{BEACON}/object"></object><embed src="{BEACON}/embed">
<svg onload="alert('svg')"><script>alert('svg-script')</script></svg>
<form action="{BEACON}/form"><button formaction="{BEACON}/b">go</button></form>
<meta http-equiv="refresh" content="0;url={BEACON}/meta"><base href="{BEACON}/">
<math><mi xlink:href="javascript:alert('math')">x</mi></math>
"""

HOSTILE_MARKDOWN = f"""# Hostile

{HOSTILE_HTML}

[markdown link](javascript:alert('md'))
![markdown image]({BEACON}/md.png)
<javascript:alert('autolink')>
"""

HOSTILE_RST = f"""Hostile
=======

.. raw:: html

   <script>alert('raw')</script>

`rst link <javascript:alert('rst')>`_

.. image:: {BEACON}/rst.png

.. include:: /etc/passwd

{HOSTILE_HTML}
"""

MARKDOWN = """# Growth tools

Tools for **growth** curves, with `code` and a [link](https://example.org/docs).

- first item
- second item

```python
print("fenced")
```
"""

RST = """Growth tools
============

Tools for **growth** curves, with ``code`` and a `link <https://example.org/docs>`_.

* first item
* second item
"""


def _page(server: RepoServer, owner: str, package: str) -> str:
    response = requests.get(f"{server.url}/{owner}/{package}", timeout=30)
    assert response.status_code == 200
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    return response.text


def _description(html: str) -> str:
    match = re.search(r'<div class="description">(.*?)</div>\s*</section>', html, re.S)
    assert match, "the page shows no description"
    return match.group(1)


def _wheel(text: str, content_type: str | None) -> Callable[[Path, str], tuple[Path, str]]:
    def build(folder: Path, name: str) -> tuple[Path, str]:
        path = builders.wheel(
            folder, name, "1.0", description=text, description_content_type=content_type
        )
        return path, path.name

    return build


def _conda(text: str) -> Callable[[Path, str], tuple[Path, str]]:
    def build(folder: Path, name: str) -> tuple[Path, str]:
        about = {"summary": "conda sample", "description": text, "license": "MIT"}
        path = builders.conda_package(
            folder, name, "1.0", extra_info={"info/about.json": json.dumps(about).encode()}
        )
        return path, f"noarch/{path.name}"

    return build


def _project(text: str) -> Callable[[Path, str], tuple[Path, str]]:
    def build(folder: Path, name: str) -> tuple[Path, str]:
        path = builders.project_archive(folder, name, readme=text)
        return path, path.name

    return build


def _environment(text: str) -> Callable[[Path, str], tuple[Path, str]]:
    def build(folder: Path, name: str) -> tuple[Path, str]:
        comment = "".join(f"# {line}\n" for line in text.splitlines())
        path = builders.environment_file(
            folder, content=comment + "name: demo\ndependencies:\n  - python=3.11\n"
        )
        return path, path.name

    return build


def _notebook(text: str) -> Callable[[Path, str], tuple[Path, str]]:
    def build(folder: Path, name: str) -> tuple[Path, str]:
        notebook = new_notebook(cells=[new_code_cell("x = 1"), new_markdown_cell(text)])
        path = folder / "analysis.ipynb"
        path.write_text(json.dumps(notebook))
        return path, path.name

    return build


def _publish(
    server: RepoServer, tmp_path: Path, build: Callable[[Path, str], tuple[Path, str]]
) -> tuple[str, str]:
    owner = server.create_user(f"desc{uuid.uuid4().hex[:8]}")
    name = f"described-{uuid.uuid4().hex[:6]}"
    path, basename = build(tmp_path, name)
    kind = {"type": "project"} if basename.endswith(".tar.gz") else {}
    upload(server, server.token(owner), owner, name, "1.0", path, basename=basename, **kind)
    return owner, name


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        pytest.param(
            _wheel(MARKDOWN, "text/markdown"),
            [
                "<h1",
                "<strong>growth</strong>",
                "<code>code</code>",
                "<li>first item</li>",
                'href="https://example.org/docs"',
                '"fenced"</span>',
            ],
            id="wheel-markdown",
        ),
        pytest.param(
            _wheel(MARKDOWN, "text/markdown; charset=UTF-8; variant=CommonMark"),
            ["<h1", "<strong>growth</strong>"],
            id="wheel-markdown-commonmark",
        ),
        pytest.param(
            _wheel(RST, "text/x-rst"),
            [
                "<h1>Growth tools",
                "<strong>growth</strong>",
                "code</span>",
                "<li><p>first item</p></li>",
                'href="https://example.org/docs"',
            ],
            id="wheel-rst",
        ),
        pytest.param(
            _wheel(RST, None),  # no Description-Content-Type: reStructuredText (PEP 566)
            ["<h1>Growth tools", "<strong>growth</strong>"],
            id="wheel-rst-by-default",
        ),
        pytest.param(
            _wheel("Plain <text> & more\nsecond line", "text/plain"),
            ['class="description-plain"', "Plain &lt;text&gt; &amp; more"],
            id="wheel-plain",
        ),
        pytest.param(_conda(MARKDOWN), ["<h1", "<strong>growth</strong>"], id="conda"),
        pytest.param(_project(MARKDOWN), ["<h1", "<strong>growth</strong>"], id="project-readme"),
        pytest.param(
            _environment("Pinned for the growth paper.\nUse with the notebooks."),
            ["Pinned for the growth paper.", "Use with the notebooks."],
            id="environment-comment",
        ),
        pytest.param(
            _notebook(MARKDOWN), ["<h1", "<strong>growth</strong>"], id="notebook-first-markdown"
        ),
    ],
)
def test_descriptions_are_rendered(
    server: RepoServer,
    tmp_path: Path,
    build: Callable[[Path, str], tuple[Path, str]],
    expected: list[str],
) -> None:
    owner, name = _publish(server, tmp_path, build)
    html = _page(server, owner, name)
    description = _description(html)
    for fragment in expected:
        assert fragment in description
    assert active_content(html, box="description") == []


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(_wheel(HOSTILE_MARKDOWN, "text/markdown"), id="wheel-markdown"),
        pytest.param(_wheel(HOSTILE_RST, "text/x-rst"), id="wheel-rst"),
        pytest.param(_wheel(HOSTILE_HTML, "text/plain"), id="wheel-plain"),
        pytest.param(_wheel(HOSTILE_HTML, "text/html"), id="wheel-unknown-type"),
        pytest.param(_conda(HOSTILE_MARKDOWN), id="conda"),
        pytest.param(_project(HOSTILE_MARKDOWN), id="project-readme"),
        pytest.param(_environment(HOSTILE_HTML), id="environment-comment"),
        pytest.param(_notebook(HOSTILE_MARKDOWN), id="notebook-first-markdown"),
    ],
)
def test_hostile_descriptions_stay_inert(
    server: RepoServer, tmp_path: Path, build: Callable[[Path, str], tuple[Path, str]]
) -> None:
    owner, name = _publish(server, tmp_path, build)
    html = _page(server, owner, name)
    assert active_content(html, box="description") == []
    tags = " ".join(re.findall(r"<[^>]*>", _description(html).lower()))  # not the text
    for needle in (
        "<script",
        "<iframe",
        "<style",
        "<svg",
        "<form",
        "<object",
        "<embed",
        "<meta",
        "<base",
        "<math",
        "javascript:",
        " onerror=",
        " onclick=",
        " onload=",
        " onmouseover=",
        "url(",
        BEACON + "/img",
        BEACON + "/md",
    ):
        assert needle not in tags
