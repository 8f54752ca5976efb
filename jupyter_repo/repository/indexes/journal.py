"""Index revisions: the transaction that changes files also bumps the indexes it touched.

:meth:`Repository.transaction` calls :func:`record` just before it commits, with the changes
the services recorded. One row per index (:class:`IndexState`) carries a revision number that
only grows; one row per changed package name and revision (:class:`IndexChange`) lets a cache
that is at revision ``r`` learn which names to rebuild to catch up. Because the bump commits
atomically with the files, a reader that sees revision ``r`` also sees every file change up to
``r``, in every process sharing the database.

Indexes are bumped in sorted order, so two transactions never wait for each other's locks
in opposite orders (PostgreSQL); SQLite serialises writers anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from jupyter_repo.repository.changes import Change
from jupyter_repo.repository.db import affected_rows, dialect_insert
from jupyter_repo.repository.models import IndexChange, IndexState, now_ms

#: How long the change log is kept; a cache older than that rebuilds an index in full.
CHANGE_LOG_RETENTION_MS = 24 * 3600 * 1000


@dataclass(frozen=True, order=True)
class IndexKey:
    """Names one index: conda ``(owner, label, subdir)`` or PyPI ``(owner, label, "")``."""

    owner_id: int
    kind: str
    label: str
    subdir: str


def key_of(change: Change) -> IndexKey | None:
    """The index a change touches, or ``None`` for types that have no index (notebooks...)."""
    if change.distribution_type == "conda" and change.subdir:
        return IndexKey(change.owner_id, "conda", change.label, change.subdir)
    if change.distribution_type == "pypi":
        return IndexKey(change.owner_id, "pypi", change.label, "")
    return None


def _state_query(key: IndexKey) -> Select[IndexState]:
    return select(IndexState).where(
        IndexState.owner_id == key.owner_id,
        IndexState.kind == key.kind,
        IndexState.label == key.label,
        IndexState.subdir == key.subdir,
    )


def ensure_state(session: Session, key: IndexKey, *, lock: bool = False) -> IndexState:
    """The index's state row, created at revision 0 when missing (races are harmless)."""
    query = _state_query(key).with_for_update() if lock else _state_query(key)
    state = session.scalar(query)
    if state is None:
        insert = dialect_insert(session)
        session.execute(
            insert(IndexState)
            .values(
                owner_id=key.owner_id,
                kind=key.kind,
                label=key.label,
                subdir=key.subdir,
                revision=0,
                changed_at_ms=0,
                pruned_through=0,
            )
            .on_conflict_do_nothing()
        )
        state = session.scalar(query)
        assert state is not None
    return state


def record(session: Session, changes: Iterable[Change]) -> None:
    """Bump each touched index once and log the changed package names (inside the txn)."""
    grouped: dict[IndexKey, set[str]] = {}
    for change in changes:
        key = key_of(change)
        if key is not None:
            grouped.setdefault(key, set()).add(change.package_key)
    if not grouped:
        return
    now = now_ms()
    for key in sorted(grouped):
        state = ensure_state(session, key, lock=True)
        state.revision += 1
        # Never step back in time (clocks of several servers may disagree a little).
        state.changed_at_ms = max(now, state.changed_at_ms + 1)
        session.add_all(
            IndexChange(
                index_id=state.id,
                revision=state.revision,
                package_key=package_key,
                created_at_ms=now,
            )
            for package_key in sorted(grouped[key])
        )
    session.flush()


def changed_since(session: Session, index_id: int, revision: int) -> set[str]:
    """Package names changed in the index after ``revision``."""
    return set(
        session.scalars(
            select(IndexChange.package_key)
            .where(IndexChange.index_id == index_id, IndexChange.revision > revision)
            .distinct()
        )
    )


def prune(session: Session, *, older_than_ms: int | None = None) -> int:
    """Drop change-log rows older than the retention and remember how far each index was cut."""
    cutoff = (now_ms() - CHANGE_LOG_RETENTION_MS) if older_than_ms is None else older_than_ms
    rows = session.execute(
        select(IndexChange.index_id, func.max(IndexChange.revision))
        .where(IndexChange.created_at_ms < cutoff)
        .group_by(IndexChange.index_id)
    ).all()
    removed = 0
    for index_id, through in rows:
        session.execute(
            update(IndexState)
            .where(IndexState.id == index_id, IndexState.pruned_through < through)
            .values(pruned_through=through)
        )
        removed += affected_rows(
            session.execute(
                delete(IndexChange).where(
                    IndexChange.index_id == index_id, IndexChange.revision <= through
                )
            )
        )
    return removed
