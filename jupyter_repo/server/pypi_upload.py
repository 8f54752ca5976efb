"""PyPI's upload API over HTTP: ``POST /pypi/<owner>[/label/<label>]/``.

The URL a user configures in twine, uv, poetry, pdm or hatch is the index's root, next to
its ``simple/`` page; the body is the "legacy" ``multipart/form-data`` upload
(``:action=file_upload``, the distribution in the ``content`` part). Credentials are HTTP
Basic: ``__token__`` and a token, or a username and password (or a token in the path,
``/pypi/t/<token>/<owner>/``). The body streams through a worker thread into a spool, as
for every upload, so nothing is held in memory and nothing is hashed on the event loop.

Errors follow Warehouse: the message is the status line's reason too (twine shows only
that), and the JSON body carries ``message`` and ``code``. ``/+simple/<project>/`` answers
like ``simple/<project>/``, for hatch, which looks for existing files there (as on devpi).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from tornado.web import HTTPError, RequestHandler

from jupyter_repo.repository import errors
from jupyter_repo.repository.services import pypi_uploads
from jupyter_repo.server.api.uploads import SpoolingHandler
from jupyter_repo.server.multipart import StreamingForm, boundary_of, last_values
from jupyter_repo.server.pypi import ProjectHandler

#: Bytes of form fields beside the file (description, classifiers...), read and dropped.
MAX_FORM_METADATA = 4 << 20
#: Parts in one upload form (each classifier and requirement is a part of its own).
MAX_FORM_PARTS = 2000
MAX_KEPT_FIELD = 4 << 10  # names, versions and digests are short
MAX_REASON = 400

INDEX_ROOT = r"/pypi/(?P<owner>[^/]+)(?:/label/(?P<label>[^/]+))?"


class UploadHandler(SpoolingHandler):
    """``POST`` a distribution to the index at this URL (the form's ``content`` part)."""

    allow_password_auth = True

    @property
    def max_body_size(self) -> int:  # type: ignore[override]
        return self.repo.max_upload_size + MAX_FORM_METADATA + (1 << 20)

    async def prepare(self) -> None:
        if self.request.method != "POST":
            raise HTTPError(
                405,
                "This is the index's upload URL (POST a distribution here); "
                "install from its simple/ page.",
            )
        await super().prepare()
        boundary = boundary_of(self.request.headers.get("Content-Type"))
        owner, label = self.path_kwargs["owner"], self.path_kwargs["label"]
        await self.run(pypi_uploads.check_destination, self.actor, owner, label)
        self._spool = await self.run_blocking(
            self.repo.store.new_spool, self.repo.max_upload_size, blake2_256=True
        )
        self._form = StreamingForm(
            boundary,
            self._spool,
            is_file=lambda name, _has_filename: name == "content",
            keep=lambda name: name in pypi_uploads.FORM_FIELDS,
            on_file=self._file_starts,
            max_fields=MAX_FORM_PARTS,
            max_field_bytes=MAX_KEPT_FIELD,
            max_dropped_bytes=MAX_FORM_METADATA,
            single_file=True,
        )

    def upload_form(self) -> pypi_uploads.UploadForm:
        """The kept fields as the domain's typed form."""
        fields = last_values(self._form.fields)
        return pypi_uploads.UploadForm(
            action=fields.get(":action"),
            protocol_version=fields.get("protocol_version"),
            name=fields.get("name"),
            version=fields.get("version"),
            filetype=fields.get("filetype"),
            md5_digest=fields.get("md5_digest"),
            sha256_digest=fields.get("sha256_digest"),
            blake2_256_digest=fields.get("blake2_256_digest"),
            filename=self._form.filename,
        )

    def _file_starts(self, _name: str, filename: str | None) -> None:
        """On the worker thread, when the ``content`` part begins: refuse what would be
        refused anyway (another project's namespace, a mismatched name) before its bytes
        are stored. Every client sends the metadata fields before the file."""
        form = self.upload_form()
        if form.name and form.version and filename:
            self.repo.read(
                pypi_uploads.check_project,
                self.actor,
                self.path_kwargs["owner"],
                replace(form, filename=filename),
            )

    def consume(self, chunks: Sequence[bytes]) -> None:
        self._form.write_many(chunks)

    async def post(self, owner: str, label: str | None) -> None:
        await self.finish_stream()
        await self.run_blocking(self._form.finalize)
        if not self._form.got_file or self._spool is None:
            raise errors.InvalidInput("The form has no 'content' part: nothing to upload.")
        spool, self._spool = self._spool, None
        await self.run_blocking(spool.finish)
        published = await self.run_blocking(
            pypi_uploads.ingest, self.repo, self.actor, owner, label, self.upload_form(), spool
        )
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(
            json.dumps(
                {
                    "ok": True,
                    "created": published.created,
                    "message": (
                        f"Uploaded {published.filename}."
                        if published.created
                        else f"{published.filename} was already there; nothing changed."
                    ),
                    "project": published.project,
                    "version": published.version,
                    "filename": published.filename,
                    "label": published.label,
                }
            )
        )

    def render_error(self, status_code: int, message: str) -> None:
        """Warehouse's shape: the reason phrase says it all (twine prints only the status
        line), ``code`` is the status line (uv prints it), ``message`` the message."""
        reason = _reason_phrase(message)
        self.set_status(status_code, reason=reason)
        self.clear_header("Content-Disposition")
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(
            json.dumps(
                {
                    "message": message,
                    "code": f"{status_code} {reason}",
                    "title": reason,
                    "error": message,
                    "status": status_code,
                }
            )
        )


def _reason_phrase(message: str) -> str:
    """A message as an HTTP reason phrase: printable ASCII, one line, bounded."""
    text = "".join(char if " " <= char <= "~" else "?" for char in " ".join(message.split()))
    return text[:MAX_REASON] or "Error"


ROUTES: list[tuple[str, type[RequestHandler]]] = [
    (INDEX_ROOT + r"/?", UploadHandler),
    # The project page under devpi's name, where hatch looks for files already uploaded
    # (it sends the "+" percent-encoded; routes match the path as sent).
    (INDEX_ROOT + r"/(?:\+|%2[Bb])simple/(?P<project>[^/]+)(?P<slash>/?)", ProjectHandler),
]
