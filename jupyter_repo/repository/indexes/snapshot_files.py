"""Snapshots kept on local disk, so that a restarted process serves a large index at once.

Building a subdir of 667k records from its file rows reads and joins every row (a minute on
this 2-core machine); a process that saved its snapshot reads it back in about a second and
then catches up from the change log like any process whose snapshot is behind (only the names
changed since). A saved snapshot is a cache, never the truth: it is used only when its index,
format and revision still fit the database (see :func:`load`), else the index is built in
full. Files are written whole to a temporary name and renamed, streamed with msgpack (never a
second copy of the snapshot in memory), and named by a hash of the index key (a label name
never reaches the file system).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import msgpack

from jupyter_repo.repository.indexes import conda
from jupyter_repo.repository.indexes.journal import IndexKey

#: Bumped when the file layout changes; the records' and documents' formats are checked too.
FILE_FORMAT = 1
_HEADER_KEYS = ("format", "record_format", "layout", "key", "index_id", "revision", "changed_at")


def path_for(folder: Path, key: IndexKey) -> Path:
    name = f"{key.owner_id}\0{key.kind}\0{key.label}\0{key.subdir}".encode()
    return folder / f"{hashlib.sha256(name).hexdigest()[:32]}.snapshot"


def _header(key: IndexKey, index_id: int, revision: int, changed_at_ms: int) -> list[Any]:
    return [
        FILE_FORMAT,
        conda.RECORD_FORMAT,
        conda.LAYOUT_VERSION,
        [key.owner_id, key.kind, key.label, key.subdir],
        index_id,
        revision,
        changed_at_ms,
    ]


def _segment_fields(segment: conda.Segment) -> list[Any]:
    return [
        segment.package_key,
        segment.name,
        segment.package_id,
        segment.public,
        segment.packages,
        segment.packages_conda,
        segment.removed,
        segment.run_exports,
        segment.run_exports_conda,
        segment.shard,
        segment.shard_sha256,
        segment.shard_entry,
        segment.fingerprint,
        segment.count,
        segment.ends_block,
    ]


def save(
    folder: Path,
    key: IndexKey,
    index_id: int,
    revision: int,
    changed_at_ms: int,
    segments: list[conda.Segment],
) -> Path:
    """Write a snapshot's segments (blocking; streamed to a temporary file, then renamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = path_for(folder, key)
    packer = msgpack.Packer(use_bin_type=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".saving-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(packer.pack(_header(key, index_id, revision, changed_at_ms)))
            out.write(packer.pack_array_header(len(segments)))
            for segment in segments:
                out.write(packer.pack(_segment_fields(segment)))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def load(folder: Path, key: IndexKey) -> tuple[int, int, int, list[conda.Segment]] | None:
    """``(index_id, revision, changed_at_ms, segments)`` of the saved snapshot of ``key``, or
    ``None`` when there is none or it is of another format or index (blocking)."""
    path = path_for(folder, key)
    try:
        with open(path, "rb") as source:
            return _read(source, key)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, msgpack.UnpackException, OSError):
        path.unlink(missing_ok=True)  # damaged: the index is built from the database
        return None


def _read(source: BinaryIO, key: IndexKey) -> tuple[int, int, int, list[conda.Segment]] | None:
    # ``unpack`` raises OutOfData on a truncated file (iterating would end it silently).
    unpacker = msgpack.Unpacker(source, raw=False, max_buffer_size=1 << 31)
    header = unpacker.unpack()
    expected = _header(key, 0, 0, 0)
    if not isinstance(header, list) or len(header) != len(_HEADER_KEYS):
        raise ValueError("not a snapshot file")
    fixed = (0, 1, 3)  # format, record format, key (the layout is bytes: compared below)
    if any(header[index] != expected[index] for index in fixed) or header[2] != expected[2]:
        return None
    index_id, revision, changed_at_ms = header[4], header[5], header[6]
    count = unpacker.read_array_header()
    segments = [conda.Segment(*unpacker.unpack()) for _ in range(count)]
    return index_id, revision, changed_at_ms, segments
