"""``Content-Encoding: gzip`` for the generated text documents, compressed once.

A client that sends ``Accept-Encoding: gzip`` (pip, uv, conda, browsers all do) gets
``repodata.json``, ``channeldata.json``, the PyPI simple pages and the JSON API gzipped: a
10k-file ``repodata.json`` shrinks about fourfold. Nothing is compressed per request:
``repodata.json``'s gzip is made once per view of a revision (``ChannelView.gzip``), and
the others once per content in :class:`GzipCache`, keyed by the document's own
content-derived ETag, always on a worker thread. A gzip answer has its own ETag (the
identity one plus ``.gz``), so a cache never takes one encoding for the other, and every
answer says ``Vary: Accept-Encoding``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from jupyter_repo.repository.indexes.snapshots import gzip_compress

GZIP_SUFFIX = ".gz"
#: Compression level of the small documents (pages, channeldata.json, the JSON API).
PAGE_LEVEL = 6


def accepts_gzip(header: str | None) -> bool:
    """Does an ``Accept-Encoding`` value accept gzip (``gzip``, ``x-gzip`` or ``*`` with a
    quality above zero, unless gzip itself is refused with ``q=0``)?"""
    if not header:
        return False
    qualities: dict[str, float] = {}
    for part in header.split(","):
        coding, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        qualities[coding.lower()] = quality
    for coding in ("gzip", "x-gzip"):
        if coding in qualities:
            return qualities[coding] > 0
    return qualities.get("*", 0.0) > 0


def matches(if_none_match: str | None, etag: str) -> bool:
    """Does an ``If-None-Match`` value name this (unquoted) ETag?"""
    if not if_none_match:
        return False
    quoted = f'"{etag}"'
    return any(item.strip() in (quoted, f"W/{quoted}", "*") for item in if_none_match.split(","))


class GzipCache:
    """The gzip of documents by their content-derived ETag, least recently used dropped
    beyond ``max_bytes`` (thread-safe; :meth:`compress` blocks, run it on a worker thread)."""

    def __init__(self, max_bytes: int = 32 << 20) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, etag: str) -> bytes | None:
        with self._lock:
            found = self._items.get(etag)
            if found is not None:
                self._items.move_to_end(etag)
            return found

    def compress(self, etag: str, body: bytes) -> bytes:
        found = self.get(etag)
        if found is not None:
            return found
        made = gzip_compress([body], PAGE_LEVEL)
        if len(made) > self.max_bytes:
            return made
        with self._lock:
            if etag not in self._items:
                self._items[etag] = made
                self._size += len(made)
                while self._size > self.max_bytes:
                    _key, dropped = self._items.popitem(last=False)
                    self._size -= len(dropped)
        return made
