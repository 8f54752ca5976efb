"""The database side of pull-through proxies: which namespaces proxy what, who may read a
proxy, and the upstream index documents a proxy keeps (validators and a blob each).

Fetching is not the domain's job (``jupyter_repo/mirroring/proxy.py`` does it); this module
only records what was fetched, so that every process behind a load balancer shares one cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from jupyter_repo.repository.core import after_commit
from jupyter_repo.repository.models import Account, Blob, Mirror, MirrorMode, UpstreamDocument
from jupyter_repo.repository.permissions import Actor, Level, account_level
from jupyter_repo.repository.services.mirrors import config_of
from jupyter_repo.repository.storage import BlobStore


@dataclass(frozen=True)
class ProxyInfo:
    """A proxy as the server needs it on every request (no ORM object leaves the session)."""

    mirror_id: int
    owner_id: int
    login: str
    kind: str
    upstream_url: str
    label: str
    public: bool
    index_ttl_seconds: int


def all_proxies(session: Session) -> dict[tuple[str, str], ProxyInfo]:
    """Every proxy, by (owner login, kind): a small table, read whole and cached."""
    found: dict[tuple[str, str], ProxyInfo] = {}
    rows = session.execute(
        select(Mirror, Account.login)
        .join(Account, Account.id == Mirror.owner_id)
        .where(Mirror.mode == MirrorMode.PROXY)
    ).all()
    for mirror, login in rows:
        config = config_of(mirror)
        found[(login, mirror.kind)] = ProxyInfo(
            mirror_id=mirror.id,
            owner_id=mirror.owner_id,
            login=login,
            kind=mirror.kind,
            upstream_url=mirror.upstream_url,
            label=mirror.label,
            public=config.public,
            index_ttl_seconds=config.index_ttl_seconds,
        )
    return found


def may_read(session: Session, actor: Actor, proxy: ProxyInfo) -> bool:
    """May ``actor`` read through ``proxy``? Public proxies: anyone; a private one (``mirror
    add --private``): those who may read the namespace itself. Callers answer "not found"
    otherwise, exactly as for a namespace that does not exist."""
    if proxy.public:
        return True
    owner = session.get(Account, proxy.owner_id)
    return owner is not None and account_level(session, actor, owner) >= Level.READ


@dataclass(frozen=True)
class CachedDocument:
    """An upstream document as stored: its validators, where its bytes are, when fetched."""

    path: str
    key: str | None
    etag: str | None
    last_modified: str | None
    content_type: str
    size: int
    sha256: str
    fetched_at: datetime


def cached_document(session: Session, mirror_id: int, path: str) -> CachedDocument | None:
    row = session.get(UpstreamDocument, (mirror_id, path))
    if row is None:
        return None
    blob = session.get(Blob, row.blob_id) if row.blob_id is not None else None
    return CachedDocument(
        path=path,
        key=blob.key if blob is not None else None,
        etag=row.etag,
        last_modified=row.last_modified,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        fetched_at=row.fetched_at,
    )


@dataclass(frozen=True)
class NewDocument:
    """A freshly fetched document whose bytes are already in the store under ``key``."""

    blob_id: str
    key: str
    size: int
    md5: str
    sha256: str
    etag: str | None
    last_modified: str | None
    content_type: str
    fetched_at: datetime


def save_document(
    session: Session, store: BlobStore, mirror_id: int, path: str, new: NewDocument
) -> None:
    """Record ``new`` as the document at ``path``; the bytes it replaces are deleted after
    commit. Two processes saving at once: the later write wins (both hold whole documents)."""
    session.add(Blob(id=new.blob_id, key=new.key, size=new.size, md5=new.md5, sha256=new.sha256))
    row = session.get(UpstreamDocument, (mirror_id, path))
    if row is None:
        row = UpstreamDocument(mirror_id=mirror_id, path=path)
        session.add(row)
    old_blob_id = row.blob_id
    row.blob_id = new.blob_id
    row.etag = new.etag
    row.last_modified = new.last_modified
    row.content_type = new.content_type[:100]
    row.size = new.size
    row.sha256 = new.sha256
    row.fetched_at = new.fetched_at
    session.flush()
    if old_blob_id is not None:
        old = session.get(Blob, old_blob_id)
        if old is not None:
            after_commit(session, partial(store.delete, old.key))
            session.delete(old)


def touch_document(session: Session, mirror_id: int, path: str, fetched_at: datetime) -> None:
    """The upstream said 304: the stored document is current as of ``fetched_at``."""
    row = session.get(UpstreamDocument, (mirror_id, path))
    if row is not None:
        row.fetched_at = fetched_at
