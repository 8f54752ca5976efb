"""Storing what snapshot builds made: shards (for every process) and serialised records.

A build hands its new shards and records to a :class:`Pending` queue of its index; the
index threads store them right after the snapshot is served (off the request's path), oldest
first. Shards must reach the database (``shards.publish``) so that any process can answer for
them; serialised records are only a cache (``CondaRecord``), so failing to store them costs a
re-serialisation later, nothing else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from jupyter_repo.repository.db import dialect_insert
from jupyter_repo.repository.indexes import conda, journal, shards
from jupyter_repo.repository.indexes.journal import IndexKey
from jupyter_repo.repository.indexes.snapshots import Assembled, ShardUpdate
from jupyter_repo.repository.models import CondaRecord, File, now_ms

#: Records per write transaction: a cold build makes tens of thousands, and one long write
#: transaction would hold SQLite's write lock against uploads.
RECORDS_PER_TRANSACTION = 2000
#: ``repository.transaction``: ``transaction(write=True)`` opens a writing transaction.
Transaction = Callable[..., AbstractContextManager[Session]]


@dataclass
class Pending:
    """What the builds of one index made and nobody stored yet (thread-safe)."""

    #: Shards of built snapshots, in build order (newer entries win).
    shards: dict[str, ShardUpdate] = field(default_factory=dict)
    complete: bool = False
    records: list[tuple[int, conda.SerializedRecord]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Held while storing, so that the builds of one index are stored in order.
    storing: threading.Lock = field(default_factory=threading.Lock)

    def add(self, built: Assembled) -> bool:
        """Queue what a build made; whether there is anything to store."""
        if not (built.shards or built.complete or built.records):
            return False
        with self.lock:
            self.shards.update(built.shards)
            self.complete |= built.complete
            self.records += built.records
        return True

    @property
    def empty(self) -> bool:
        return not self.shards and not self.records

    def take(self) -> tuple[dict[str, ShardUpdate], bool, list[tuple[int, conda.SerializedRecord]]]:
        with self.lock:
            taken = self.shards, self.complete, self.records
            self.shards, self.complete, self.records = {}, False, []
        return taken

    def give_back(self, updates: dict[str, ShardUpdate], complete: bool) -> None:
        """Shards whose storing failed, queued again before anything newer."""
        with self.lock:
            self.shards = {**updates, **self.shards}
            self.complete |= complete


def store(
    transaction: Transaction,
    key: IndexKey,
    index_id: int | None,
    pending: Pending,
    log: logging.Logger,
) -> None:
    """Store the pending shards and records of ``key``, whose current snapshot has
    ``index_id`` (``None``: the index has no state row yet; it is made here)."""
    with pending.storing:
        updates, complete, records = pending.take()
        try:
            if updates or complete:
                with transaction(write=True) as session:
                    if index_id is None and any(updates.values()):
                        index_id = journal.ensure_state(session, key).id
                    if index_id is not None:
                        shards.publish(session, index_id, updates, now_ms(), complete=complete)
        except Exception:
            log.exception("storing the shards of %s failed; retrying later", key)
            pending.give_back(updates, complete)
        try:
            for start in range(0, len(records), RECORDS_PER_TRANSACTION):
                with transaction(write=True) as session:
                    store_records(session, records[start : start + RECORDS_PER_TRANSACTION])
        except Exception:  # only a cache: the next build serialises them again
            log.warning("storing serialised records of %s failed", key, exc_info=True)


def store_records(session: Session, records: Sequence[tuple[int, conda.SerializedRecord]]) -> None:
    """Upsert serialised records of files that still exist (some may have gone since)."""
    existing = set(
        session.scalars(
            select(File.id).where(File.id.in_([file_id for file_id, _record in records]))
        )
    )
    rows = [
        {
            "file_id": file_id,
            "format": conda.RECORD_FORMAT,
            "name": record.name,
            "member": record.member,
            "shard_member": record.shard_member,
            "run_exports": record.run_exports,
        }
        for file_id, record in records
        if file_id in existing
    ]
    if not rows:
        return
    insert = dialect_insert(session)
    statement = insert(CondaRecord).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[CondaRecord.file_id],
            set_={
                "format": statement.excluded.format,
                "name": statement.excluded.name,
                "member": statement.excluded.member,
                "shard_member": statement.excluded.shard_member,
                "run_exports": statement.excluded.run_exports,
            },
        )
    )
