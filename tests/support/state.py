"""A snapshot of everything stored, to assert that a refused request changed nothing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from jupyter_repo.repository.models import Blob, File, FileLabel, Package, Release, UploadStage
from tests.support.server import RepoServer


@dataclass(frozen=True)
class Snapshot:
    packages: int
    releases: int
    files: int
    labels: int
    blobs: int
    stages: int
    stored_keys: frozenset[str]
    spools: int


def snapshot(server: RepoServer) -> Snapshot:
    def counts(session):  # type: ignore[no-untyped-def]
        return [
            session.scalar(select(func.count()).select_from(model))
            for model in (Package, Release, File, FileLabel, Blob, UploadStage)
        ]

    values = server.call(counts, write=False)
    keys = frozenset(key for key, _ in server.repo.store.iter_keys())
    return Snapshot(*values[:5], stages=values[5], stored_keys=keys, spools=server.spool_count())


def unchanged(before: Snapshot, after: Snapshot, *, allow_stages: bool = False) -> bool:
    if allow_stages:
        after = Snapshot(**{**after.__dict__, "stages": before.stages})
    return before == after
