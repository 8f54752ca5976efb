"""A cache of renderings of stored files (e.g. notebooks as HTML), shared by every process.

Rendering is expensive and a file's bytes never change, so a rendering is kept per
(sha256, renderer version). What the rendering is does not matter here: UTF-8 text in,
UTF-8 text out, stored compressed. So is the reason a file could not be rendered, but only
for a while (``failure_ttl``): a limit may have been raised since, or the renderer may
have run out of time on a busy machine.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jupyter_repo.repository.models import RenderCache, utcnow

#: Marks a failure (no rendering starts with a NUL byte).
_FAILED = b"\x00"


@dataclass(frozen=True)
class Rendering:
    """``content`` is the rendering, or, when ``failed``, why there is none (UTF-8)."""

    content: bytes
    failed: bool = False


def _is_failure(compressed: bytes) -> bool:
    return zlib.decompressobj().decompress(compressed, 1) == _FAILED


def cached(session: Session, sha256: str, renderer: str,
           failure_ttl: float | None = None) -> Rendering | None:
    """The kept rendering; a failure older than ``failure_ttl`` seconds counts as none."""
    row = session.execute(
        select(RenderCache.content, RenderCache.created_at).where(
            RenderCache.sha256 == sha256, RenderCache.renderer == renderer)
    ).one_or_none()
    if row is None:
        return None
    content = zlib.decompress(row.content)
    if not content.startswith(_FAILED):
        return Rendering(content)
    if failure_ttl is not None and row.created_at < utcnow() - timedelta(seconds=failure_ttl):
        return None
    return Rendering(content[len(_FAILED):], failed=True)


def store(session: Session, sha256: str, renderer: str, rendering: Rendering) -> None:
    """Keep a rendering, replacing renderings of the same bytes by older renderers.

    A rendering, once kept, stays (the same bytes and renderer give the same result); a
    failure is replaced by whatever the next attempt gives.
    """
    session.execute(delete(RenderCache).where(RenderCache.sha256 == sha256,
                                              RenderCache.renderer != renderer))
    content = zlib.compress(_FAILED + rendering.content if rendering.failed
                            else rendering.content, 6)
    existing = session.get(RenderCache, (sha256, renderer))
    if existing is not None:
        if _is_failure(existing.content):
            existing.content = content
            existing.created_at = utcnow()
        return
    try:
        with session.begin_nested():
            session.add(RenderCache(sha256=sha256, renderer=renderer, content=content,
                                    created_at=utcnow()))
    except IntegrityError:
        pass  # another process stored the same rendering first
