"""The per-process cache of conda channel snapshots, kept current incrementally.

Nothing generated is stored or shared between processes except the shards: the database
holds the files and, per index, a revision (``journal.py``). A process answers a request for
``(owner, label, subdir)`` at revision ``r`` from its :class:`Snapshot` if that snapshot is at
``r``; otherwise it catches up first. Catching up reads the package names changed since the
snapshot's revision from the change log, re-serialises only those names' records
(:func:`conda.make_segment`), stores their new shards, and joins the segments into new
documents — tens of milliseconds for a 66k-record subdir, instead of seconds for a full
re-serialisation. A cold process (or one whose snapshot is older than the pruned change log)
builds the index in full once.

Consistency: a snapshot is built from one read transaction, and is swapped in whole, so a
request sees either the old or the new documents, never a mix; shards are stored before the
index naming them is served. Builds of one index are serialised per process (a lock); two
processes building the same revision produce the same bytes, so their ETags agree.

Views: anonymous callers and callers without private rights share the snapshot's public
view. A caller who may read some of the owner's private packages gets a view of the public
segments plus those packages' segments, assembled on first use and kept in a small LRU.
Each view's ``repodata.json.zst`` is compressed once, when first needed (eagerly for the
public view right after a change), never per request.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from traitlets import Instance, Integer
from traitlets.config import LoggingConfigurable

from jupyter_repo.repository import changes
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.indexes import conda, journal, shards
from jupyter_repo.repository.indexes.journal import IndexKey
from jupyter_repo.repository.models import (
    File,
    FileLabel,
    IndexState,
    Label,
    Package,
    Release,
    now_ms,
)

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:  # Python < 3.14
    from backports import zstd  # type: ignore[no-redef]


class ChannelView:
    """The documents one kind of caller gets for a snapshot, made once."""

    def __init__(self, subdir: str, segments: Sequence[conda.Segment], changed_at_ms: int,
                 zst_level: int) -> None:
        self.etag = conda.view_etag(subdir, segments)
        self.document = conda.assemble(subdir, segments)
        self.shard_index = shards.encode_index(
            subdir, ((segment.name, segment.shard_sha256) for segment in segments)
        )
        self.changed_at_ms = changed_at_ms
        self._zst_level = zst_level
        self._zst: bytes | None = None
        self._zst_lock = threading.Lock()

    @property
    def zst_ready(self) -> bytes | None:
        return self._zst

    def zst(self) -> bytes:
        """``repodata.json.zst``, compressed on first use (blocking; run off the event loop)."""
        if self._zst is None:
            with self._zst_lock:
                if self._zst is None:
                    self._zst = zstd.compress(self.document, self._zst_level)
        return self._zst

    @property
    def nbytes(self) -> int:
        return len(self.document) + len(self.shard_index) + len(self._zst or b"")


@dataclass(frozen=True)
class Snapshot:
    """One index at one revision: its segments and its public view."""

    key: IndexKey
    index_id: int | None
    revision: int
    changed_at_ms: int
    segments: Mapping[str, conda.Segment]
    order: tuple[str, ...]
    public: ChannelView
    #: Package ids of the private packages with records in this index.
    private_ids: frozenset[int]

    @property
    def nbytes(self) -> int:
        return sum(len(segment.packages) + len(segment.packages_conda) + len(segment.shard)
                   for segment in self.segments.values())


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    snapshot: Snapshot | None = None
    views: OrderedDict[tuple[int, frozenset[int]], ChannelView] = field(
        default_factory=OrderedDict)
    refresh_queued: bool = False


def _rows(session: Session, key: IndexKey,
          package_keys: Iterable[str] | None) -> list[conda.FileRow]:
    query = (
        select(File.id, File.filename, File.attrs, File.md5, File.sha256, File.size,
               File.indexed_at_ms, Package.id, Package.name_key, Package.public)
        .join(Package, Package.id == File.package_id)
        .join(FileLabel, FileLabel.file_id == File.id)
        .join(Label, Label.id == FileLabel.label_id)
        .where(Package.owner_id == key.owner_id, Label.owner_id == key.owner_id,
               Label.name == key.label, File.subdir == key.subdir,
               File.distribution_type == "conda")
    )
    if package_keys is None:
        return [conda.FileRow(*row) for row in session.execute(query)]
    wanted = sorted(package_keys)
    rows: list[conda.FileRow] = []
    for start in range(0, len(wanted), 400):
        chunk = wanted[start:start + 400]
        rows += [conda.FileRow(*row)
                 for row in session.execute(query.where(Package.name_key.in_(chunk)))]
    return rows


class ChannelIndexes(LoggingConfigurable):
    """Builds, caches and refreshes conda channel snapshots for this process (thread-safe)."""

    cache_bytes = Integer(
        2 << 30, help="Bytes of channel documents kept in memory per server process; the "
        "least recently used indexes are dropped (and rebuilt when asked for) beyond it."
    ).tag(config=True)
    private_views = Integer(
        8, help="Private views (callers with different private rights) cached per index."
    ).tag(config=True)
    zst_level = Integer(
        1, help="zstd level of repodata.json.zst. Level 1 compresses a 30 MB document in about "
        "0.1 s on one core and within a few percent of level 3's size."
    ).tag(config=True)
    build_threads = Integer(2, help="Threads that build indexes.").tag(config=True)

    repository = Instance(Repository)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._entries: OrderedDict[IndexKey, _Entry] = OrderedDict()
        self._entries_lock = threading.Lock()
        self.executor = ThreadPoolExecutor(self.build_threads,
                                           thread_name_prefix="jupyter-repo-index")
        self._channeldata: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()

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
            built = self._build(key, snapshot)
            if built is not snapshot:
                entry.snapshot = built
                entry.views.clear()
        self._evict(keep=key)
        return built

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
        segments = [snapshot.segments[key] for key in snapshot.order
                    if snapshot.segments[key].public
                    or snapshot.segments[key].package_id in visible]
        view = ChannelView(snapshot.key.subdir, segments, snapshot.changed_at_ms,
                           self.zst_level)
        with entry.lock:
            if entry.snapshot is snapshot:
                entry.views[cache_key] = view
                while len(entry.views) > self.private_views:
                    entry.views.popitem(last=False)
        return view

    # -- building --------------------------------------------------------------------------

    def _build(self, key: IndexKey, previous: Snapshot | None) -> Snapshot:
        with self.repository.transaction() as session:
            state = session.scalar(
                select(IndexState).where(
                    IndexState.owner_id == key.owner_id, IndexState.kind == key.kind,
                    IndexState.label == key.label, IndexState.subdir == key.subdir)
            )
            revision = state.revision if state is not None else 0
            index_id = state.id if state is not None else None
            changed_at = state.changed_at_ms if state is not None else 0
            incremental = (
                previous is not None and state is not None
                and previous.index_id == state.id
                and previous.revision >= state.pruned_through
            )
            if incremental:
                assert previous is not None and state is not None
                if previous.revision == revision:
                    return previous
                touched: set[str] | None = journal.changed_since(session, state.id,
                                                                 previous.revision)
                rows = _rows(session, key, touched)
            else:
                touched = None
                rows = _rows(session, key, None)
        by_key: dict[str, list[conda.FileRow]] = {}
        for row in rows:
            by_key.setdefault(row.package_key, []).append(row)
        segments = dict(previous.segments) if incremental and previous is not None else {}
        changed: dict[str, tuple[str, bytes] | None] = {}
        for package_key in (touched if touched is not None else by_key):
            group = by_key.get(package_key)
            if group:
                segment = conda.make_segment(package_key, group, key.subdir)
                segments[package_key] = segment
                changed[package_key] = (segment.shard_sha256, segment.shard)
            else:
                segments.pop(package_key, None)
                changed[package_key] = None
        if changed or not incremental:
            with self.repository.transaction(write=True) as session:
                if index_id is None and segments:
                    index_id = journal.ensure_state(session, key).id
                if index_id is not None:
                    shards.publish(session, index_id, changed, now_ms(),
                                   complete=not incremental)
        order = tuple(sorted(segments))
        public = [segments[name] for name in order if segments[name].public]
        snapshot = Snapshot(
            key=key, index_id=index_id, revision=revision, changed_at_ms=changed_at,
            segments=segments, order=order,
            public=ChannelView(key.subdir, public, changed_at, self.zst_level),
            private_ids=frozenset(s.package_id for s in segments.values() if not s.public),
        )
        self.log.debug("built %s at revision %s (%s of %s names)", key, revision,
                       len(changed), len(segments))
        return snapshot

    def _evict(self, keep: IndexKey) -> None:
        with self._entries_lock:
            items = list(self._entries.items())
        total = 0
        sizes: list[tuple[IndexKey, int]] = []
        for key, entry in items:
            size = 0
            if entry.snapshot is not None:
                size = entry.snapshot.nbytes + entry.snapshot.public.nbytes
                size += sum(view.nbytes for view in list(entry.views.values()))
            sizes.append((key, size))
            total += size
        for key, size in sizes:  # least recently used first
            if total <= self.cache_bytes:
                break
            if key == keep:
                continue
            with self._entries_lock:
                self._entries.pop(key, None)
            total -= size

    # -- keeping current -------------------------------------------------------------------

    def on_changes(self, found: set[changes.Change]) -> None:
        """Repository listener: after a commit, catch up the touched conda indexes eagerly
        (in the background), so that the next request finds them built."""
        keys = {key for key in map(journal.key_of, found) if key is not None and
                key.kind == "conda"}
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
            snapshot.public.zst()
        except Exception:  # a request will build it (and report) again
            self.log.exception("refreshing the index %s failed", key)

    # -- channeldata.json ------------------------------------------------------------------

    def channeldata(self, session: Session, owner_id: int, label: str,
                    readable: frozenset[int]) -> tuple[bytes, str, int]:
        """``channeldata.json`` (CEP 38) of a channel, its ETag and change time (blocking).

        Cached by the sum of the label's conda index revisions (which grows with any change)
        and by view; read by neither conda nor rattler, so it is built on demand only.
        """
        total, changed_at = session.execute(
            select(func.coalesce(func.sum(IndexState.revision), 0),
                   func.coalesce(func.max(IndexState.changed_at_ms), 0))
            .where(IndexState.owner_id == owner_id, IndexState.kind == "conda",
                   IndexState.label == label)
        ).one()
        cache_key = (owner_id, label, total, readable)
        with self._entries_lock:
            cached = self._channeldata.get(cache_key)
        if cached is None:
            cached = conda.channeldata(_channeldata_rows(session, owner_id, label, readable))
            with self._entries_lock:
                self._channeldata[cache_key] = cached
                while len(self._channeldata) > 64:
                    self._channeldata.popitem(last=False)
        etag = hashlib.blake2b(cached, digest_size=16).hexdigest()
        return cached, etag, changed_at

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def _channeldata_rows(session: Session, owner_id: int, label: str,
                      readable: frozenset[int]) -> list[conda.ChanneldataRow]:
    query = (
        select(Package.id, Package.name, Package.public, Package.summary, Package.license,
               Package.home, Package.dev_url, Package.doc_url, Package.source_git_url,
               File.subdir, Release.version, File.indexed_at_ms)
        .join(File, File.package_id == Package.id)
        .join(Release, Release.id == File.release_id)
        .join(FileLabel, FileLabel.file_id == File.id)
        .join(Label, Label.id == FileLabel.label_id)
        .where(Package.owner_id == owner_id, Label.owner_id == owner_id, Label.name == label,
               File.distribution_type == "conda")
    )
    return [conda.ChanneldataRow(*row) for row in session.execute(query)
            if row[2] or row[0] in readable]
