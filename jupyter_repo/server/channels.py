"""Conda channels over HTTP: ``/conda/<owner>[/label/<label>]/...``.

Per subdir: ``repodata.json``, ``repodata.json.zst``, ``repodata_shards.msgpack.zst``,
``shards/<sha256>.msgpack.zst``, ``run_exports.json`` (CEP 12) and the package files;
``channeldata.json`` at the channel root; ``repodata.json`` and ``channeldata.json`` gzipped
for clients that accept it (``encoding.py``). Tokens come as ``/t/<token>/`` (at the root or
after ``/conda``, stripped by ``RepoApplication``) or as headers; a bad token is 401, a token
without private rights gets the public view. Everything else under ``/conda`` (``.bz2``,
``current_repodata.json``, ``notices.json``) is a real JSON 404, which conda and rattler read
as "not offered".

Handlers stay thin: one small look-up to learn the index's revision (inline on SQLite,
see ``InlineLocator``; with the caller's private rights on a worker thread for signed-in
callers), then the documents come from the process's :class:`ChannelIndexes` cache, built or
caught up on the index threads when behind. Anonymous conditional requests whose validator
matches are answered before routing, by :func:`revalidation_answer`.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from functools import lru_cache, partial
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.orm import Session
from tornado import httputil
from tornado.ioloop import IOLoop
from tornado.web import RequestHandler

from jupyter_repo.repository.errors import RepositoryError
from jupyter_repo.repository.indexes import lookup
from jupyter_repo.repository.indexes.channels import ChannelIndexes
from jupyter_repo.repository.indexes.snapshots import ChannelView, Once
from jupyter_repo.server import encoding, proxied
from jupyter_repo.server.base import BaseHandler
from jupyter_repo.server.files import IMMUTABLE, BlobInfo, not_modified, send_blob

T = TypeVar("T")
P = ParamSpec("P")

CHANNEL = r"/conda/(?P<owner>[^/]+)(?:/label/(?P<label>[^/]+))?"
SUBDIR = CHANNEL + r"/(?P<subdir>[^/]+)"
JSON_TYPE = "application/json"
BINARY_TYPE = "application/octet-stream"
PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"


@lru_cache(maxsize=1024)
def http_date(milliseconds: int) -> str:
    moment = datetime.fromtimestamp(milliseconds // 1000, tz=timezone.utc)
    return email.utils.format_datetime(moment, usegmt=True)


def http_now() -> str:
    """The ``Date`` header value, formatted once per second."""
    return http_date(int(time.time()) * 1000)


class IndexHandler(BaseHandler):
    """Shared by the channel and PyPI handlers: conditional bytes responses and look-ups."""

    @property
    def indexes(self) -> ChannelIndexes:
        indexes: ChannelIndexes = self.settings["channel_indexes"]
        return indexes

    def inline_locator(self) -> lookup.InlineLocator:
        """The event loop's own locator (one per application; used on the loop only)."""
        locator = self.settings.get("inline_locator")
        if locator is None:
            locator = self.settings["inline_locator"] = lookup.InlineLocator(self.repo.database)
        return locator

    async def in_index_pool(
        self, function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run index building work on the index threads (never on the request threads)."""
        return await IOLoop.current().run_in_executor(
            self.indexes.executor, partial(function, *args, **kwargs)
        )

    def cache_control(self) -> str:
        """Short-lived caching; ``private`` whenever the caller identified itself."""
        scope = "public" if self.actor.anonymous and self.refused_token is None else "private"
        return f"{scope}, max-age={self.settings.get('channel_max_age', 30)}"

    def is_fresh(self, etag: str, changed_at_ms: int) -> bool:
        """304? ``If-None-Match`` decides when present; ``If-Modified-Since`` (one-second
        resolution) only once the last change is over a second old."""
        if self.request.headers.get("If-None-Match") is not None:
            return not_modified(self, etag, None)
        if not changed_at_ms or time.time() * 1000 - changed_at_ms < 1000:
            return False
        moment = datetime.fromtimestamp(changed_at_ms / 1000, tz=timezone.utc)
        return not_modified(self, etag, moment)

    def send_bytes(
        self,
        body: bytes | Sequence[bytes],
        etag: str,
        *,
        changed_at_ms: int,
        content_type: str,
        cache_control: str,
        vary: str | None = None,
        content_encoding: str | None = None,
    ) -> None:
        """Answer with ``body`` (or 304, or headers only for HEAD).

        ``body`` may be a list of pieces; they are handed to the connection one by one, so a
        30 MB document is never joined or copied per request.
        """
        quoted = f'"{etag}"'
        self.set_header("ETag", quoted)
        self.set_header("Cache-Control", cache_control)
        if vary:
            self.set_header("Vary", vary)
        if content_encoding:
            self.set_header("Content-Encoding", content_encoding)
        if changed_at_ms:
            self.set_header("Last-Modified", http_date(changed_at_ms))
        if self.is_fresh(quoted, changed_at_ms):
            self.set_status(304)
            self.finish()
            return
        pieces = [body] if isinstance(body, bytes) else body
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Length", str(sum(len(piece) for piece in pieces)))
        if self.request.method != "HEAD":
            pending = 0
            for piece in pieces:  # a document's pieces can be one per package name
                self.write(piece)
                pending += len(piece)
                if pending >= FLUSH_BYTES:
                    self.flush()
                    pending = 0
        self.finish()

    def wants_gzip(self) -> bool:
        return encoding.accepts_gzip(self.request.headers.get("Accept-Encoding"))

    async def send_document(
        self,
        body: bytes,
        etag: str,
        *,
        changed_at_ms: int,
        content_type: str,
        cache_control: str,
        vary: str | None = None,
    ) -> None:
        """:meth:`send_bytes` for a small generated document, gzipped when the client
        accepts it: compressed once per content (:class:`encoding.GzipCache`), on a worker
        thread, and never when the answer will be a 304."""
        vary = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
        content_encoding = None
        if self.wants_gzip():
            content_encoding = "gzip"
            cache = self.gzip_cache()
            plain_etag, etag = etag, etag + encoding.GZIP_SUFFIX
            if not encoding.matches(self.request.headers.get("If-None-Match"), etag):
                found = cache.get(plain_etag)
                if found is None:
                    found = await self.run_blocking(cache.compress, plain_etag, body)
                body = found
        self.send_bytes(
            body,
            etag,
            changed_at_ms=changed_at_ms,
            content_type=content_type,
            cache_control=cache_control,
            vary=vary,
            content_encoding=content_encoding,
        )

    def gzip_cache(self) -> encoding.GzipCache:
        """The application's gzip of small documents."""
        cache = self.settings.get("gzip_cache")
        if cache is None:
            cache = self.settings["gzip_cache"] = encoding.GzipCache()
        return cache


class _ChannelHandler(IndexHandler):
    async def located(
        self, owner: str, label: str | None, subdir: str | None
    ) -> tuple[lookup.Located, frozenset[int]]:
        """The index a URL names and the private packages the caller may read in it."""
        if self.actor.anonymous:
            located = self.inline_locator().locate(owner, label, "conda", subdir)
            if located is None:
                located = await self.run_blocking(
                    lookup.locate, self.repo.database, owner, label, "conda", subdir
                )
            return lookup.public_view(located), frozenset()

        def find(session: Session) -> tuple[lookup.Located, frozenset[int]]:
            found = lookup.locate_in(session, owner, label, "conda", subdir, actor=self.actor)
            readable = lookup.readable_private_packages(
                session, self.actor, found.key.owner_id, found.key.label
            )
            return found, readable

        return await self.run(find)

    async def view(self, owner: str, label: str | None, subdir: str) -> ChannelView:
        located, readable = await self.located(owner, label, subdir)
        snapshot = self.indexes.snapshot_if_current(located.key, located.revision)
        if snapshot is None:
            snapshot = await self.in_index_pool(self.indexes.current, located.key, located.revision)
        if readable & snapshot.private_ids:
            return await self.in_index_pool(self.indexes.view, snapshot, readable)
        return snapshot.public

    async def send_made_once(
        self,
        view: ChannelView,
        document: Once[bytes] | Once[list[bytes]],
        suffix: str,
        content_type: str,
    ) -> None:
        """One of the view's documents, made once (on the index threads, on first request)
        and then served as bytes; a matching ``If-None-Match`` needs no bytes at all."""
        etag = view.etag + suffix
        data = document.ready
        if data is None and self.request.headers.get("If-None-Match") != f'"{etag}"':
            data = await self.in_index_pool(document.get)
        self.send_bytes(
            data or b"",
            etag,
            changed_at_ms=view.changed_at_ms,
            content_type=content_type,
            cache_control=self.cache_control(),
        )


#: Bytes of pieces handed to the connection at a time when sending a document in pieces.
FLUSH_BYTES = 1 << 20

#: The documents :func:`revalidation_answer` may answer for, with the suffix their ETag carries.
DOCUMENT_SUFFIXES = {
    "repodata.json": "",
    "repodata.json.zst": ".zst",
    "repodata_shards.msgpack.zst": ".shards",
    "run_exports.json": ".run_exports",
}
_DOCUMENT = re.compile(
    r"^/conda/(?P<owner>[^/?]+)(?:/label/(?P<label>[^/?]+))?/(?P<subdir>[^/?]+)/"
    r"(?P<document>repodata\.json(?:\.zst)?|repodata_shards\.msgpack\.zst|run_exports\.json)$"
)


def revalidation_answer(
    application: Any, start_line: httputil.RequestStartLine, headers: httputil.HTTPHeaders
) -> tuple[httputil.ResponseStartLine, httputil.HTTPHeaders] | None:
    """A 304 for an anonymous conditional request of a current channel document, or ``None``.

    A shortcut of ``connection.RequestStart``, run before routing. Clients revalidate
    repodata constantly (conda and rattler send ``If-None-Match`` whenever ``max-age`` has
    passed), and building a ``RequestHandler`` costs more than everything else a 304 needs
    put together: the index's current revision (an inline look-up on SQLite, see
    ``InlineLocator``), a snapshot at that revision, and a string comparison. Anything else —
    credentials in headers or in the path, other documents, a stale copy, an unknown owner —
    returns ``None`` and takes the normal route, which gives the same answers, only slower.
    """
    if start_line.method not in ("GET", "HEAD"):
        return None
    candidate = headers.get("If-None-Match")
    if candidate is None or "Authorization" in headers or "X-API-Key" in headers:
        return None
    match = _DOCUMENT.match(start_line.path)
    indexes = application.settings.get("channel_indexes")
    if match is None or indexes is None or match["owner"] == "t":
        return None
    locator = application.settings.get("inline_locator")
    if locator is None:
        locator = application.settings["inline_locator"] = lookup.InlineLocator(
            application.settings["repository"].database
        )
    try:
        located = locator.locate(match["owner"], match["label"], "conda", match["subdir"])
    except RepositoryError:
        return None
    if located is None or not located.label_public:
        return None
    snapshot = indexes.snapshot_if_current(located.key, located.revision)
    if snapshot is None:
        return None
    view = snapshot.public
    suffix = DOCUMENT_SUFFIXES[match["document"]]
    gzipped = not suffix and encoding.accepts_gzip(headers.get("Accept-Encoding"))
    etag = f'"{view.etag}{encoding.GZIP_SUFFIX if gzipped else suffix}"'
    if etag not in (item.strip() for item in candidate.split(",")):
        return None
    answer = httputil.HTTPHeaders(
        {
            "ETag": etag,
            "Cache-Control": f"public, max-age={application.settings.get('channel_max_age', 30)}",
            "Date": http_now(),
        }
    )
    if view.changed_at_ms:
        answer["Last-Modified"] = http_date(view.changed_at_ms)
    if not suffix:
        answer["Vary"] = "Accept-Encoding"
    return httputil.ResponseStartLine("HTTP/1.1", 304, "Not Modified"), answer


class RepodataHandler(_ChannelHandler):
    """``<subdir>/repodata.json``: always a valid document, ``{...}`` even when empty;
    gzipped (compressed once per view) for clients that accept it."""

    async def get(self, owner: str, label: str | None, subdir: str) -> None:
        proxy = await proxied.proxy_for(self, owner, label, "conda")
        if proxy is not None:
            await proxied.send_repodata(self, proxy, subdir)
            return
        view = await self.view(owner, label, subdir)
        if self.wants_gzip():
            etag = view.etag + encoding.GZIP_SUFFIX
            data = view.gzip.ready
            if data is None and not encoding.matches(
                self.request.headers.get("If-None-Match"), etag
            ):
                data = await self.in_index_pool(view.gzip.get)
            self.send_bytes(
                data or b"",
                etag,
                changed_at_ms=view.changed_at_ms,
                content_type=JSON_TYPE,
                cache_control=self.cache_control(),
                vary="Accept-Encoding",
                content_encoding="gzip",
            )
            return
        self.send_bytes(
            view.pieces,
            view.etag,
            changed_at_ms=view.changed_at_ms,
            content_type=JSON_TYPE,
            cache_control=self.cache_control(),
            vary="Accept-Encoding",
        )


class RepodataZstHandler(_ChannelHandler):
    """``<subdir>/repodata.json.zst``: compressed once per change, then served as bytes."""

    async def get(self, owner: str, label: str | None, subdir: str) -> None:
        if await proxied.proxy_for(self, owner, label, "conda"):
            raise proxied.not_offered("repodata.json.zst")
        view = await self.view(owner, label, subdir)
        await self.send_made_once(view, view.zst, ".zst", BINARY_TYPE)


class ShardIndexHandler(_ChannelHandler):
    """``<subdir>/repodata_shards.msgpack.zst`` (CEP 16), from the same snapshot."""

    async def get(self, owner: str, label: str | None, subdir: str) -> None:
        if await proxied.proxy_for(self, owner, label, "conda"):
            raise proxied.not_offered("sharded repodata")
        view = await self.view(owner, label, subdir)
        await self.send_made_once(view, view.shard_index, ".shards", BINARY_TYPE)


class RunExportsHandler(_ChannelHandler):
    """``<subdir>/run_exports.json`` (CEP 12): every file's ``run_exports``, from the same
    snapshot (made on first request, then served as bytes)."""

    async def get(self, owner: str, label: str | None, subdir: str) -> None:
        if await proxied.proxy_for(self, owner, label, "conda"):
            raise proxied.not_offered("run_exports.json")
        view = await self.view(owner, label, subdir)
        await self.send_made_once(view, view.run_exports, ".run_exports", JSON_TYPE)


class ShardHandler(_ChannelHandler):
    """``<subdir>/shards/<sha256>.msgpack.zst``: immutable, kept a while after replacement.

    From the current snapshot's memory when it has the shard (catching up first if the
    database is ahead), else from the database (shards replaced less than a week ago).
    """

    async def get(self, owner: str, label: str | None, subdir: str, digest: str) -> None:
        if await proxied.proxy_for(self, owner, label, "conda"):
            raise proxied.not_offered("shards")
        located, readable = await self.located(owner, label, subdir)
        snapshot = self.indexes.snapshot_if_current(located.key, located.revision)
        segment = snapshot.shard_if_ready(digest) if snapshot is not None else None
        if segment is None:
            segment = await self.in_index_pool(
                self.indexes.shard, located.key, located.revision, digest
            )
        if segment is not None and (segment.public or segment.package_id in readable):
            data, public = segment.shard, segment.public
        else:
            data, public = await self.run(
                lambda session: lookup.shard(session, self.actor, located, digest)
            )
        self.send_bytes(
            data,
            digest,
            changed_at_ms=0,
            content_type=BINARY_TYPE,
            cache_control=IMMUTABLE if public else PRIVATE_IMMUTABLE,
        )


class ChanneldataHandler(_ChannelHandler):
    """``channeldata.json`` (CEP 38) at the channel root."""

    async def get(self, owner: str, label: str | None) -> None:
        if await proxied.proxy_for(self, owner, label, "conda"):
            raise proxied.not_offered("channeldata.json")
        located, readable = await self.located(owner, label, None)

        def build(session: Session) -> tuple[bytes, str, int]:
            return self.indexes.channeldata(
                session, located.key.owner_id, located.key.label, readable
            )

        body, etag, changed_at = await self.run(build)
        await self.send_document(
            body,
            etag,
            changed_at_ms=changed_at,
            content_type=JSON_TYPE,
            cache_control=self.cache_control(),
        )


class PackageFileHandler(_ChannelHandler):
    """``<subdir>/<name>-<version>-<build>.conda|.tar.bz2``: ETag, 304, Range, HEAD."""

    async def get(self, owner: str, label: str | None, subdir: str, filename: str) -> None:
        proxy = await proxied.proxy_for(self, owner, label, "conda")
        if proxy is not None:
            await proxied.send_conda_file(self, proxy, label, subdir, filename)
            return

        def find(session: Session) -> lookup.StoredFile:
            located = lookup.locate_in(session, owner, label, "conda", subdir, actor=self.actor)
            return lookup.conda_file(session, self.actor, located, filename)

        stored = await self.run(find)
        await send_blob(
            self,
            BlobInfo(
                stored.key,
                stored.size,
                stored.sha256,
                stored.filename,
                stored.upload_time,
                file_id=stored.file_id,
            ),
            cache_control=IMMUTABLE if stored.public else PRIVATE_IMMUTABLE,
            attachment=False,
        )


ROUTES: list[tuple[str, type[RequestHandler]]] = [
    (CHANNEL + r"/channeldata\.json", ChanneldataHandler),
    (SUBDIR + r"/repodata\.json", RepodataHandler),
    (SUBDIR + r"/repodata\.json\.zst", RepodataZstHandler),
    (SUBDIR + r"/repodata_shards\.msgpack\.zst", ShardIndexHandler),
    (SUBDIR + r"/run_exports\.json", RunExportsHandler),
    (SUBDIR + r"/shards/(?P<digest>[0-9a-f]{64})\.msgpack\.zst", ShardHandler),
    (SUBDIR + r"/(?P<filename>[^/]+(?:\.conda|\.tar\.bz2))", PackageFileHandler),
]
