"""A cache of renderings of stored files (e.g. notebooks as HTML), shared by every process.

Rendering is expensive and a file's bytes never change, so a rendering is kept per
(sha256, renderer version). What the rendering is does not matter here: UTF-8 text in,
UTF-8 text out, stored compressed. So is the reason a file could not be rendered, but only
for a while (``failure_ttl``): a limit may have been raised since, or the renderer may
have run out of time on a busy machine.

A process about to render first *claims* the rendering, so that the other processes wait
for its result instead of rendering the same file too; a claim lapses after ``ttl``
seconds (its process may have died).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jupyter_repo.repository.models import RenderCache, utcnow

#: The first byte of a failure or of a claim (no rendering starts with a control byte).
_FAILED = b"\x00"
_CLAIMED = b"\x01"
#: Failures and claims are small; anything larger is a rendering (never read to be sure).
_SMALL = 4096


@dataclass(frozen=True)
class Rendering:
    """``content`` is the rendering, or, when ``failed``, why there is none (UTF-8)."""

    content: bytes
    failed: bool = False


def _older_than(moment: datetime, seconds: float | None) -> bool:
    return seconds is not None and moment < utcnow() - timedelta(seconds=seconds)


def _state(session: Session, sha256: str, renderer: str) -> tuple[datetime, bytes | None] | None:
    """When the row was written and, if it is small, its content (uncompressed)."""
    row = session.execute(
        select(
            RenderCache.created_at,
            case((func.length(RenderCache.content) < _SMALL, RenderCache.content), else_=None),
        ).where(RenderCache.sha256 == sha256, RenderCache.renderer == renderer)
    ).one_or_none()
    if row is None:
        return None
    created_at, small = row
    return created_at, zlib.decompress(small) if small is not None else None


def cached(
    session: Session, sha256: str, renderer: str, failure_ttl: float | None = None
) -> Rendering | None:
    """The kept rendering; a failure older than ``failure_ttl`` seconds, or a claim, is
    none."""
    state = _state(session, sha256, renderer)
    if state is None:
        return None
    created_at, small = state
    if small is None:
        content = session.scalar(
            select(RenderCache.content).where(
                RenderCache.sha256 == sha256, RenderCache.renderer == renderer
            )
        )
        return Rendering(zlib.decompress(content)) if content is not None else None
    if small.startswith(_CLAIMED):
        return None
    if small.startswith(_FAILED):
        if _older_than(created_at, failure_ttl):
            return None
        return Rendering(small[len(_FAILED) :], failed=True)
    return Rendering(small)


def claim(
    session: Session, sha256: str, renderer: str, ttl: float, failure_ttl: float | None = None
) -> bool:
    """Whether the caller may render now: nothing is kept, or only a failure older than
    ``failure_ttl`` or a claim older than ``ttl``, and no other caller claimed it first."""
    state = _state(session, sha256, renderer)
    if state is None:
        try:
            with session.begin_nested():
                session.add(
                    RenderCache(
                        sha256=sha256,
                        renderer=renderer,
                        content=zlib.compress(_CLAIMED),
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:
            return False  # another process claimed it first
        return True
    created_at, small = state
    if small is None or not (
        (small.startswith(_CLAIMED) and _older_than(created_at, ttl))
        or (small.startswith(_FAILED) and _older_than(created_at, failure_ttl))
    ):
        return False
    taken = session.execute(
        update(RenderCache)
        .where(
            RenderCache.sha256 == sha256,
            RenderCache.renderer == renderer,
            RenderCache.created_at == created_at,
        )
        .values(content=zlib.compress(_CLAIMED), created_at=utcnow())
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def release(session: Session, sha256: str, renderer: str) -> None:
    """Give a claim up without a result (e.g. the server is stopping)."""
    state = _state(session, sha256, renderer)
    if state is not None and state[1] is not None and state[1].startswith(_CLAIMED):
        session.execute(
            delete(RenderCache).where(
                RenderCache.sha256 == sha256,
                RenderCache.renderer == renderer,
                RenderCache.created_at == state[0],
            )
        )


def store(session: Session, sha256: str, renderer: str, rendering: Rendering) -> None:
    """Keep a rendering, replacing renderings of the same bytes by older renderers.

    A rendering, once kept, stays (the same bytes and renderer give the same result); a
    failure or a claim is replaced by whatever the next attempt gives.
    """
    session.execute(
        delete(RenderCache).where(RenderCache.sha256 == sha256, RenderCache.renderer != renderer)
    )
    content = zlib.compress(
        _FAILED + rendering.content if rendering.failed else rendering.content, 6
    )
    state = _state(session, sha256, renderer)
    if state is not None:
        created_at, small = state
        if small is not None and small.startswith((_FAILED, _CLAIMED)):
            session.execute(
                update(RenderCache)
                .where(
                    RenderCache.sha256 == sha256,
                    RenderCache.renderer == renderer,
                    RenderCache.created_at == created_at,
                )
                .values(content=content, created_at=utcnow())
            )
        return
    try:
        with session.begin_nested():
            session.add(
                RenderCache(sha256=sha256, renderer=renderer, content=content, created_at=utcnow())
            )
    except IntegrityError:
        pass  # another process stored the same rendering first
