"""The per-process cache of conda channel snapshots, kept current incrementally.

Nothing generated is stored or shared between processes except the shards: the database
holds the files and, per index, a revision (``journal.py``). A process answers a request for
``(owner, label, subdir)`` at revision ``r`` from its :class:`Snapshot` if that snapshot is at
``r``; otherwise it catches up first. Catching up reads the package names changed since the
snapshot's revision from the change log, re-serialises only those names' records
(:func:`conda.make_segment`) and re-joins only the document blocks they fall in — tens of
milliseconds for a 66k-record subdir, instead of seconds for a full re-serialisation. A cold
process (or one whose snapshot is older than the pruned change log) builds an index in full.

The parts: :mod:`rows` reads an index (all of it, or the names changed since a revision),
:mod:`snapshots` assembles the next snapshot and its views from those rows (pure),
:mod:`publishing` stores the shards and records the builds made, and :mod:`channeldata`
builds ``channeldata.json`` on demand. This module keeps the snapshots: per-index locks,
the LRU of indexes and of private views, and the background catch-up after commits.

Consistency: a snapshot is built from one read transaction and swapped in whole, so a request
sees the old or the new documents, never a mix. Builds of one index are serialised per
process (a lock, which concurrent requests wait on and then share the result of); two
processes at the same revision produce the same bytes, so their ETags agree.

Shards: a process serves the shards of the snapshots it holds from memory, and stores new
shards in the database right after the swap (off the request's path), where they stay for a
week after they are replaced, for clients holding an older shard index — from any process. A
process asked for a shard it does not hold catches up first (the shard may be newer than its
snapshot), then looks in the database.

Views: anonymous callers and callers without private rights share the snapshot's public
view. A caller who may read some of the owner's private packages gets a view of the public
segments plus those packages' segments, assembled on first use and kept in a small LRU.
Each view's ``repodata.json.zst``, gzip (``Content-Encoding``) and shard index are made once,
when first needed, never per request; for the public view the shard index right after a
change, the ``.zst`` shortly after (``zst_delay``) unless a client asks for it first, the
gzip when a client first asks for it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from traitlets import Float, Instance, Integer, Unicode, default
from traitlets.config import LoggingConfigurable

from jupyter_repo.heap import trim_heap
from jupyter_repo.repository import changes
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.indexes import (
    conda,
    journal,
    publishing,
    rows,
    snapshot_files,
    snapshots,
)
from jupyter_repo.repository.indexes.channeldata import ChanneldataCache
from jupyter_repo.repository.indexes.journal import IndexKey
from jupyter_repo.repository.indexes.snapshots import ChannelView, Snapshot

#: A build from this many rows or more gives their memory back to the system afterwards.
TRIM_AFTER_ROWS = 50_000


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    snapshot: Snapshot | None = None
    #: Whether a saved snapshot was looked for (once per process and index).
    looked_for_saved: bool = False
    #: The revision last saved to (or loaded from) disk, and when it was saved.
    saved_revision: int | None = None
    saved_at: float = 0.0
    views: OrderedDict[tuple[int, frozenset[int]], ChannelView] = field(default_factory=OrderedDict)
    refresh_queued: bool = False
    pending: publishing.Pending = field(default_factory=publishing.Pending)


class ChannelIndexes(LoggingConfigurable):
    """Builds, caches and refreshes conda channel snapshots for this process (thread-safe)."""

    cache_bytes = Integer(
        2 << 30,
        help="Bytes of channel documents kept in memory per server process; the "
        "least recently used indexes are dropped (and rebuilt when asked for) beyond it.",
    ).tag(config=True)
    private_views = Integer(
        8, help="Private views (callers with different private rights) cached per index."
    ).tag(config=True)
    zst_level = Integer(
        1,
        help="zstd level of repodata.json.zst. Level 1 compresses a 30 MB document in about "
        "0.1 s on one core and within a few percent of level 3's size.",
    ).tag(config=True)
    zst_threads = Integer(
        2,
        help="zstd worker threads for repodata.json.zst (0: the caller's thread only). "
        "Any value from 1 up gives the same bytes, so processes may differ here. Two threads "
        "halve the time a new .zst takes (0.09 s instead of 0.16 s for 30 MB here) at the "
        "cost of both cores for that time.",
    ).tag(config=True)
    zst_delay = Float(
        0.5,
        help="Seconds after a change before the public repodata.json.zst is compressed "
        "in the background (a request for it compresses it at once). Compressing a 30 MB "
        "document takes both cores for ~0.1 s; waiting lets a burst of uploads, and the "
        "requests that follow each, go first, and skips revisions replaced meanwhile.",
    ).tag(config=True)
    build_threads = Integer(2, help="Threads that build indexes.").tag(config=True)
    snapshot_dir = Unicode(
        help="Folder where large snapshots are saved, so that a restarted process serves "
        "them at once and catches up from the change log (default: cache/indexes in "
        "Repository.data_dir; empty string: never saved). A cache: it is checked against "
        "the database before use."
    ).tag(config=True)
    snapshot_min_bytes = Integer(
        32 << 20,
        help="Snapshots smaller than this are not saved (they build from the database in "
        "well under a second).",
    ).tag(config=True)
    snapshot_save_interval = Float(
        300.0,
        help="Seconds between saves of a large snapshot that keeps changing (it is also "
        "saved after a build from scratch and at shutdown).",
    ).tag(config=True)

    repository = Instance(Repository)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._entries: OrderedDict[IndexKey, _Entry] = OrderedDict()
        self._entries_lock = threading.Lock()
        self.executor = ThreadPoolExecutor(
            self.build_threads, thread_name_prefix="jupyter-repo-index"
        )
        self._channeldata = ChanneldataCache()
        self._saver = ThreadPoolExecutor(1, thread_name_prefix="jupyter-repo-index-save")

    @default("snapshot_dir")
    def _default_snapshot_dir(self) -> str:
        data_dir = self.repository.data_dir if self.repository is not None else ""
        return os.path.join(data_dir, "cache", "indexes") if data_dir else ""

    # -- entries ---------------------------------------------------------------------------

    def _entry(self, key: IndexKey) -> _Entry:
        with self._entries_lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
            else:
                self._entries.move_to_end(key)
            return entry

    def snapshot_if_current(self, key: IndexKey, revision: int) -> Snapshot | None:
        """The cached snapshot if it is at ``revision`` or newer (never blocks)."""
        entry = self._entries.get(key)
        snapshot = entry.snapshot if entry is not None else None
        if snapshot is not None and snapshot.revision >= revision:
            with self._entries_lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
            return snapshot
        return None

    def current(self, key: IndexKey, revision: int | None = None) -> Snapshot:
        """A snapshot at ``revision`` or newer (``None``: whatever the database has now).

        Blocking: builds or catches up when needed. Concurrent callers for one index wait
        for a single build and share its result.
        """
        entry = self._entry(key)
        snapshot = entry.snapshot
        if revision is not None and snapshot is not None and snapshot.revision >= revision:
            return snapshot
        with entry.lock:
            snapshot = entry.snapshot
            if revision is not None and snapshot is not None and snapshot.revision >= revision:
                return snapshot
            if snapshot is None and not entry.looked_for_saved:
                entry.looked_for_saved = True
                snapshot = self._load_saved(key, entry)
            built = self._build(key, snapshot)
            if built is not None:
                snapshot = entry.snapshot = built.snapshot
                entry.views.clear()
                if entry.pending.add(built):
                    self.executor.submit(self._store, key, entry)
                self._save_later(entry, snapshot, now=built.complete)
            elif entry.snapshot is None:  # the saved snapshot is current
                entry.snapshot = snapshot
        self._evict(keep=key)
        assert snapshot is not None
        return snapshot

    def view(self, snapshot: Snapshot, readable: frozenset[int]) -> ChannelView:
        """The view of a caller who may read the private packages ``readable`` (blocking)."""
        visible = snapshot.private_ids & readable
        if not visible:
            return snapshot.public
        entry = self._entry(snapshot.key)
        cache_key = (snapshot.revision, visible)
        with entry.lock:
            found = entry.views.get(cache_key)
            if found is not None:
                entry.views.move_to_end(cache_key)
                return found
        view = snapshot.private_view(visible, self._compression())
        with entry.lock:
            if entry.snapshot is snapshot:
                entry.views[cache_key] = view
                while len(entry.views) > self.private_views:
                    entry.views.popitem(last=False)
        return view

    def shard(self, key: IndexKey, revision: int, digest: str) -> conda.Segment | None:
        """The segment whose shard has this hash, if a current snapshot has it (blocking)."""
        snapshot = self.snapshot_if_current(key, revision)
        if snapshot is not None:
            found = snapshot.segment_with_shard(digest)
            if found is not None:
                return found
        return self.current(key, revision).segment_with_shard(digest)

    # -- building --------------------------------------------------------------------------

    def _compression(self) -> dict[Any, int]:
        return snapshots.compression_options(self.zst_level, self.zst_threads)

    def _build(self, key: IndexKey, previous: Snapshot | None) -> snapshots.Assembled | None:
        """The snapshot at the database's revision (``None``: ``previous`` is current)."""
        started = time.perf_counter()
        with self.repository.transaction() as session:
            read = rows.read(session, key, previous)
            if read is None:
                return None
            built = snapshots.assemble(key, read, previous, self._compression())
        if built.complete and built.rows >= TRIM_AFTER_ROWS:
            del read
            trim_heap()
        self.log.debug(
            "built %s at revision %s (%s of %s names) in %.3f s",
            key,
            built.snapshot.revision,
            len(built.shards),
            len(built.snapshot.segments),
            time.perf_counter() - started,
        )
        return built

    def _store(self, key: IndexKey, entry: _Entry) -> None:
        """Store what the builds of ``key`` made (on the index threads, after the swap)."""
        snapshot = entry.snapshot
        publishing.store(
            self.repository.transaction,
            key,
            snapshot.index_id if snapshot is not None else None,
            entry.pending,
            self.log,
        )
        if snapshot is not None and snapshot.segments_nbytes >= self.snapshot_min_bytes:
            trim_heap()  # the stored records of a large build are freed now

    def _evict(self, keep: IndexKey) -> None:
        with self._entries_lock:
            items = list(self._entries.items())
        total = 0
        sizes: list[tuple[IndexKey, int]] = []
        for key, entry in items:
            size = 0
            if entry.snapshot is not None:
                size = entry.snapshot.nbytes
                size += sum(view.nbytes for view in list(entry.views.values()))
            sizes.append((key, size))
            total += size
        for key, size in sizes:  # least recently used first
            if total <= self.cache_bytes:
                break
            if key == keep:
                continue
            with self._entries_lock:
                current = self._entries.get(key)
                if current is not None and current.pending.empty:
                    del self._entries[key]
                    total -= size

    # -- saved snapshots -------------------------------------------------------------------

    def _load_saved(self, key: IndexKey, entry: _Entry) -> Snapshot | None:
        if not self.snapshot_dir:
            return None
        started = time.perf_counter()
        found = snapshot_files.load(Path(self.snapshot_dir), key)
        if found is None:
            return None
        index_id, revision, changed_at_ms, segments = found
        by_key = {segment.package_key: segment for segment in segments}
        snapshot = snapshots.make_snapshot(
            key,
            index_id,
            revision,
            changed_at_ms,
            by_key,
            sum(segment.nbytes for segment in segments),
            self._compression(),
        )
        entry.saved_revision, entry.saved_at = revision, time.monotonic()
        self.log.info(
            "read the saved snapshot of %s at revision %s (%s names) in %.1f s",
            key,
            revision,
            len(segments),
            time.perf_counter() - started,
        )
        return snapshot

    def _save_later(self, entry: _Entry, snapshot: Snapshot, *, now: bool) -> None:
        """Save a large snapshot in the background: after a build from scratch, else at
        most every ``snapshot_save_interval`` seconds."""
        if not self.snapshot_dir or snapshot.segments_nbytes < self.snapshot_min_bytes:
            return
        if not now and time.monotonic() - entry.saved_at < self.snapshot_save_interval:
            return
        entry.saved_at = time.monotonic()
        self._saver.submit(self._save, entry, snapshot)

    def _save(self, entry: _Entry, snapshot: Snapshot) -> None:
        if snapshot.index_id is None or entry.saved_revision == snapshot.revision:
            return
        try:
            started = time.perf_counter()
            snapshot_files.save(
                Path(self.snapshot_dir),
                snapshot.key,
                snapshot.index_id,
                snapshot.revision,
                snapshot.changed_at_ms,
                [snapshot.segments[name] for name in snapshot.order],
            )
        except OSError:
            self.log.exception("saving the snapshot of %s failed", snapshot.key)
            return
        entry.saved_revision = snapshot.revision
        self.log.info(
            "saved the snapshot of %s at revision %s in %.1f s",
            snapshot.key,
            snapshot.revision,
            time.perf_counter() - started,
        )

    def save_all(self) -> None:
        """Save every large snapshot changed since it was last saved (blocking; at shutdown)."""
        if not self.snapshot_dir:
            return
        with self._entries_lock:
            entries = list(self._entries.values())
        for entry in entries:
            snapshot = entry.snapshot
            if snapshot is not None and snapshot.segments_nbytes >= self.snapshot_min_bytes:
                self._save(entry, snapshot)

    # -- keeping current -------------------------------------------------------------------

    def on_changes(self, found: set[changes.Change]) -> None:
        """Repository listener: after a commit, catch up the touched conda indexes eagerly
        (in the background), so that the next request finds them built."""
        keys = {
            key for key in map(journal.key_of, found) if key is not None and key.kind == "conda"
        }
        for key in sorted(keys):
            entry = self._entry(key)
            with self._entries_lock:
                if entry.refresh_queued:
                    continue
                entry.refresh_queued = True
            self.executor.submit(self._refresh, key, entry)

    def _refresh(self, key: IndexKey, entry: _Entry) -> None:
        with self._entries_lock:
            entry.refresh_queued = False
        try:
            snapshot = self.current(key)
            snapshot.segment_with_shard("")  # the shard look-up table
            snapshot.public.shard_index.get()
        except Exception:  # a request will build it (and report) again
            self.log.exception("refreshing the index %s failed", key)
            return
        if snapshot.public.zst.ready is None:
            timer = threading.Timer(
                self.zst_delay, self.executor.submit, (self._compress_if_current, entry, snapshot)
            )
            timer.daemon = True
            timer.start()

    def _compress_if_current(self, entry: _Entry, snapshot: Snapshot) -> None:
        """Make the public ``.zst`` of a snapshot nobody has replaced meanwhile."""
        if entry.snapshot is snapshot:
            try:
                snapshot.public.zst.get()
            except Exception:
                self.log.exception("compressing repodata of %s failed", snapshot.key)

    # -- channeldata.json ------------------------------------------------------------------

    def channeldata(
        self, session: Session, owner_id: int, label: str, readable: frozenset[int]
    ) -> tuple[bytes, str, int]:
        """``channeldata.json`` (CEP 38) of a channel, its ETag and change time (blocking)."""
        return self._channeldata.get(session, owner_id, label, readable)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self._saver.shutdown(wait=True, cancel_futures=True)
        self.save_all()
