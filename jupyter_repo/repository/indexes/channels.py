"""The per-process cache of conda channel snapshots, kept current incrementally.

Nothing generated is stored or shared between processes except the shards: the database
holds the files and, per index, a revision (``journal.py``). A process answers a request for
``(owner, label, subdir)`` at revision ``r`` from its :class:`Snapshot` if that snapshot is at
``r``; otherwise it catches up first. Catching up reads the package names changed since the
snapshot's revision from the change log, re-serialises only those names' records
(:func:`conda.make_segment`) and re-joins only the document blocks they fall in — tens of
milliseconds for a 66k-record subdir, instead of seconds for a full re-serialisation. A cold
process (or one whose snapshot is older than the pruned change log) builds an index in full.

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
Each view's ``repodata.json.zst`` and shard index are made once, when first needed, never per
request; for the public view the shard index right after a change, the ``.zst`` shortly after
(``zst_delay``) unless a client asks for it first.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import Text, and_, bindparam, func, select, type_coerce
from sqlalchemy.orm import Session
from traitlets import Float, Instance, Integer
from traitlets.config import LoggingConfigurable

from jupyter_repo.repository import changes
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.db import dialect_insert
from jupyter_repo.repository.indexes import conda, journal, shards
from jupyter_repo.repository.indexes.journal import IndexKey
from jupyter_repo.repository.models import (
    CondaRecord,
    File,
    FileLabel,
    IndexChange,
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

ShardUpdate = tuple[str, bytes] | None  # (sha256, bytes) of a name's shard; None: name gone


class _Once:
    """A value computed on first use, by one thread, then shared (blocking)."""

    def __init__(self, compute: Callable[[], bytes]) -> None:
        self._compute: Callable[[], bytes] | None = compute
        self._value: bytes | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bytes | None:
        return self._value

    def get(self) -> bytes:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    assert self._compute is not None
                    self._value = self._compute()
                    self._compute = None
        return self._value


class ChannelView:
    """The documents one kind of caller gets for a snapshot, made once.

    ``repodata.json`` is kept as pieces (see ``conda.pieces``): a new public view re-joins
    only the blocks of the names that changed, and responses send the pieces as they are.
    """

    def __init__(self, subdir: str, segments: Sequence[conda.Segment], changed_at_ms: int,
                 compression: Mapping[Any, int], *,
                 reusable: Mapping[tuple[str, ...], conda.Block] | None = None,
                 changed: Set[str] = frozenset()) -> None:
        self.etag = conda.view_etag(subdir, segments)
        self.blocks = conda.blocks(segments, reusable, changed)
        self.pieces = conda.pieces(subdir, self.blocks)
        self.size = sum(len(piece) for piece in self.pieces)
        self.changed_at_ms = changed_at_ms
        entries = [segment.shard_entry for segment in segments]
        self.shard_index = _Once(lambda: shards.encode_index(subdir, entries))
        self.zst = _Once(lambda: _compress(self.pieces, compression))

    @property
    def document(self) -> bytes:
        """The whole ``repodata.json`` in one piece (a copy; responses use :attr:`pieces`)."""
        return b"".join(self.pieces)

    @property
    def nbytes(self) -> int:
        return (self.size + len(self.shard_index.ready or b"")
                + len(self.zst.ready or b""))


def _compress(pieces: Sequence[bytes], options: Mapping[Any, int]) -> bytes:
    compressor = zstd.ZstdCompressor(options=dict(options))
    parts = [compressor.compress(piece) for piece in pieces]
    parts.append(compressor.flush())
    return b"".join(parts)


@dataclass
class Snapshot:
    """One index at one revision: its segments and its public view (treat as immutable)."""

    key: IndexKey
    index_id: int | None
    revision: int
    changed_at_ms: int
    segments: Mapping[str, conda.Segment]
    order: tuple[str, ...]
    public: ChannelView
    #: Package ids of the private packages with records in this index.
    private_ids: frozenset[int]
    segments_nbytes: int
    _by_shard: dict[str, conda.Segment] | None = field(default=None, repr=False)

    @property
    def nbytes(self) -> int:
        return self.segments_nbytes + self.public.nbytes

    def shard_if_ready(self, digest: str) -> conda.Segment | None:
        """Like :meth:`segment_with_shard`, but never builds the table (``None`` then)."""
        table = self._by_shard
        return table.get(digest) if table is not None else None

    def segment_with_shard(self, digest: str) -> conda.Segment | None:
        if self._by_shard is None:
            self._by_shard = {segment.shard_sha256: segment
                              for segment in self.segments.values()}
        return self._by_shard.get(digest)


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    snapshot: Snapshot | None = None
    views: OrderedDict[tuple[int, frozenset[int]], ChannelView] = field(
        default_factory=OrderedDict)
    refresh_queued: bool = False
    #: Shards of built snapshots not yet stored, in build order (newer entries win).
    unpublished: dict[str, ShardUpdate] = field(default_factory=dict)
    unpublished_complete: bool = False
    unpublished_records: list[tuple[int, conda.SerializedRecord]] = field(default_factory=list)
    publish_lock: threading.Lock = field(default_factory=threading.Lock)


@lru_cache(maxsize=1)
def _statements() -> dict[str, Any]:
    """The build's queries, built once: constructing SQLAlchemy statements per build costs
    more than running them on a slow machine."""
    rows = (
        select(File.id, File.filename, type_coerce(File.attrs, Text), File.md5, File.sha256,
               File.size, File.indexed_at_ms, Package.id, Package.name_key, Package.public,
               CondaRecord.name, CondaRecord.member, CondaRecord.shard_member)
        .join(Package, Package.id == File.package_id)
        .join(FileLabel, FileLabel.file_id == File.id)
        .join(Label, Label.id == FileLabel.label_id)
        .outerjoin(CondaRecord, and_(CondaRecord.file_id == File.id,
                                     CondaRecord.format == conda.RECORD_FORMAT))
        .where(Package.owner_id == bindparam("owner_id"),
               Label.owner_id == bindparam("owner_id"), Label.name == bindparam("label"),
               File.subdir == bindparam("subdir"), File.distribution_type == "conda")
    )
    return {
        "state": select(IndexState.id, IndexState.revision, IndexState.changed_at_ms,
                        IndexState.pruned_through).where(
            IndexState.owner_id == bindparam("owner_id"), IndexState.kind == bindparam("kind"),
            IndexState.label == bindparam("label"), IndexState.subdir == bindparam("subdir")),
        "changed": select(IndexChange.package_key).where(
            IndexChange.index_id == bindparam("index_id"),
            IndexChange.revision > bindparam("revision")).distinct(),
        "all_rows": rows,
        "some_rows": rows.where(Package.name_key.in_(bindparam("keys", expanding=True))),
    }


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
    zst_threads = Integer(
        2, help="zstd worker threads for repodata.json.zst (0: the caller's thread only). "
        "Any value from 1 up gives the same bytes, so processes may differ here. Two threads "
        "halve the time a new .zst takes (0.09 s instead of 0.16 s for 30 MB here) at the "
        "cost of both cores for that time."
    ).tag(config=True)
    zst_delay = Float(
        0.5, help="Seconds after a change before the public repodata.json.zst is compressed "
        "in the background (a request for it compresses it at once). Compressing a 30 MB "
        "document takes both cores for ~0.1 s; waiting lets a burst of uploads, and the "
        "requests that follow each, go first, and skips revisions replaced meanwhile."
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
            built, updates, made, complete = self._build(key, snapshot)
            if built is not snapshot:
                entry.snapshot = built
                entry.views.clear()
            if updates or complete or made:
                entry.unpublished.update(updates)
                entry.unpublished_complete |= complete
                entry.unpublished_records += made
                self.executor.submit(self._publish_shards, key, entry)
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
                           self._compression())
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
        options = {zstd.CompressionParameter.compression_level: self.zst_level}
        if self.zst_threads > 0:
            options[zstd.CompressionParameter.nb_workers] = self.zst_threads
        return options

    def _build(self, key: IndexKey, previous: Snapshot | None
               ) -> tuple[Snapshot, dict[str, ShardUpdate],
                          list[tuple[int, conda.SerializedRecord]], bool]:
        """The snapshot at the database's revision, the shards and serialised records to
        store, and whether the build was complete (not incremental)."""
        started = time.perf_counter()
        statements = _statements()
        where = {"owner_id": key.owner_id, "kind": key.kind, "label": key.label,
                 "subdir": key.subdir}
        with self.repository.transaction() as session:
            connection = session.connection()
            state = connection.execute(statements["state"], where).first()
            index_id, revision, changed_at, pruned = state if state is not None else (
                None, 0, 0, 0)
            incremental = (previous is not None and index_id is not None
                           and previous.index_id == index_id and previous.revision >= pruned)
            touched: set[str] | None = None
            if incremental:
                assert previous is not None
                if previous.revision == revision:
                    return previous, {}, [], False
                touched = set(connection.scalars(statements["changed"], {
                    "index_id": index_id, "revision": previous.revision}))
                rows = [_file_row(row) for row in connection.execute(
                    statements["some_rows"], {**where, "keys": sorted(touched)})]
            else:
                rows = [_file_row(row)
                        for row in connection.execute(statements["all_rows"], where)]
        by_key: dict[str, list[conda.FileRow]] = {}
        for row in rows:
            by_key.setdefault(row.package_key, []).append(row)
        segments = dict(previous.segments) if incremental and previous is not None else {}
        segments_nbytes = previous.segments_nbytes if incremental and previous is not None else 0
        updates: dict[str, ShardUpdate] = {}
        made: list[tuple[int, conda.SerializedRecord]] = []
        for package_key in (touched if touched is not None else by_key):
            old = segments.pop(package_key, None)
            if old is not None:
                segments_nbytes -= old.nbytes
            group = by_key.get(package_key)
            if group:
                segment, serialized = conda.make_segment(package_key, group, key.subdir)
                made += serialized
                segments[package_key] = segment
                segments_nbytes += segment.nbytes
                updates[package_key] = (segment.shard_sha256, segment.shard)
            else:
                updates[package_key] = None
        order = tuple(sorted(segments))
        public = [segments[name] for name in order if segments[name].public]
        reusable = None
        if incremental and previous is not None:
            reusable = {block.keys: block for block in previous.public.blocks}
        snapshot = Snapshot(
            key=key, index_id=index_id, revision=revision, changed_at_ms=changed_at,
            segments=segments, order=order,
            public=ChannelView(key.subdir, public, changed_at, self._compression(),
                               reusable=reusable, changed=frozenset(updates)),
            private_ids=frozenset(s.package_id for s in segments.values() if not s.public),
            segments_nbytes=segments_nbytes,
        )
        self.log.debug("built %s at revision %s (%s of %s names) in %.3f s", key, revision,
                       len(updates), len(segments), time.perf_counter() - started)
        return snapshot, updates, made, not incremental

    def _publish_shards(self, key: IndexKey, entry: _Entry) -> None:
        """Store the shards (and serialised records) of built snapshots, oldest first.

        Runs on the index threads after the snapshot is served. Records go in small
        transactions: a cold build makes tens of thousands, and one long write transaction
        would hold SQLite's write lock against uploads.
        """
        with entry.publish_lock:
            with entry.lock:
                updates, complete = entry.unpublished, entry.unpublished_complete
                records = entry.unpublished_records
                entry.unpublished, entry.unpublished_complete = {}, False
                entry.unpublished_records = []
                snapshot = entry.snapshot
            try:
                if updates or complete:
                    with self.repository.transaction(write=True) as session:
                        index_id = snapshot.index_id if snapshot is not None else None
                        if index_id is None and any(updates.values()):
                            index_id = journal.ensure_state(session, key).id
                        if index_id is not None:
                            shards.publish(session, index_id, updates, now_ms(),
                                           complete=complete)
            except Exception:
                self.log.exception("storing the shards of %s failed; retrying later", key)
                with entry.lock:  # keep them, older first, for the next attempt
                    entry.unpublished = {**updates, **entry.unpublished}
                    entry.unpublished_complete |= complete
            try:
                for start in range(0, len(records), RECORDS_PER_TRANSACTION):
                    with self.repository.transaction(write=True) as session:
                        _store_records(session,
                                       records[start:start + RECORDS_PER_TRANSACTION])
            except Exception:  # only a cache: the next build serialises them again
                self.log.warning("storing serialised records of %s failed", key,
                                 exc_info=True)

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
                entry = self._entries.get(key)
                if (entry is not None and not entry.unpublished
                        and not entry.unpublished_records):
                    del self._entries[key]
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
            snapshot.segment_with_shard("")  # the shard look-up table
            snapshot.public.shard_index.get()
        except Exception:  # a request will build it (and report) again
            self.log.exception("refreshing the index %s failed", key)
            return
        if snapshot.public.zst.ready is None:
            timer = threading.Timer(self.zst_delay, self.executor.submit,
                                    (self._compress_if_current, entry, snapshot))
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


RECORDS_PER_TRANSACTION = 2000


def _file_row(row: Any) -> conda.FileRow:
    *fields, name, member, shard_member = row
    stored = (conda.SerializedRecord(name, member, shard_member) if member is not None
              else None)
    return conda.FileRow(*fields, stored=stored)


def _store_records(session: Session,
                   records: Sequence[tuple[int, conda.SerializedRecord]]) -> None:
    """Upsert serialised records of files that still exist (some may have gone since)."""
    existing = set(session.scalars(
        select(File.id).where(File.id.in_([file_id for file_id, _record in records]))))
    rows = [{"file_id": file_id, "format": conda.RECORD_FORMAT, "name": record.name,
             "member": record.member, "shard_member": record.shard_member}
            for file_id, record in records if file_id in existing]
    if not rows:
        return
    insert = dialect_insert(session)
    statement = insert(CondaRecord).values(rows)
    session.execute(statement.on_conflict_do_update(
        index_elements=[CondaRecord.file_id],
        set_={"format": statement.excluded.format, "name": statement.excluded.name,
              "member": statement.excluded.member,
              "shard_member": statement.excluded.shard_member},
    ))


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
