"""Uploads: stage → file POST (S3-style, 201) → commit; and the one-request streaming upload.

Bodies are never buffered whole: chunks are handed, about a MiB at a time (as Tornado read
them, never joined: each copy of the body costs), to a worker thread that parses the
multipart stream and writes the file part to a hashing spool on disk.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy.orm import Session
from tornado.ioloop import IOLoop

from jupyter_repo.repository import errors
from jupyter_repo.repository.models import File
from jupyter_repo.repository.services import uploads
from jupyter_repo.repository.storage import Spool
from jupyter_repo.server.api import bodies
from jupyter_repo.server.api import representations as rep
from jupyter_repo.server.base import BaseHandler
from jupyter_repo.server.multipart import StreamingForm, boundary_of

HAND_OFF_BYTES = 1 << 20  # bytes buffered before a worker thread writes them out
MAX_IN_FLIGHT = 8 << 20  # bytes read ahead of the writer before reading pauses
MAX_FORM_FIELD = 64 << 10
MAX_FORM_FIELDS = 100  # an S3-style POST carries about ten
MULTIPART_OVERHEAD = 1 << 20

S3_CODES = {
    400: "InvalidArgument",
    401: "AccessDenied",
    403: "AccessDenied",
    404: "NoSuchUpload",
    409: "OperationAborted",
    413: "EntityTooLarge",
}


class StageHandler(BaseHandler):
    """``POST /stage/<owner>/<package>/<version>/<basename>``."""

    async def post(self, owner: str, name: str, version: str, basename: str) -> None:
        request = bodies.stage_request(self.json_body(required=True))
        base = self.base_url()

        def stage(session: Session) -> dict[str, Any]:
            row = uploads.stage(
                session, self.repo, self.actor, owner, name, version, basename, request
            )
            return {
                "post_url": f"{base}/api/stage-upload/{row.dist_id}",
                "form_data": {
                    "key": row.basename,
                    "acl": "private",
                    "success_action_status": "201",
                    "Content-Type": "application/octet-stream",
                },
                "dist_id": row.dist_id,
                "basename": row.basename,
                "expires": rep.iso(row.expires_at),
            }

        self.write_json(await self.run_write(stage))


class CommitHandler(BaseHandler):
    """``POST /commit/<owner>/<package>/<version>/<basename>``."""

    async def post(self, owner: str, name: str, version: str, basename: str) -> None:
        dist_id = bodies.dist_id(self.json_body(required=True))
        urls = rep.Urls(self.base_url())

        def commit(session: Session) -> dict[str, Any]:
            row = uploads.commit(
                session, self.repo, self.actor, owner, name, version, basename, dist_id
            )
            package = row.release.package
            data = rep.file(session, row, package, package.owner, urls, version)
            data["url"] = urls.html(package.owner.login, package.name)
            return data

        self.write_json(await self.run_write(commit))


class SpoolingHandler(BaseHandler):
    """Shared streaming machinery: batch chunks, hand them to a worker thread, in order.

    Reading the socket (event loop) and hashing/writing (a worker thread) overlap: batches
    queue up to :data:`MAX_IN_FLIGHT` bytes before the loop stops reading, so the upload
    runs at the speed of the slower side while memory stays bounded. (Waiting for each batch
    to be written before reading the next one halved the throughput.)
    """

    def initialize(self) -> None:
        super().initialize()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._spool: Spool | None = None
        self._stream_error: BaseException | None = None
        self._batches: deque[tuple[bytes, ...]] = deque()
        self._in_flight = 0
        self._writer: asyncio.Future[None] | None = None
        self._progress = asyncio.Event()

    @property
    def max_body_size(self) -> int:  # type: ignore[override]
        return self.repo.max_upload_size + MULTIPART_OVERHEAD

    def consume(self, chunks: Sequence[bytes]) -> None:
        """Process a batch of body chunks, in order (called on a worker thread)."""
        raise NotImplementedError

    async def data_received(self, chunk: bytes) -> None:  # type: ignore[override]
        if self._stream_error is not None:
            return
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= HAND_OFF_BYTES:
            self._queue_pending()
            while self._in_flight > MAX_IN_FLIGHT and self._stream_error is None:
                self._progress.clear()
                await self._progress.wait()

    def _queue_pending(self) -> None:
        if not self._pending or self._stream_error is not None:
            return
        batch = tuple(self._pending)
        self._batches.append(batch)
        self._in_flight += self._pending_size
        self._pending.clear()
        self._pending_size = 0
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_batches())

    async def _write_batches(self) -> None:
        loop = IOLoop.current()
        while self._batches and self._stream_error is None:
            batch = self._batches[0]
            try:
                await loop.run_in_executor(self.settings["executor"], self.consume, batch)
            except BaseException as error:  # reported when the body is complete
                self._stream_error = error
                self._batches.clear()
                self._in_flight = 0
            else:
                self._batches.popleft()
                self._in_flight -= sum(len(chunk) for chunk in batch)
            self._progress.set()

    async def finish_stream(self) -> None:
        self._queue_pending()
        if self._writer is not None:
            await self._writer
        if self._stream_error is not None:
            raise self._stream_error

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        # Before the answer goes out, not after (on_finish): a client that sees the error
        # must find no partial upload left behind.
        self._discard_spool()
        super().send_error(status_code, **kwargs)

    def on_connection_close(self) -> None:
        self._discard_spool()

    def on_finish(self) -> None:
        self._discard_spool()

    def _discard_spool(self) -> None:
        spool, self._spool = self._spool, None
        if spool is not None:
            # Closing and unlinking a file is quick; do not leave partial uploads behind.
            spool.discard()


class StageUploadHandler(SpoolingHandler):
    """``POST /stage-upload/<dist_id>``: the S3-style multipart POST of anaconda-client.

    No Authorization header is sent here; the unguessable upload id, handed out to an
    authenticated stage call, is the credential. Errors are S3-style XML, as the client
    expects; success is exactly 201.
    """

    async def prepare(self) -> None:
        self._check_declared_length()
        boundary = boundary_of(self.request.headers.get("Content-Type"))
        dist_id = self.path_args[0]
        await self.run(uploads.open_stage, dist_id)  # 404 before any byte is read
        self._spool = await self.run_blocking(self.repo.store.new_spool, self.repo.max_upload_size)
        self._form = StreamingForm(
            boundary,
            self._spool,
            is_file=lambda name, has_filename: name == "file" or has_filename,
            max_fields=MAX_FORM_FIELDS,
            max_field_bytes=MAX_FORM_FIELD,
        )

    def consume(self, chunks: Sequence[bytes]) -> None:
        self._form.write_many(chunks)

    async def post(self, dist_id: str) -> None:
        await self.finish_stream()
        await self.run_blocking(self._form.finalize)
        if not self._form.got_file or self._spool is None:
            raise errors.InvalidInput("The multipart body has no 'file' part.")
        spool, self._spool = self._spool, None
        await self.run_blocking(spool.finish)
        await self.run_blocking(
            uploads.receive,
            self.repo,
            dist_id,
            spool,
            content_md5=self._form.field("Content-MD5"),
            content_length=self._form.field("Content-Length"),
        )
        self.set_status(201)
        self.set_header("Content-Type", "application/xml")
        self.finish(
            '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>'
            f"<Key>{escape(self._form.field('key') or '')}</Key></PostResponse>"
        )

    def render_error(self, status_code: int, message: str) -> None:
        code = S3_CODES.get(status_code, "InternalError")
        error = self._error_kind()
        if isinstance(error, errors.DigestMismatch):
            code = "InvalidDigest" if "MD5" in error.message else "BadDigest"
        self.set_header("Content-Type", "application/xml")
        self.finish(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self._last_error = kwargs.get("exc_info", (None, None, None))[1]
        super().write_error(status_code, **kwargs)

    def _error_kind(self) -> BaseException | None:
        return getattr(self, "_last_error", None)


class DirectUploadHandler(SpoolingHandler):
    """``PUT /upload/<owner>/<package>/<version>/<basename>``: the whole file as the body.

    Query arguments: ``type``, ``label`` (repeatable), ``summary``, ``description``,
    ``private=1``, ``sha256``. The package and the release are created when missing.
    """

    async def prepare(self) -> None:
        await super().prepare()
        owner, name, version, basename = self.path_args
        labels = tuple(self.get_query_arguments("label"))
        self._options = uploads.DirectOptions(
            distribution_type=self.get_query_argument("type", None) or None,
            labels=labels,
            summary=self.get_query_argument("summary", None),
            description=self.get_query_argument("description", None),
            public=self.get_query_argument("private", "0").lower() not in ("1", "true", "yes"),
            sha256=self.get_query_argument("sha256", None),
        )
        self._target = await self.run(
            uploads.precheck_direct,
            self.repo,
            self.actor,
            owner,
            name,
            version,
            basename,
            self._options,
        )
        self._spool = await self.run_blocking(self.repo.store.new_spool, self.repo.max_upload_size)

    @property
    def max_body_size(self) -> int:  # type: ignore[override]
        return self.repo.max_upload_size  # the body is the file itself

    def consume(self, chunks: Sequence[bytes]) -> None:
        assert self._spool is not None
        self._spool.write_many(chunks)

    async def put(self, *_args: str) -> None:
        await self.finish_stream()
        spool, self._spool = self._spool, None
        assert spool is not None
        await self.run_blocking(spool.finish)
        created = await self.run_blocking(
            uploads.ingest_direct, self.repo, self.actor, self._target, spool, self._options
        )
        urls = rep.Urls(self.base_url())

        def describe(session: Session) -> dict[str, Any]:
            row = session.get(File, created["file_id"])
            if row is None:  # someone removed it as soon as it was stored
                raise errors.NotFound("The uploaded file has already been removed.")
            package = row.release.package
            data = rep.file(session, row, package, package.owner, urls, row.release.version)
            data["url"] = urls.html(package.owner.login, package.name)
            # The summary reads a few columns; the full shape would load every File row
            # of the package on each upload.
            data["package"] = rep.package_summary(session, package, urls, self.actor)
            return data

        self.write_json(await self.run(describe), status=201)

    post = put
