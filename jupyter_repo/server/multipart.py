"""A ``multipart/form-data`` body parsed as it streams in: one file part, bounded fields.

Used by the upload handlers on a worker thread, batch by batch. The file part goes straight
to a sink (a spool on disk); other parts are small form fields, kept up to a bound, or
dropped unread when the caller does not want them (a PyPI upload carries a description,
classifiers and other metadata the repository reads from the file itself).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from jupyter_repo.repository import errors

MAX_PART_HEADER = 8 << 10  # recent python-multipart stops at 4 KiB itself; older ones do not


class Sink(Protocol):
    def write_many(self, chunks: Sequence[bytes | memoryview]) -> None: ...


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` body, or a 400."""
    media_type, params = parse_options_header(content_type)
    if media_type != b"multipart/form-data" or not params.get(b"boundary"):
        raise errors.InvalidInput("Expected a multipart/form-data body.")
    boundary: bytes = params[b"boundary"]
    return boundary


class StreamingForm:
    """Parses a multipart body written to it in pieces (blocking; call from one thread).

    ``is_file(name, has_filename)`` picks the file part(s), written to ``sink``;
    ``on_file(name, filename)`` runs when a file part starts (it may refuse the upload before
    any of its bytes are written). Fields that ``keep`` accepts are kept (each at most
    ``max_field_bytes``, repeated names in order); the others are counted and dropped.
    """

    def __init__(
        self,
        boundary: bytes,
        sink: Sink,
        *,
        is_file: Callable[[str, bool], bool],
        keep: Callable[[str], bool] = lambda _name: True,
        on_file: Callable[[str, str | None], None] | None = None,
        max_fields: int = 100,
        max_field_bytes: int = 64 << 10,
        max_dropped_bytes: int | None = None,
        single_file: bool = False,
    ) -> None:
        self.fields: dict[str, list[str]] = {}
        self.filename: str | None = None
        self.got_file = False
        self._sink = sink
        self._is_file = is_file
        self._keep = keep
        self._on_file = on_file
        self._max_fields = max_fields
        self._max_field_bytes = max_field_bytes
        self._max_dropped_bytes = max_dropped_bytes
        self._single_file = single_file
        self._parts = 0
        self._dropped_bytes = 0
        self._part: dict[str, Any] = {}
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[str, bytes] = {}
        self._file_pieces: list[memoryview] = []
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field_data,
                "on_header_value": self._header_value_data,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def field(self, name: str) -> str | None:
        """The last value of a kept field, or ``None``."""
        values = self.fields.get(name)
        return values[-1] if values else None

    def write_many(self, chunks: Sequence[bytes]) -> None:
        """Parse ``chunks`` in order; the file's pieces among them reach the sink in one
        call (a spool hashes big writes on other threads, small ones inline)."""
        try:
            for chunk in chunks:
                self._parser.write(chunk)
        except MultipartParseError as error:
            raise errors.InvalidInput(f"The multipart body is malformed: {error}") from None
        self._flush_file()

    def _flush_file(self) -> None:
        pieces, self._file_pieces = self._file_pieces, []
        if pieces:
            self._sink.write_many(pieces)

    def finalize(self) -> None:
        try:
            self._parser.finalize()
        except MultipartParseError as error:
            raise errors.InvalidInput(f"The multipart body is malformed: {error}") from None

    # -- the parser's callbacks ------------------------------------------------------------

    def _part_begin(self) -> None:
        self._parts += 1
        if self._parts > self._max_fields:
            raise errors.InvalidInput("The multipart body has too many form fields.")
        self._headers = {}
        self._part = {"name": "", "kind": "drop", "buffer": [], "size": 0}

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]
        if len(self._header_field) > MAX_PART_HEADER:
            raise errors.InvalidInput("A multipart header is too long.")

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        if len(self._header_value) > MAX_PART_HEADER:
            raise errors.InvalidInput("A multipart header is too long.")

    def _header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _, disposition = parse_options_header(self._headers.get("content-disposition"))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = disposition.get(b"filename")
        self._part["name"] = name
        if self._is_file(name, raw_filename is not None):
            if self._single_file and self.got_file:
                raise errors.InvalidInput(f"The form has more than one {name!r} file part.")
            filename = raw_filename.decode("utf-8", "replace") if raw_filename else None
            if self._on_file is not None:
                self._on_file(name, filename)
            self.filename = filename
            self._part["kind"] = "file"
        elif name and self._keep(name):
            self._part["kind"] = "field"

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        kind = self._part["kind"]
        if kind == "file":
            # Kept until the end of the batch: only views of immutable bytes, never of a
            # buffer the parser may reuse.
            piece = data if isinstance(data, bytes) else bytes(data[start:end])
            self._file_pieces.append(
                memoryview(piece)[start:end] if piece is data else memoryview(piece)
            )
            return
        size = end - start
        if kind == "drop":
            self._dropped_bytes += size
            if (
                self._max_dropped_bytes is not None
                and self._dropped_bytes > self._max_dropped_bytes
            ):
                raise errors.TooLarge(
                    f"The form's fields beside the file exceed the server's limit of "
                    f"{self._max_dropped_bytes} bytes."
                )
            return
        self._part["size"] += size
        if self._part["size"] > self._max_field_bytes:
            raise errors.InvalidInput(f"The form field {self._part['name']!r} is too long.")
        self._part["buffer"].append(data[start:end])

    def _part_end(self) -> None:
        kind = self._part.get("kind")
        if kind == "file":
            self._flush_file()  # before a second file part's check may refuse the form
            self.got_file = True
        elif kind == "field":
            value = b"".join(self._part["buffer"]).decode("utf-8", "replace")
            self.fields.setdefault(self._part["name"], []).append(value)


def last_values(fields: dict[str, list[str]], names: Iterable[str] | None = None) -> dict[str, str]:
    """Each field's last value (all fields, or only ``names``)."""
    wanted = fields.keys() if names is None else names
    return {name: fields[name][-1] for name in wanted if fields.get(name)}
