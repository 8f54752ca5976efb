"""A cache of renderings of stored files (e.g. notebooks as HTML), shared by every process.

Rendering is expensive and a file's bytes never change, so a rendering is kept per
(sha256, renderer version). What the rendering is does not matter here: it is text in,
text out, stored compressed.
"""

from __future__ import annotations

import zlib

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jupyter_repo.repository.models import RenderCache, utcnow


def cached(session: Session, sha256: str, renderer: str) -> str | None:
    content = session.scalar(
        select(RenderCache.content).where(RenderCache.sha256 == sha256,
                                          RenderCache.renderer == renderer)
    )
    return zlib.decompress(content).decode("utf-8") if content is not None else None


def store(session: Session, sha256: str, renderer: str, text: str) -> None:
    """Keep a rendering, replacing renderings of the same bytes by older renderers."""
    session.execute(delete(RenderCache).where(RenderCache.sha256 == sha256,
                                              RenderCache.renderer != renderer))
    if session.get(RenderCache, (sha256, renderer)) is not None:
        return
    try:
        with session.begin_nested():
            session.add(RenderCache(sha256=sha256, renderer=renderer,
                                    content=zlib.compress(text.encode("utf-8"), 6),
                                    created_at=utcnow()))
    except IntegrityError:
        pass  # another process stored the same rendering first
