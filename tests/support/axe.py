"""axe-core (Deque's accessibility engine, from npm) for the browser tests of the web pages.

The package is pinned by ``tests/support/axe/package-lock.json`` and installed there with
``npm ci`` on first use. The pages forbid every script (CSP ``script-src 'none'``), so axe is
not added as a ``<script>``: playwright evaluates its source through the DevTools protocol,
which the page's policy does not govern, and the page itself still runs nothing.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.support import processes

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
#: The impacts a page may not have.
BLOCKING = ("serious", "critical")


@cache
def axe_source() -> str:
    if not AXE_SCRIPT.exists():
        processes.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=AXE_DIR,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return AXE_SCRIPT.read_text(encoding="utf-8")


def violations(page: Page) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page as it is, each with its nodes."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source() + "\n;0")
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        {
            "id": item["id"],
            "impact": item["impact"],
            "help": item["help"],
            "nodes": [node["target"] for node in item["nodes"]][:5],
        }
        for item in result["violations"]
        if item["impact"] in BLOCKING
    ]
