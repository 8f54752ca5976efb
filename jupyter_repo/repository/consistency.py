"""Start-up consistency check: repair what a crash can leave behind, report the rest.

A crash can interrupt an upload between any two steps. What can be left:
a partial spool file (deleted), a stored blob whose database row was never written
(deleted: nothing refers to it), a staged upload that never completed (expired normally),
and - only through outside tampering - a row whose blob is missing (reported).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.models import Blob


@dataclass
class Report:
    removed_spools: int = 0
    removed_orphan_blobs: int = 0
    expired_stages: int = 0
    missing_blobs: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"consistency check: {self.removed_spools} partial upload(s) removed, "
            f"{self.removed_orphan_blobs} orphan blob(s) removed, "
            f"{self.expired_stages} stale stage(s) expired, "
            f"{len(self.missing_blobs)} missing blob(s) in {self.seconds:.2f}s"
        )


def check(repo: Repository, *, grace_seconds: float = 0.0, verify_blobs: bool = True) -> Report:
    """Run the check (blocking).

    With several processes sharing a database and a store, ``grace_seconds`` keeps the
    spools and blobs of uploads that other processes are finishing right now.
    """
    from jupyter_repo.repository.services import uploads

    started = time.monotonic()
    report = Report()
    now = time.time()
    for path in repo.store.leftover_spools():
        try:
            if now - path.stat().st_mtime >= grace_seconds:
                path.unlink(missing_ok=True)
                report.removed_spools += 1
        except FileNotFoundError:
            continue
    report.expired_stages = repo.write(uploads.expire_stages, repo)
    if verify_blobs:
        known = dict(repo.read(lambda s: s.execute(select(Blob.key, Blob.id)).all()))
        stored: set[str] = set()
        for key, modified in repo.store.iter_keys():
            stored.add(key)
            # Re-check under a fresh read: the row may have been committed meanwhile.
            if (
                key not in known
                and now - modified >= grace_seconds
                and not repo.read(_blob_with_key, key)
            ):
                repo.store.delete(key)
                report.removed_orphan_blobs += 1
        report.missing_blobs = sorted(known[key] for key in set(known) - stored)
    report.seconds = time.monotonic() - started
    return report


def _blob_with_key(session: Session, key: str) -> str | None:
    return session.scalar(select(Blob.id).where(Blob.key == key))
