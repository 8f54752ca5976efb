"""What makes a bulk ingest fast without making it less safe (used by ``bundle.py``'s import).

* :class:`Phases`: where the time goes (read + hash, inspection, store, sync, database),
  reported with the import so that a slow one says why.
* :class:`DurableWrites`: blobs are moved into the store from spools finished *without*
  an fsync each (one fsync costs milliseconds on a real disk, more than everything else a
  small file needs); a pool of threads fsyncs each blob and its folder as soon as it is
  stored, so the disk sees many at once and commits them together, and :meth:`wait`
  returns only when every one is on stable storage, plus the fan-out folders above. The
  import calls it before its transaction: as before, no row ever names bytes that a crash
  could lose (the same guarantee as one fsync per spool, with the renames made durable
  too, which the one-by-one path leaves to the file system).
* :class:`Inspectors`: the inspection of each file (conda-package-streaming, zip and
  tar reading: CPU-bound, holding the GIL) in a small process pool, so that it runs
  beside the main process's reading, hashing and storing; inline for small bundles,
  where starting processes would cost more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from jupyter_repo.repository.storage import BlobStore

T = TypeVar("T")

#: fsyncs in flight at once: enough for the disk to commit them in groups.
SYNC_THREADS = 64
#: Below this many new files an import inspects in its own process.
POOL_THRESHOLD = 200


class Phases:
    """Seconds spent per named phase (summed over files)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        # Wall time only: a CPU clock read can cost a system call (milliseconds on a busy VM).
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds


class DurableWrites:
    """Blobs stored without an fsync each, made durable together before the rows that
    name them: many fsyncs in flight at once let the disk commit them in groups."""

    def __init__(self, store: BlobStore, threads: int = SYNC_THREADS) -> None:
        self.store = store
        self.threads = threads
        self.keys: list[str] = []

    def add(self, key: str) -> None:
        self.keys.append(key)

    def wait(self) -> None:
        """Every blob added so far, and the folders above them, on stable storage."""
        keys, self.keys = self.keys, []
        if not keys:
            return
        with ThreadPoolExecutor(self.threads, thread_name_prefix="blob-fsync") as pool:
            for _ in pool.map(self.store.make_durable, keys):
                pass
            self.store.make_folders_durable(keys, pool)


def pool_size() -> int:
    """Inspection processes: one per core beyond the import's own, at least one, at most 4."""
    return max(1, min(4, (os.cpu_count() or 1)))


class Inspectors:
    """Runs ``function(*args)`` inline or in a process pool, returning futures either way."""

    def __init__(self, processes: int) -> None:
        self._pool: ProcessPoolExecutor | None = None
        if processes > 0:
            # forkserver: no copy of this process's threads, locks or database connections.
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(processes, mp_context=context)

    @property
    def pooled(self) -> bool:
        return self._pool is not None

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        if self._pool is not None:
            return self._pool.submit(function, *args)
        future: Future[T] = Future()
        try:
            future.set_result(function(*args))
        except BaseException as error:  # handed to whoever asks for the result
            future.set_exception(error)
        return future

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
