"""The storage interface and the upload spool shared by every backend."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections import deque
from collections.abc import Generator, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from traitlets import Integer, Unicode
from traitlets.config import LoggingConfigurable

from jupyter_repo.repository.errors import TooLarge

SPOOL_SUFFIX = ".part"
#: Writes at least this large hand md5 (and blake2b-256) to threads of their own, while
#: sha256 and the write run on the caller's thread (hashlib and file writes release the GIL).
PARALLEL_HASH_BYTES = 256 << 10
#: How far (bytes) a digest's thread may fall behind the writes before the writer waits: the
#: memory an upload may hold beside what the server reads ahead of the writer.
LANE_BACKLOG_BYTES = 16 << 20
#: After this many bytes the kernel is asked to start writing them to disk, so that the
#: final fsync finds little left to do and big uploads do not pile up in the page cache.
WRITEBACK_BYTES = 8 << 20

Chunk = bytes | memoryview


def _update_all(digest: Any, chunks: Sequence[Chunk]) -> None:
    for chunk in chunks:
        digest.update(chunk)


def _immutable(chunk: Chunk) -> bool:
    """Can ``chunk`` be hashed later? (A view of a reused buffer would change under us.)"""
    return isinstance(chunk, bytes) or (
        isinstance(chunk, memoryview) and isinstance(chunk.obj, bytes) and chunk.readonly
    )


class _Lane:
    """One digest updated on a thread of its own, strictly in order.

    md5 (about 600 MB/s on one core here) is the slowest step of an upload; fed from a queue
    it never waits for the writer, the socket or the event loop, and the other steps run
    beside it on the other cores. The queue holds at most :data:`LANE_BACKLOG_BYTES`.
    """

    def __init__(self, digest: Any, name: str) -> None:
        self.digest = digest
        self._name = name
        self._executor: ThreadPoolExecutor | None = None
        self._pending: deque[tuple[Future[None], int]] = deque()
        self._backlog = 0
        self._closed = False

    def feed(self, chunks: Sequence[Chunk], size: int) -> None:
        if self._closed:
            raise ValueError("write to a finished or discarded spool")
        if size < PARALLEL_HASH_BYTES or not all(_immutable(chunk) for chunk in chunks):
            self.drain()  # in order: what is queued first
            _update_all(self.digest, chunks)
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"jupyter-repo-{self._name}")
        self._pending.append((self._executor.submit(_update_all, self.digest, chunks), size))
        self._backlog += size
        while self._backlog > LANE_BACKLOG_BYTES:
            self._wait_oldest()

    def _wait_oldest(self) -> None:
        future, size = self._pending.popleft()
        self._backlog -= size
        future.result()

    def drain(self) -> None:
        """Wait until every queued chunk is hashed (blocking)."""
        while self._pending:
            self._wait_oldest()

    def close(self) -> None:
        """Drop what is queued and let the thread go (never waits)."""
        self._closed = True
        for future, _size in self._pending:
            future.cancel()
        self._pending.clear()
        self._backlog = 0
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


class Spool:
    """A temporary file that hashes (md5, sha256; blake2b-256 on request) and counts what is
    written to it.

    Written from one worker thread, chunk by chunk; md5 and blake2b-256 follow on threads of
    their own (:class:`_Lane`). Memory use is bounded by :data:`LANE_BACKLOG_BYTES` per lane,
    whatever the size of the file.
    """

    def __init__(self, directory: Path, max_size: int, *, blake2_256: bool = False) -> None:
        self.path = directory / f"upload-{uuid.uuid4().hex}{SPOOL_SUFFIX}"
        self.max_size = max_size
        self.size = 0
        self._md5 = _Lane(hashlib.md5(usedforsecurity=False), "md5")
        self._sha256 = hashlib.sha256()
        # PyPI uploads announce a blake2b-256 digest (Warehouse's file identity).
        self._blake2 = _Lane(hashlib.blake2b(digest_size=32), "blake2b") if blake2_256 else None
        try:
            self._file = open(self.path, "xb")  # noqa: SIM115 - closed in finish()/discard()
        except FileNotFoundError:  # the folder is made when first needed (not per spool)
            directory.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "xb")  # noqa: SIM115
        self._written_back = 0

    def write(self, data: Chunk) -> None:
        self.write_many([data])

    def write_many(self, chunks: Sequence[Chunk]) -> None:
        """Append ``chunks`` in order (md5 and blake2b-256 follow on their own threads)."""
        total = sum(len(chunk) for chunk in chunks)
        if self.size + total > self.max_size:
            raise TooLarge(
                f"The upload is larger than the server's limit of {self.max_size} bytes."
            )
        self.size += total
        chunks = tuple(chunks)
        self._md5.feed(chunks, total)
        if self._blake2 is not None:
            self._blake2.feed(chunks, total)
        for chunk in chunks:
            self._sha256.update(chunk)
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
        """Wait for the digests and close the spool; ``sync=False`` leaves the bytes to the
        kernel for now (a bulk import makes a whole batch durable at once:
        ``BlobStore.make_durable``)."""
        self._file.flush()
        for lane in (self._md5, self._blake2):
            if lane is not None:
                lane.drain()
                lane.close()
        if sync:
            os.fsync(self._file.fileno())
        self._file.close()

    def discard(self) -> None:
        """Remove the file; never waits for the digests (safe on the event loop)."""
        for lane in (self._md5, self._blake2):
            if lane is not None:
                lane.close()
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)

    @property
    def md5(self) -> str:
        self._md5.drain()
        return str(self._md5.digest.hexdigest())

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def blake2_256(self) -> str | None:
        """The blake2b-256 digest, when the spool was asked to compute it."""
        if self._blake2 is None:
            return None
        self._blake2.drain()
        return str(self._blake2.digest.hexdigest())


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
