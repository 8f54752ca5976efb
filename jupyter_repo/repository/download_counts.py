"""Download counts without a database write per download.

A download only adds one to a number in this process's memory (a dictionary under a lock:
exact however many requests count at once). A thread writes what has gathered every
``interval`` seconds, in one transaction of ``UPDATE files SET ndownloads = ndownloads + n``
(one statement, executed for every file counted since the last write), and once more when
the repository closes. Several server processes each add their own deltas, so none
overwrites another's. Counts written fail back into memory and are tried again at the next
write; a process killed outright loses at most one interval of counts.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from jupyter_repo.repository.models import File

log = logging.getLogger(__name__)

Writer = Callable[[Callable[[Session, Mapping[int, int]], None], Mapping[int, int]], None]


def add_counts(session: Session, deltas: Mapping[int, int]) -> None:
    """Add ``deltas`` (file id → downloads) to the stored counts: one batched statement."""
    if not deltas:
        return
    statement = (
        update(File)
        .where(File.id == bindparam("file_id"))
        .values(ndownloads=File.ndownloads + bindparam("delta"))
        .execution_options(synchronize_session=False)
    )
    rows = [{"file_id": key, "delta": value} for key, value in sorted(deltas.items())]
    session.connection().execute(statement, rows)


class DownloadCounter:
    """Counts downloads in memory; a background thread adds them to the database."""

    def __init__(self, write: Writer, interval: float) -> None:
        self._write = write
        self.interval = interval
        self._pending: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def count(self, file_id: int) -> None:
        """One download of ``file_id`` (cheap: safe to call on the event loop)."""
        with self._lock:
            self._pending[file_id] += 1
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(
                    target=self._run, name="jupyter-repo-download-counts", daemon=True
                )
                self._thread.start()

    def pending(self, file_id: int) -> int:
        """Downloads of ``file_id`` counted here and not written yet."""
        with self._lock:
            return self._pending.get(file_id, 0)

    def flush(self) -> int:
        """Write what has gathered now (blocking); the number of downloads written."""
        with self._flush_lock:
            with self._lock:
                deltas, self._pending = self._pending, Counter()
            if not deltas:
                return 0
            try:
                self._write(add_counts, deltas)
            except Exception:
                with self._lock:
                    self._pending.update(deltas)
                raise
            return sum(deltas.values())

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the database is away: keep the counts, try again later
                log.exception("writing download counts failed; they are kept for the next try")

    def close(self) -> None:
        """Stop the thread and write what is left (at shutdown)."""
        with self._lock:
            self._stopped = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout=30)
        try:
            self.flush()
        except Exception:
            log.exception("writing the last download counts failed")
