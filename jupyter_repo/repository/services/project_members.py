"""One file inside a stored project archive, for the project page's file browser.

A person names the file by its path as the listing shows it. That name never reaches a
file system: it must be one of the paths recorded at upload (already checked there), and
the archive is read from the blob store as a stream (tar) or from a bounded spool (zip),
comparing the archive's own member names with it. Only regular files are read, never
links, and only the first ``limit`` bytes of them.
"""

from __future__ import annotations

import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from typing import IO, Any

from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.errors import NotFound

#: Bytes of one member shown on the page; the rest is left to the download.
DEFAULT_SHOWN_BYTES = 256 * 1024
#: Zip archives are spooled (they need seeking); above this size the spool goes to disk.
SPOOL_IN_MEMORY = 8 * 1024 * 1024


@dataclass(frozen=True)
class Member:
    path: str
    size: int
    #: The first bytes as text, or None for a binary file.
    text: str | None
    truncated: bool


class _Chunks:
    """A read-only file over the store's chunks (what ``tarfile``'s stream mode reads)."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def listed_path(files: list[dict[str, Any]], path: str) -> dict[str, Any]:
    """The recorded entry named ``path`` exactly; anything else is not there."""
    for entry in files:
        if entry.get("path") == path:
            return entry
    raise NotFound("The project has no such file.")


def _matches(member_name: str, path: str) -> bool:
    """The archive's name for the listed ``path``: itself, or under the one top folder that
    the listing leaves out."""
    name = "/".join(part for part in member_name.split("/") if part not in ("", "."))
    return name == path or (name.endswith("/" + path) and name.count("/") == path.count("/") + 1)


def _member(path: str, size: int, stream: IO[bytes], limit: int) -> Member:
    head = stream.read(limit + 1)
    truncated = len(head) > limit
    head = head[:limit]
    if b"\x00" in head[:8192]:
        return Member(path, size, None, truncated)
    return Member(path, size, head.decode("utf-8", "replace"), truncated)


def read_member(
    repo: Repository,
    blob_key: str,
    filename: str,
    files: list[dict[str, Any]],
    path: str,
    limit: int = DEFAULT_SHOWN_BYTES,
) -> Member:
    """The start of the listed file ``path`` in the project archive. Blocking."""
    entry = listed_path(files, path)
    size = int(entry.get("size") or 0)
    if filename.lower().endswith(".zip"):
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            for chunk in repo.store.open_range(blob_key):
                spool.write(chunk)
            spool.seek(0)
            with zipfile.ZipFile(spool) as archive:
                for info in archive.infolist():
                    if not info.is_dir() and _matches(info.filename, path):
                        if (info.external_attr >> 16) & 0o170000 == 0o120000:  # a link
                            break
                        with archive.open(info) as stream:
                            return _member(path, size, stream, limit)
        raise NotFound("The project has no such file.")
    stream_of_chunks = _Chunks(repo.store.open_range(blob_key))
    with tarfile.open(fileobj=stream_of_chunks, mode="r|*") as tar:  # type: ignore[call-overload]
        for info in tar:
            if info.isfile() and _matches(info.name, path):
                stream = tar.extractfile(info)
                if stream is None:
                    break
                return _member(path, size, stream, limit)
    raise NotFound("The project has no such file.")
