"""Periodic clean-up of what the indexes leave behind (run by the server's housekeeping)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jupyter_repo.repository.indexes import journal, shards
from jupyter_repo.repository.models import now_ms


def prune(session: Session) -> tuple[int, int]:
    """Trim the change log and delete long-retired shards; returns how many rows went."""
    return journal.prune(session), shards.collect_garbage(session, now_ms())
