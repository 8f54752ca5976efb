"""What a channel index is built from: one read transaction's rows (the build's queries).

:func:`read` finds an ``(owner, label, subdir)`` index's revision and either every conda file
row carrying the label in the subdir, or — when the caller's snapshot is recent enough to
catch up from the change log — only the rows of the package names changed since then. A
full read comes in batches of package names, read as they are consumed: a million-file
index is never in memory as rows all at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import Text, and_, bindparam, select, type_coerce
from sqlalchemy.orm import Session

from jupyter_repo.repository.indexes import conda
from jupyter_repo.repository.indexes.journal import IndexKey
from jupyter_repo.repository.models import (
    CondaRecord,
    File,
    FileLabel,
    IndexChange,
    IndexState,
    Label,
    Package,
)


class Built(Protocol):
    """What :func:`read` needs to know of the snapshot a process holds."""

    @property
    def index_id(self) -> int | None: ...

    @property
    def revision(self) -> int: ...


@dataclass(frozen=True)
class IndexRead:
    """An index's state and file rows, as one transaction saw them."""

    index_id: int | None
    revision: int
    changed_at_ms: int
    #: The rows in batches that never split a package name's rows: one batch for a
    #: catch-up; for a full read, batches fetched as they are iterated (in the transaction).
    batches: Iterable[list[conda.FileRow]]
    #: The package keys changed since the caller's snapshot (the rows are only theirs);
    #: ``None``: a full read (the rows are the whole index).
    touched: frozenset[str] | None

    @property
    def rows(self) -> list[conda.FileRow]:
        """Every row at once (consumes a full read's batches)."""
        return [row for batch in self.batches for row in batch]


#: Package names per query of a full read (about 12 files each in a large channel).
NAMES_PER_BATCH = 2000


@lru_cache(maxsize=1)
def _statements() -> dict[str, Any]:
    """The build's queries, built once: constructing SQLAlchemy statements per build costs
    more than running them on a slow machine."""
    rows = (
        select(
            File.id,
            File.filename,
            type_coerce(File.attrs, Text),
            File.md5,
            File.sha256,
            File.size,
            File.indexed_at_ms,
            Package.id,
            Package.name_key,
            Package.public,
            CondaRecord.name,
            CondaRecord.member,
            CondaRecord.shard_member,
            CondaRecord.run_exports,
            File.yanked_at,
        )
        .join(Package, Package.id == File.package_id)
        .join(FileLabel, FileLabel.file_id == File.id)
        .join(Label, Label.id == FileLabel.label_id)
        .outerjoin(
            CondaRecord,
            and_(CondaRecord.file_id == File.id, CondaRecord.format == conda.RECORD_FORMAT),
        )
        .where(
            Package.owner_id == bindparam("owner_id"),
            Label.owner_id == bindparam("owner_id"),
            Label.name == bindparam("label"),
            File.subdir == bindparam("subdir"),
            File.distribution_type == "conda",
        )
    )
    return {
        # Grouped by package, so that a full read comes a few names at a time.
        "ordered_rows": rows.order_by(File.package_id),
        "state": select(
            IndexState.id, IndexState.revision, IndexState.changed_at_ms, IndexState.pruned_through
        ).where(
            IndexState.owner_id == bindparam("owner_id"),
            IndexState.kind == bindparam("kind"),
            IndexState.label == bindparam("label"),
            IndexState.subdir == bindparam("subdir"),
        ),
        "changed": select(IndexChange.package_key)
        .where(
            IndexChange.index_id == bindparam("index_id"),
            IndexChange.revision > bindparam("revision"),
        )
        .distinct(),
        "some_rows": rows.where(Package.name_key.in_(bindparam("keys", expanding=True))),
    }


def read(session: Session, key: IndexKey, previous: Built | None) -> IndexRead | None:
    """The rows to build ``key`` from; ``None`` when ``previous`` is still current.

    Only the changed names are read when ``previous`` is of the same index and no older
    than the pruned change log; otherwise the whole index.
    """
    statements = _statements()
    where = {"owner_id": key.owner_id, "kind": key.kind, "label": key.label, "subdir": key.subdir}
    connection = session.connection()
    state = connection.execute(statements["state"], where).first()
    index_id, revision, changed_at, pruned = state if state is not None else (None, 0, 0, 0)
    if (
        previous is None
        or index_id is None
        or previous.index_id != index_id
        or previous.revision < pruned
        or previous.revision > revision  # a saved snapshot newer than the database
    ):
        return IndexRead(index_id, revision, changed_at, _batches(connection, where), None)
    if previous.revision == revision:
        return None
    touched = frozenset(
        connection.scalars(
            statements["changed"], {"index_id": index_id, "revision": previous.revision}
        )
    )
    rows = [
        _file_row(row)
        for row in connection.execute(statements["some_rows"], {**where, "keys": sorted(touched)})
    ]
    return IndexRead(index_id, revision, changed_at, [rows], touched)


def _batches(connection: Any, where: dict[str, Any]) -> Iterator[list[conda.FileRow]]:
    """Every row of an index, the packages of :data:`NAMES_PER_BATCH` names at a time: one
    query ordered by package, its rows streamed (a server-side cursor on PostgreSQL)."""
    found = connection.execute(
        _statements()["ordered_rows"],
        where,
        execution_options={"stream_results": True, "max_row_buffer": 10_000},
    )
    batch: list[conda.FileRow] = []
    names = 0
    last = None
    for row in found:
        file_row = _file_row(row)
        if file_row.package_id != last:
            if names == NAMES_PER_BATCH:
                yield batch
                batch, names = [], 0
            names += 1
            last = file_row.package_id
        batch.append(file_row)
    if batch:
        yield batch


def _file_row(row: Any) -> conda.FileRow:
    (
        file_id,
        filename,
        attrs,
        md5,
        sha256,
        size,
        indexed_at_ms,
        package_id,
        package_key,
        public,
        name,
        member,
        shard_member,
        run_exports,
        yanked_at,
    ) = row
    stored = (
        conda.SerializedRecord(name, member, shard_member, run_exports)
        if member is not None and run_exports is not None
        else None
    )
    return conda.FileRow(
        file_id,
        filename,
        attrs,
        md5,
        sha256,
        size,
        indexed_at_ms,
        package_id,
        package_key,
        public,
        stored,
        yanked_at is not None,
    )
