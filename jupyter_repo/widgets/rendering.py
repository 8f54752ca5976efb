"""HTML for the search widget's rows and lines. Summaries, names and labels come from users
of the repository: every value is escaped here, nothing else builds HTML from them."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

MAX_SUMMARY = 200


def escape(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def owner_login(item: dict[str, Any]) -> str:
    owner = item.get("owner")
    if isinstance(owner, dict):
        return str(owner.get("login") or "")
    return str(owner or item.get("full_name", "/").split("/")[0])


def full_name(item: dict[str, Any]) -> str:
    return f"{owner_login(item)}/{item.get('name', '')}"


def _join(values: Iterable[Any]) -> str:
    return ", ".join(escape(value) for value in values if value not in (None, ""))


def _fact(name: str, value: str) -> str:
    return f'<span class="jupyter-repo-fact" title="{escape(name)}">{value}</span>' if value else ""


def result_html(item: dict[str, Any], installed: str | None) -> str:
    """One result: name, owner, summary, latest version, types, platforms, labels and the
    version installed in this kernel (if any)."""
    summary = str(item.get("summary") or "")
    if len(summary) > MAX_SUMMARY:
        summary = summary[: MAX_SUMMARY - 1] + "…"
    latest = item.get("latest_version")
    facts = [
        _fact("latest version", f"latest {escape(latest)}" if latest else "no versions"),
        _fact("package types", _join(item.get("package_types") or [])),
        _fact("platforms", _join(item.get("conda_platforms") or [])),
        _fact("labels", "labels: " + _join(item.get("labels") or []) if item.get("labels") else ""),
        installed_html(installed),
    ]
    private = (
        "" if item.get("public", True) else ' <span class="jupyter-repo-private">private</span>'
    )
    return (
        f'<div class="jupyter-repo-result-text">'
        f'<b class="jupyter-repo-name">{escape(item.get("name"))}</b> '
        f'<span class="jupyter-repo-owner">by {escape(owner_login(item))}</span>{private}'
        f'<span class="jupyter-repo-summary">{" — " + escape(summary) if summary else ""}'
        f"</span><br><small>{' · '.join(fact for fact in facts if fact)}</small></div>"
    )


def installed_html(installed: str | None) -> str:
    if not installed:
        return '<span class="jupyter-repo-installed-no">not installed here</span>'
    return (
        f'<span class="jupyter-repo-installed" style="color: #1a7f37">installed here: '
        f"{escape(installed)}</span>"
    )


def count_text(query: str, shown: int, total: int) -> str:
    """Plain text (escape it for HTML): how many packages match."""
    if total == 0:
        return f"No package matches “{query}”."
    more = f" (showing {shown}; type more to narrow)" if total > shown else ""
    noun = "package matches" if total == 1 else "packages match"
    return f"{total} {noun} “{query}”{more}."


def plan_html(text: str) -> str:
    return f'<span class="jupyter-repo-plan-text">{escape(text)}</span>'
