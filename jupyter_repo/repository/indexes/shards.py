"""CEP-16 sharded repodata: one zstd msgpack file per package name, named by its sha256.

Shards are produced with their package name's :class:`~conda.Segment` (so a change rewrites
only the shards of the names it touched) and stored in the database before any index that
names them is served. A shard that an index stops naming is *retired*, not deleted: clients
holding an older shard index may still ask for it, from any server process, until the
garbage collection removes shards retired for longer than :data:`RETENTION_MS`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgpack
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from jupyter_repo.repository.db import affected_rows, dialect_insert
from jupyter_repo.repository.models import CondaShard

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

#: Deterministic output matters more than size here: every process must produce the same
#: bytes (the file name is their hash). Level 3 is fast and within 3 % of level 19.
SHARD_LEVEL = 3
#: The index is mostly SHA-256 digests, which do not compress: a fast level makes it in a
#: third of level 3's time (4 ms instead of 11 ms for a million-file subdir's 2.5 MB) and
#: is smaller than level 1 here. It is remade at every change of the subdir.
INDEX_LEVEL = -1
RETENTION_MS = 7 * 24 * 3600 * 1000
_HASH_KEYS = ("md5", "sha256")
_CHUNK = 400


def _binary_hashes(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as CEP-16 wants it: keys sorted, md5/sha256 as raw bytes."""
    return {
        key: bytes.fromhex(value) if key in _HASH_KEYS and isinstance(value, str) else value
        for key, value in sorted(record.items())
    }


def shard_pair(filename: str, record: Mapping[str, Any]) -> bytes:
    """One ``file: record`` pair of a shard, msgpack-encoded (made once per file)."""
    return msgpack.packb(filename, use_bin_type=True) + msgpack.packb(
        _binary_hashes(record), use_bin_type=True
    )


def encode_shard(
    packages: Sequence[bytes], packages_conda: Sequence[bytes], removed: Sequence[str] = ()
) -> bytes:
    """The shard file of one package name, from its files' pairs (in file-name order) and
    the names of its yanked files.

    The bytes ``msgpack.packb`` gives for ``{"packages": {...}, "packages.conda": {...},
    "removed": [...]}``, compressed.
    """
    payload = b"".join(
        (
            _map_header(3),
            msgpack.packb("packages"),
            _map_header(len(packages)),
            *packages,
            msgpack.packb("packages.conda"),
            _map_header(len(packages_conda)),
            *packages_conda,
            msgpack.packb("removed"),
            msgpack.packb(list(removed), use_bin_type=True),
        )
    )
    return zstd.compress(payload, SHARD_LEVEL)


def index_entry(name: str, digest: bytes) -> bytes:
    """One ``name: sha256`` pair of the shard index, msgpack-encoded once per shard."""
    return msgpack.packb(name, use_bin_type=True) + msgpack.packb(digest, use_bin_type=True)


def _map_header(count: int) -> bytes:
    if count < 16:
        return bytes([0x80 | count])
    if count < 1 << 16:
        return b"\xde" + count.to_bytes(2, "big")
    return b"\xdf" + count.to_bytes(4, "big")


def encode_index(subdir: str, count: int, entries: Sequence[bytes]) -> bytes:
    """``repodata_shards.msgpack.zst`` from ``count`` pre-encoded entries (in name order),
    given as pieces of one or more entries each.

    The same bytes ``msgpack.packb`` would give for ``{"info": ..., "shards": {...},
    "version": 1}``, without re-encoding thousands of names per change. Package files live
    next to the index (``base_url: ./``), shards in ``./shards/``. No ``created_at``: the
    bytes must depend on the content only (see ``conda.py``).
    """
    info = {"base_url": "./", "shards_base_url": "./shards/", "subdir": subdir}
    payload = b"".join(
        (
            _map_header(3),
            msgpack.packb("info"),
            msgpack.packb(info, use_bin_type=True),
            msgpack.packb("shards"),
            _map_header(count),
            *entries,
            msgpack.packb("version"),
            msgpack.packb(1),
        )
    )
    return zstd.compress(payload, INDEX_LEVEL)


# -- the shard table -------------------------------------------------------------------------


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def publish(
    session: Session,
    index_id: int,
    current: Mapping[str, tuple[str, bytes] | None],
    now_ms: int,
    *,
    complete: bool,
) -> None:
    """Store the current shard of each package key (``(sha256, bytes)``; ``None``: gone).

    Rows already stored are left alone (a cold cache re-derives the same bytes); shards that
    the keys no longer use are retired. ``complete`` says ``current`` covers the whole index,
    so that rows of keys not mentioned are retired as well.
    """
    query = select(CondaShard.sha256, CondaShard.package_key, CondaShard.retired_at_ms).where(
        CondaShard.index_id == index_id
    )
    existing: list[tuple[str, str, int | None]] = []
    if complete:
        existing = [tuple(row) for row in session.execute(query)]  # type: ignore[misc]
    else:
        for keys in _chunks(sorted(current)):
            found = session.execute(query.where(CondaShard.package_key.in_(keys)))
            existing += [tuple(row) for row in found]  # type: ignore[misc]
    live = {digest for digest, _key, retired in existing if retired is None}
    wanted = {entry[0]: (key, entry[1]) for key, entry in current.items() if entry is not None}
    to_store = [
        {
            "index_id": index_id,
            "sha256": digest,
            "package_key": key,
            "data": data,
            "published_at_ms": now_ms,
            "retired_at_ms": None,
        }
        for digest, (key, data) in wanted.items()
        if digest not in live
    ]
    insert = dialect_insert(session)
    for rows in _chunks(to_store):
        statement = insert(CondaShard).values(rows)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[CondaShard.index_id, CondaShard.sha256],
                set_={"retired_at_ms": None, "published_at_ms": now_ms},
            )
        )
    to_retire = sorted(digest for digest in live if digest not in wanted)
    for digests in _chunks(to_retire):
        session.execute(
            update(CondaShard)
            .where(CondaShard.index_id == index_id, CondaShard.sha256.in_(digests))
            .values(retired_at_ms=now_ms)
        )


def find(session: Session, index_id: int, sha256: str) -> tuple[bytes, str] | None:
    """A stored shard's bytes and package key (retired shards included)."""
    row = session.execute(
        select(CondaShard.data, CondaShard.package_key).where(
            CondaShard.index_id == index_id, CondaShard.sha256 == sha256
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


def collect_garbage(session: Session, now_ms: int) -> int:
    """Delete shards retired for longer than the retention."""
    return affected_rows(
        session.execute(delete(CondaShard).where(CondaShard.retired_at_ms < now_ms - RETENTION_MS))
    )
