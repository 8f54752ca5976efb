"""Snapshots and views of a conda channel index, assembled from file rows (pure, no I/O).

A :class:`Snapshot` is one ``(owner, label, subdir)`` index at one revision: one
:class:`~conda.Segment` per package name and the public :class:`ChannelView`. :func:`assemble`
makes the next snapshot from what :mod:`~jupyter_repo.repository.indexes.rows` read: in
full, or incrementally from the previous snapshot by re-serialising only the names that
changed and re-joining only the document blocks they fall in. The result also says which
shards and serialised records are new, for :mod:`~jupyter_repo.repository.indexes.publishing`
to store. Equal rows give equal bytes and ETags, in every process.
"""

from __future__ import annotations

import sys
import threading
import zlib
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from jupyter_repo.repository.indexes import conda, shards, zstd_frames
from jupyter_repo.repository.indexes.journal import IndexKey
from jupyter_repo.repository.indexes.rows import IndexRead

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

T = TypeVar("T", bytes, list[bytes])
ShardUpdate = tuple[str, bytes] | None  # (sha256, bytes) of a name's shard; None: name gone
Compression = Mapping[Any, int]


class Once(Generic[T]):
    """A value computed on first use, by one thread, then shared (blocking)."""

    def __init__(self, compute: Callable[[], T]) -> None:
        self._compute: Callable[[], T] | None = compute
        self._value: T | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> T | None:
        return self._value

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    assert self._compute is not None
                    self._value = self._compute()
                    self._compute = None
        return self._value


def compression_options(level: int, threads: int) -> dict[Any, int]:
    """zstd parameters of ``repodata.json.zst`` (any thread count gives the same bytes)."""
    options = {zstd.CompressionParameter.compression_level: level}
    if threads > 0:
        options[zstd.CompressionParameter.nb_workers] = threads
    return options


def compress(pieces: Sequence[bytes], options: Compression) -> bytes:
    """One zstd frame of the pieces joined, compressed as a whole."""
    compressor = zstd.ZstdCompressor(options=dict(options))
    parts = [compressor.compress(piece) for piece in pieces]
    parts.append(compressor.flush())
    return b"".join(parts)


def compress_units(units: conda.Units, size: int, options: Compression) -> list[bytes]:
    """``repodata.json.zst`` as pieces of one frame: each unit compressed alone, a block's
    units once for all the snapshots that keep the block (see :mod:`zstd_frames`)."""
    try:
        log = zstd_frames.window_log(units.largest())
    except ValueError:  # a unit larger than a decoder's default window: compress it whole
        return [compress(units.plain(), options)]
    level = options.get(zstd.CompressionParameter.compression_level, 3)
    separators = [
        zstd_frames.COMMA_SEPARATOR if comma else zstd_frames.SEPARATOR for comma in units.commas
    ]
    return zstd_frames.frame(units.compressed(level), separators, size, log)


#: zlib level of ``repodata.json``'s gzip (for clients without zstd). Level 1 compresses a
#: 24 MB document in ~0.75 s on one core here, to 6.3 MB; level 6 takes 1.8 s for 5.6 MB.
GZIP_LEVEL = 1


def gzip_compress(pieces: Sequence[bytes], level: int) -> bytes:
    """A gzip member of the pieces joined; no name and no time in its header, so equal
    documents give equal bytes (and ETags) in every process."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    parts = [compressor.compress(piece) for piece in pieces]
    parts.append(compressor.flush())
    return b"".join(parts)


class ChannelView:
    """The documents one kind of caller gets for a snapshot, made once.

    ``repodata.json`` is kept as pieces (see ``conda.pieces``): a new public view re-joins
    only the blocks of the names that changed, and responses send the pieces as they are.
    """

    def __init__(
        self,
        subdir: str,
        segments: Sequence[conda.Segment],
        changed_at_ms: int,
        compression: Compression,
        *,
        reusable: Mapping[tuple[str, ...], conda.Block] | None = None,
        changed: Set[str] = frozenset(),
        blocks: list[conda.Block] | None = None,
        positions: dict[str, tuple[int, int]] | None = None,
    ) -> None:
        self.subdir = subdir
        self.segments = segments
        self.blocks = conda.blocks(segments, reusable, changed) if blocks is None else blocks
        self.etag = conda.view_etag(subdir, self.blocks)
        self._positions = positions
        units = conda.units(subdir, self.blocks)
        self.size = units.size()
        self._pieces = Once(units.plain)
        self.changed_at_ms = changed_at_ms
        self.shard_index = Once(
            lambda: shards.encode_index(
                subdir, len(segments), [block.shard_entries for block in self.blocks]
            )
        )
        self.zst = Once(lambda: compress_units(units, self.size, compression))
        self.gzip = Once(lambda: gzip_compress(self.pieces, GZIP_LEVEL))
        self.run_exports = Once(lambda: conda.run_exports_document(subdir, segments))

    def positions(self) -> dict[str, tuple[int, int]]:
        """Where each name is: ``(index in segments, index in blocks)`` (made once, shared by
        the views that keep the same names)."""
        if self._positions is None:
            table: dict[str, tuple[int, int]] = {}
            index = 0
            for block_index, block in enumerate(self.blocks):
                for key in block.keys:
                    table[key] = (index, block_index)
                    index += 1
            self._positions = table
        return self._positions

    def replaced(
        self,
        segments: Mapping[str, conda.Segment],
        changed: Set[str],
        changed_at_ms: int,
        compression: Compression,
    ) -> ChannelView:
        """This view with the segments of ``changed`` (names it holds, still public)
        replaced: the same order and block boundaries, so only their blocks are re-joined
        and nothing loops over the other names in Python."""
        positions = self.positions()
        new_segments = list(self.segments)
        dirty: set[int] = set()
        for key in changed:
            index, block_index = positions[key]
            new_segments[index] = segments[key]
            dirty.add(block_index)
        new_blocks = list(self.blocks)
        for block_index in dirty:
            keys = self.blocks[block_index].keys
            first = positions[keys[0]][0]
            new_blocks[block_index] = conda.make_block(new_segments[first : first + len(keys)])
        return ChannelView(
            self.subdir,
            new_segments,
            changed_at_ms,
            compression,
            blocks=new_blocks,
            positions=positions,
        )

    @property
    def pieces(self) -> list[bytes]:
        """``repodata.json`` as pieces (made when first asked for: a catch-up that serves
        only shards or the ``.zst`` never walks the whole document)."""
        return self._pieces.get()

    @property
    def document(self) -> bytes:
        """The whole ``repodata.json`` in one piece (a copy; responses use :attr:`pieces`)."""
        return b"".join(self.pieces)

    @property
    def nbytes(self) -> int:
        """Bytes this view holds besides its blocks' (which snapshots share)."""
        made = (self.shard_index.ready, self.gzip.ready, self.run_exports.ready)
        zst = self.zst.ready
        # The zst's block parts are kept on the blocks; count them with the plain text.
        frames = sum(block.frames_nbytes for block in self.blocks) if zst is not None else 0
        return self.size + frames + sum(len(item or b"") for item in made)


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
            self._by_shard = {segment.shard_sha256: segment for segment in self.segments.values()}
        return self._by_shard.get(digest)

    def private_view(self, visible: frozenset[int], compression: Compression) -> ChannelView:
        """The view of a caller who may also read the private packages ``visible``."""
        segments = [
            self.segments[key]
            for key in self.order
            if self.segments[key].public or self.segments[key].package_id in visible
        ]
        return ChannelView(self.key.subdir, segments, self.changed_at_ms, compression)


@dataclass(frozen=True)
class Assembled:
    """A new snapshot and what it made that is not stored yet."""

    snapshot: Snapshot
    #: The shard of every package key that changed (``None``: the name is gone).
    shards: dict[str, ShardUpdate]
    #: Records serialised for this snapshot (file id, record), to be stored.
    records: list[tuple[int, conda.SerializedRecord]]
    #: Whether ``shards`` covers the whole index (a full build, not a catch-up).
    complete: bool
    #: File rows the build read.
    rows: int = 0


def assemble(
    key: IndexKey, read: IndexRead, previous: Snapshot | None, compression: Compression
) -> Assembled:
    """The snapshot of ``read``: in full, or on top of ``previous`` when ``read`` holds only
    the names changed since it (``read.touched``).

    Consumes ``read.batches`` (inside the read's transaction): a full build serialises a
    batch of names and drops its rows before the next batch is read, so a million-row build
    never holds all its rows at once.
    """
    base = previous if read.touched is not None else None
    segments = dict(base.segments) if base is not None else {}
    segments_nbytes = base.segments_nbytes if base is not None else 0
    updates: dict[str, ShardUpdate] = {}
    made: list[tuple[int, conda.SerializedRecord]] = []
    count = 0
    for batch in [read.rows] if read.touched is not None else read.batches:
        count += len(batch)
        by_key: dict[str, list[conda.FileRow]] = {}
        for row in batch:
            by_key.setdefault(row.package_key, []).append(row)
        batch.clear()
        for package_key in read.touched if read.touched is not None else list(by_key):
            old = segments.pop(package_key, None)
            if old is not None:
                segments_nbytes -= old.nbytes
            group = by_key.pop(package_key, None)
            if group:
                segment, serialized = conda.make_segment(package_key, group, key.subdir)
                made += serialized
                segments[package_key] = segment
                segments_nbytes += segment.nbytes
                updates[package_key] = (segment.shard_sha256, segment.shard)
            else:
                updates[package_key] = None
    snapshot = make_snapshot(
        key,
        read.index_id,
        read.revision,
        read.changed_at_ms,
        segments,
        segments_nbytes,
        compression,
        base=base,
        changed=frozenset(updates),
    )
    return Assembled(snapshot, updates, made, complete=base is None, rows=count)


def make_snapshot(
    key: IndexKey,
    index_id: int | None,
    revision: int,
    changed_at_ms: int,
    segments: dict[str, conda.Segment],
    segments_nbytes: int,
    compression: Compression,
    *,
    base: Snapshot | None = None,
    changed: Set[str] = frozenset(),
) -> Snapshot:
    """A snapshot of ``segments``; the blocks of ``base`` whose names did not change are
    reused (with their compressed parts)."""
    if base is not None and changed and _same_names(base, segments, changed):
        public_changed = {name for name in changed if segments[name].public}
        by_shard = None
        if base._by_shard is not None:
            by_shard = dict(base._by_shard)
            for name in changed:
                by_shard.pop(base.segments[name].shard_sha256, None)
                by_shard[segments[name].shard_sha256] = segments[name]
        return Snapshot(
            key=key,
            index_id=index_id,
            revision=revision,
            changed_at_ms=changed_at_ms,
            segments=segments,
            order=base.order,
            public=base.public.replaced(segments, public_changed, changed_at_ms, compression),
            private_ids=base.private_ids,
            segments_nbytes=segments_nbytes,
            _by_shard=by_shard,
        )
    order = tuple(sorted(segments))
    public = [segments[name] for name in order if segments[name].public]
    reusable = {block.keys: block for block in base.public.blocks} if base is not None else None
    return Snapshot(
        key=key,
        index_id=index_id,
        revision=revision,
        changed_at_ms=changed_at_ms,
        segments=segments,
        order=order,
        public=ChannelView(
            key.subdir, public, changed_at_ms, compression, reusable=reusable, changed=changed
        ),
        private_ids=frozenset(s.package_id for s in segments.values() if not s.public),
        segments_nbytes=segments_nbytes,
    )


def _same_names(base: Snapshot, segments: Mapping[str, conda.Segment], changed: Set[str]) -> bool:
    """Whether only existing names changed, each keeping its package and visibility (the
    common case: a new build of a package): then order, blocks and rights are unchanged."""
    for key in changed:
        old, new = base.segments.get(key), segments.get(key)
        if old is None or new is None:
            return False
        if old.public != new.public or old.package_id != new.package_id:
            return False
    return True
