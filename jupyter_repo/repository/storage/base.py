"""The storage interface and the upload spool shared by every backend."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Generator, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from traitlets import Integer, Unicode
from traitlets.config import LoggingConfigurable

from jupyter_repo.repository.errors import TooLarge

SPOOL_SUFFIX = ".part"
#: Chunks at least this large are hashed with md5 on a helper thread while sha256 and the
#: write run on the caller's thread (hashlib and file writes release the GIL).
PARALLEL_HASH_BYTES = 256 << 10
#: After this many bytes the kernel is asked to start writing them to disk, so that the
#: final fsync finds little left to do and big uploads do not pile up in the page cache.
WRITEBACK_BYTES = 8 << 20

_hash_pool: ThreadPoolExecutor | None = None
_hash_pool_lock = threading.Lock()


def _hash_helper() -> ThreadPoolExecutor:
    global _hash_pool
    with _hash_pool_lock:
        if _hash_pool is None:
            _hash_pool = ThreadPoolExecutor(4, thread_name_prefix="jupyter-repo-hash")
        return _hash_pool


def _update_all(digest: Any, chunks: Sequence[bytes | memoryview]) -> None:
    for chunk in chunks:
        digest.update(chunk)


class Spool:
    """A temporary file that hashes (md5, sha256; blake2b-256 on request) and counts what is
    written to it.

    Written from a worker thread, chunk by chunk; memory use is one chunk at a time.
    """

    def __init__(self, directory: Path, max_size: int, *, blake2_256: bool = False) -> None:
        self.path = directory / f"upload-{uuid.uuid4().hex}{SPOOL_SUFFIX}"
        self.max_size = max_size
        self.size = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        # PyPI uploads announce a blake2b-256 digest (Warehouse's file identity).
        self._blake2 = hashlib.blake2b(digest_size=32) if blake2_256 else None
        try:
            self._file = open(self.path, "xb")  # noqa: SIM115 - closed in finish()/discard()
        except FileNotFoundError:  # the folder is made when first needed (not per spool)
            directory.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "xb")  # noqa: SIM115
        self._written_back = 0

    def write(self, data: bytes | memoryview) -> None:
        self.write_many([data])

    def write_many(self, chunks: Sequence[bytes | memoryview]) -> None:
        """Append ``chunks`` in order (hashing md5 beside sha256 when they are big)."""
        total = sum(len(chunk) for chunk in chunks)
        if self.size + total > self.max_size:
            raise TooLarge(
                f"The upload is larger than the server's limit of {self.max_size} bytes."
            )
        self.size += total
        if total >= PARALLEL_HASH_BYTES:
            md5 = _hash_helper().submit(_update_all, self._md5, chunks)
            for chunk in chunks:
                self._sha256.update(chunk)
                if self._blake2 is not None:
                    self._blake2.update(chunk)
                self._file.write(chunk)
            md5.result()
        else:
            for chunk in chunks:
                self._md5.update(chunk)
                self._sha256.update(chunk)
                if self._blake2 is not None:
                    self._blake2.update(chunk)
                self._file.write(chunk)
        if self.size - self._written_back >= WRITEBACK_BYTES:
            self._start_writeback()

    def _start_writeback(self) -> None:
        """Let the kernel start writing the bytes so far (asynchronously, on Linux)."""
        self._file.flush()
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(
                self._file.fileno(),
                self._written_back,
                self.size - self._written_back,
                os.POSIX_FADV_DONTNEED,
            )
        self._written_back = self.size

    def finish(self, *, sync: bool = True) -> None:
        """Close the spool; ``sync=False`` leaves the bytes to the kernel for now (a bulk
        import makes a whole batch durable at once: ``BlobStore.make_durable``)."""
        self._file.flush()
        if sync:
            os.fsync(self._file.fileno())
        self._file.close()

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def blake2_256(self) -> str | None:
        """The blake2b-256 digest, when the spool was asked to compute it."""
        return self._blake2.hexdigest() if self._blake2 is not None else None


class BlobStore(LoggingConfigurable):
    """Where the bytes of files live. Keys are generated by the repository, never by users."""

    spool_dir = Unicode(
        "", help="Local directory for uploads in progress (default: <data_dir>/tmp)."
    ).tag(config=True)
    read_chunk_size = Integer(1 << 20, help="Bytes per chunk when streaming a blob out.").tag(
        config=True
    )

    def new_spool(self, max_size: int, *, blake2_256: bool = False) -> Spool:
        return Spool(Path(self.spool_dir), max_size, blake2_256=blake2_256)

    def put_file(self, key: str, path: Path) -> None:
        """Move the finished spool file at ``path`` into the store under ``key``."""
        raise NotImplementedError

    def make_durable(self, key: str) -> None:
        """Return once the blob ``key``, put from a spool finished with ``sync=False``, is
        on stable storage (blocking). Stores whose ``put_file`` is durable do nothing."""

    def make_folders_durable(self, keys: Iterable[str], pool: Executor) -> None:
        """Return once the folders that name the blobs ``keys`` are on stable storage
        (``pool`` runs the blocking calls, many at once)."""

    def open_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> Generator[bytes, None, None]:
        """Yield the bytes ``[start, end)`` of ``key`` in chunks (blocking; run in a thread)."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove ``key``; no error when it is already gone."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def iter_keys(self) -> Iterator[tuple[str, float]]:
        """Every key in the store with its modification time (for the consistency check)."""
        raise NotImplementedError

    def presigned_url(self, key: str, filename: str, expires: int = 300) -> str | None:
        """A URL a client may download from directly, or ``None`` to stream through us."""
        return None

    def leftover_spools(self) -> list[Path]:
        directory = Path(self.spool_dir)
        if not directory.is_dir():
            return []
        return sorted(directory.glob(f"*{SPOOL_SUFFIX}"))
