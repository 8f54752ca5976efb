"""Jinja2 templates of the web pages: one autoescaping environment, with display filters."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"


def file_size(value: int | None) -> str:
    """Bytes as a short human figure: 532 B, 4.1 KiB, 12.0 MiB."""
    if value is None:
        return ""
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover - the loop always returns


def date(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def iso(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).isoformat() if value is not None else ""


def path_quote(value: str) -> str:
    """Quote one or more path segments (slashes in conda basenames stay)."""
    return quote(value, safe="/")


def query_with(params: dict[str, Any], changes: dict[str, Any] | None = None) -> str:
    """A query string from ``params`` updated with ``changes``; empty values are left out."""
    merged = {**params, **(changes or {})}
    return urlencode([(key, value) for key, value in merged.items() if value not in (None, "")])


@cache
def static_version(name: str) -> str:
    """A short content hash, so static URLs can be cached for ever."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    return f"/static/{quote(name)}?v={static_version(name)}"


@cache
def environment() -> Environment:
    """The shared environment (built on first use, not at import)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(file_size=file_size, date=date, iso=iso, path_quote=path_quote)
    env.globals.update(static_url=static_url, query_with=query_with)
    return env
