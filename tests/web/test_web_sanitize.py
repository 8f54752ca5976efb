"""The notebook renderer and its sanitiser, in-process: what survives and what does not."""

from __future__ import annotations

import json
import re

import pytest
from nbformat.v4 import new_markdown_cell

from jupyter_repo.demo.builders import notebook_json
from jupyter_repo.repository.errors import InvalidInput
from jupyter_repo.server.web.notebooks import render_notebook
from jupyter_repo.server.web.sanitize import sanitize
from tests.support.hostile import hostile_notebook
from tests.support.web import active_content

BEACON = "http://127.0.0.1:9/beacon"


def _wrapped(html: str) -> str:
    return f'<div class="notebook">{html}</div>'


def test_an_ordinary_notebook_keeps_its_content() -> None:
    html = render_notebook(json.dumps(notebook_json("Sample title")).encode())
    assert '<h1 id="nb-Sample-title">' in html
    assert 'href="#nb-Sample-title"' in html  # anchors follow the prefixed ids
    assert "sum</span>" in html  # highlighted code
    assert "<table" in html and "<th>a</th>" in html
    assert re.search(r'<img [^>]*src="data:image/png;base64,', html)
    assert active_content(_wrapped(html)) == []


@pytest.fixture(scope="module")
def hostile_html() -> str:
    """The hostile notebook (tests/support/hostile.py), rendered once."""
    return render_notebook(json.dumps(hostile_notebook(BEACON)).encode())


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param(r"<script", id="script"),
        pytest.param(r"<iframe", id="iframe"),
        pytest.param(r"<svg", id="svg"),
        pytest.param(r"<style", id="style"),
        pytest.param(r"<base", id="base"),
        pytest.param(r"<meta", id="meta"),
        pytest.param(r"<form", id="form"),
        pytest.param(r"<object", id="object"),
        pytest.param(r"<embed", id="embed"),
        pytest.param(r"<link", id="link"),
        pytest.param(r"\son[a-z]+=", id="event-handler"),
        pytest.param(r"=\"\s*javascript:", id="javascript-url"),
        pytest.param(r"src=\"http", id="remote-source"),
        pytest.param(r"srcdoc=", id="srcdoc"),
    ],
)
def test_a_hostile_notebook_keeps_nothing_active(hostile_html: str, pattern: str) -> None:
    assert not re.search(pattern, hostile_html.lower())


def test_a_hostile_notebook_renders_inert(hostile_html: str) -> None:
    html = hostile_html
    assert active_content(_wrapped(html)) == []
    lowered = html.lower()
    # The attached SVG survives only as an image (where SVG cannot run scripts).
    assert 'src="data:image/svg+xml;base64,' in html
    assert "data:text/html" not in lowered
    # Harmless text stays readable.
    assert "hover me" in html and "click-js" in html


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ('<a href="java\tscript:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
        (
            '<a href="https://example.org/">x</a>',
            '<a href="https://example.org/" rel="noopener noreferrer nofollow">x</a>',
        ),
        (
            '<p style="color:red;position:fixed;background-image:url(x)">x</p>',
            '<p style="color:red">x</p>',
        ),
        (
            '<img src="data:image/png;base64,AAAA" onerror="x()">',
            '<img src="data:image/png;base64,AAAA">',
        ),
        ('<img src="data:text/html;base64,AAAA">', "<img>"),
        ("<nav>landmark</nav>", "landmark"),
    ],
)
def test_sanitiser_rules(dirty: str, clean: str) -> None:
    assert sanitize(dirty) == clean


def test_a_missing_attachment_is_a_clear_error() -> None:
    notebook = notebook_json("x", extra_cells=[new_markdown_cell("![a](attachment:missing.png)")])
    with pytest.raises(InvalidInput, match="could not be rendered"):
        render_notebook(json.dumps(notebook).encode())
