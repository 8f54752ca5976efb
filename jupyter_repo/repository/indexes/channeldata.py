"""``channeldata.json`` (CEP 38): a channel's packages across its subdirs, built on demand.

Neither conda nor rattler reads it, so it is never built eagerly: :class:`ChanneldataCache`
builds it on request from one query and keeps it per view, keyed by the sum of the label's
conda index revisions (which grows with any change to any of them).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jupyter_repo.repository.models import File, FileLabel, IndexState, Label, Package, Release


@dataclass(frozen=True)
class ChanneldataRow:
    package_id: int
    name: str
    public: bool
    summary: str
    license: str
    home: str
    dev_url: str
    doc_url: str
    source_url: str
    subdir: str
    version: str
    indexed_at_ms: int


def document(rows: Iterable[ChanneldataRow]) -> bytes:
    """``channeldata.json`` for the files of a channel.

    ``version`` and ``timestamp`` are those of the most recently published file of each
    package (CEP 38 asks for the newest version; neither conda nor rattler reads the file, and
    ordering by publication keeps the server free of a conda version parser).
    """
    packages: dict[str, dict[str, Any]] = {}
    newest: dict[str, int] = {}
    subdirs: set[str] = set()
    for row in rows:
        subdirs.add(row.subdir)
        entry = packages.setdefault(row.name, {"subdirs": set()})
        entry["subdirs"].add(row.subdir)
        if row.indexed_at_ms >= newest.get(row.name, -1):
            newest[row.name] = row.indexed_at_ms
            entry.update(version=row.version, timestamp=row.indexed_at_ms // 1000)
            for field, value in (
                ("summary", row.summary),
                ("license", row.license),
                ("home", row.home),
                ("dev_url", row.dev_url),
                ("doc_url", row.doc_url),
                ("source_url", row.source_url),
            ):
                if value:
                    entry[field] = value
    for entry in packages.values():
        entry["subdirs"] = sorted(entry["subdirs"])
    result = {"channeldata_version": 1, "packages": packages, "subdirs": sorted(subdirs)}
    return json.dumps(result, sort_keys=True, separators=(",", ":")).encode()


def rows(
    session: Session, owner_id: int, label: str, readable: frozenset[int]
) -> list[ChanneldataRow]:
    """The channel's conda files a caller who may read the private packages ``readable``
    sees."""
    query = (
        select(
            Package.id,
            Package.name,
            Package.public,
            Package.summary,
            Package.license,
            Package.home,
            Package.dev_url,
            Package.doc_url,
            Package.source_git_url,
            File.subdir,
            Release.version,
            File.indexed_at_ms,
        )
        .join(File, File.package_id == Package.id)
        .join(Release, Release.id == File.release_id)
        .join(FileLabel, FileLabel.file_id == File.id)
        .join(Label, Label.id == FileLabel.label_id)
        .where(
            Package.owner_id == owner_id,
            Label.owner_id == owner_id,
            Label.name == label,
            File.distribution_type == "conda",
            File.yanked_at.is_(None),  # a yanked file is in no index's ``packages``
        )
    )
    found = []
    for (
        package_id,
        name,
        public,
        summary,
        license,
        home,
        dev_url,
        doc_url,
        source_url,
        subdir,
        version,
        indexed_at_ms,
    ) in session.execute(query):
        if (public or package_id in readable) and subdir is not None:  # conda files have one
            found.append(
                ChanneldataRow(
                    package_id,
                    name,
                    public,
                    summary,
                    license,
                    home,
                    dev_url,
                    doc_url,
                    source_url,
                    subdir,
                    version,
                    indexed_at_ms,
                )
            )
    return found


class ChanneldataCache:
    """The last documents built, per channel, revision and view (thread-safe)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._documents: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, session: Session, owner_id: int, label: str, readable: frozenset[int]
    ) -> tuple[bytes, str, int]:
        """The document, its ETag and change time (blocking: queries, maybe builds)."""
        total, changed_at = session.execute(
            select(
                func.coalesce(func.sum(IndexState.revision), 0),
                func.coalesce(func.max(IndexState.changed_at_ms), 0),
            ).where(
                IndexState.owner_id == owner_id,
                IndexState.kind == "conda",
                IndexState.label == label,
            )
        ).one()
        cache_key = (owner_id, label, total, readable)
        with self._lock:
            cached = self._documents.get(cache_key)
        if cached is None:
            cached = document(rows(session, owner_id, label, readable))
            with self._lock:
                self._documents[cache_key] = cached
                while len(self._documents) > self.size:
                    self._documents.popitem(last=False)
        etag = hashlib.blake2b(cached, digest_size=16).hexdigest()
        return cached, etag, changed_at
