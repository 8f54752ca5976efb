"""Sending stored blobs: ETag, Last-Modified, 304, Range, HEAD and chunked streaming.

Used for every download route (API downloads, conda package files, PyPI files), so that
they all behave the same for caches and resuming clients.

What counts as a download (:func:`counts_as_download`): a GET that starts sending the file
from its first byte (a 200, a 206 whose range starts at 0, or the redirect to a presigned
URL). A HEAD, a 304 revalidation, a 416 and a Range request that continues a download
(starting past byte 0) do not count: a resumed or parallel-chunked download counts once.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from tornado import web
from tornado.ioloop import IOLoop

from jupyter_repo.server.base import BaseHandler

IMMUTABLE = "public, max-age=31536000, immutable"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    sha256: str
    filename: str
    last_modified: datetime
    content_type: str = "application/octet-stream"
    #: The stored file this is, whose download count a sent copy adds to.
    file_id: int | None = None


def _http_date(value: datetime) -> str:
    return email.utils.format_datetime(value.replace(microsecond=0), usegmt=True)


def not_modified(handler: BaseHandler, etag: str, last_modified: datetime | None) -> bool:
    """Evaluate If-None-Match (preferred) or If-Modified-Since against a representation."""
    if_none_match = handler.request.headers.get("If-None-Match")
    if if_none_match is not None:
        candidates = [item.strip() for item in if_none_match.split(",")]
        weak = etag[2:] if etag.startswith("W/") else etag
        return "*" in candidates or any(
            candidate in (etag, weak, "W/" + weak) for candidate in candidates
        )
    if_modified_since = handler.request.headers.get("If-Modified-Since")
    if if_modified_since and last_modified is not None:
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            return False
        return last_modified.replace(microsecond=0) <= since
    return False


def _requested_range(
    handler: BaseHandler, size: int, etag: str
) -> tuple[int, int] | Literal["unsatisfiable"] | None:
    """(start, end_exclusive), None for the whole file, or "unsatisfiable"."""
    header = handler.request.headers.get("Range")
    if not header:
        return None
    if_range = handler.request.headers.get("If-Range")
    if if_range and if_range.strip() != etag:
        return None
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None  # multiple or malformed ranges: send the whole representation
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        end = min(int(last) + 1, size) if last else size
    else:
        suffix = int(last)
        start, end = max(size - suffix, 0), size
    if start >= size or start >= end:
        return "unsatisfiable"
    return start, end


async def send_blob(
    handler: BaseHandler,
    blob: BlobInfo,
    *,
    cache_control: str = IMMUTABLE,
    attachment: bool = True,
    presign: bool = True,
) -> None:
    """Answer a GET or HEAD for ``blob``, streaming the bytes from storage in chunks
    (``presign=False``: never redirected to the store, e.g. to show text in the browser)."""
    etag = f'"{blob.sha256}"'
    handler.set_header("ETag", etag)
    handler.set_header("Last-Modified", _http_date(blob.last_modified))
    handler.set_header("Cache-Control", cache_control)
    handler.set_header("Accept-Ranges", "bytes")
    if not_modified(handler, etag, blob.last_modified):
        handler.set_status(304)
        handler.finish()
        return
    presigned = handler.repo.store.presigned_url(blob.key, blob.filename) if presign else None
    if presigned and handler.request.method == "GET":
        _count(handler, blob, 0)
        # The one redirect off this server: to the store's own short-lived URL.
        web.RequestHandler.redirect(handler, presigned, status=302)
        return
    handler.set_header("Content-Type", blob.content_type)
    if attachment:
        handler.set_header(
            "Content-Disposition", f"attachment; filename*=UTF-8''{quote(blob.filename)}"
        )
    wanted = _requested_range(handler, blob.size, etag)
    if wanted == "unsatisfiable":
        handler.set_status(416)
        handler.set_header("Content-Range", f"bytes */{blob.size}")
        handler.finish()
        return
    start, end = (0, blob.size) if wanted is None else wanted
    if wanted is not None:
        handler.set_status(206)
        handler.set_header("Content-Range", f"bytes {start}-{end - 1}/{blob.size}")
    handler.set_header("Content-Length", str(end - start))
    _count(handler, blob, start)
    if handler.request.method == "HEAD" or end == start:
        handler.finish()
        return
    await stream_range(handler, blob.key, start, end)
    handler.finish()


def counts_as_download(method: str, start: int) -> bool:
    """A GET that sends the file from its first byte (see the module's docstring)."""
    return method == "GET" and start == 0


def _count(handler: BaseHandler, blob: BlobInfo, start: int) -> None:
    if blob.file_id is not None and counts_as_download(handler.request.method or "", start):
        handler.repo.download_counter.count(blob.file_id)


async def stream_range(handler: BaseHandler, key: str, start: int, end: int) -> None:
    loop = IOLoop.current()
    executor = handler.settings["executor"]
    chunks = await loop.run_in_executor(executor, handler.repo.store.open_range, key, start, end)
    sentinel: Any = object()
    try:
        while True:
            chunk = await loop.run_in_executor(executor, next, chunks, sentinel)
            if chunk is sentinel:
                break
            handler.write(chunk)
            await handler.flush()
    finally:
        await loop.run_in_executor(executor, chunks.close)
