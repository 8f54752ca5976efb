"""Blob bookkeeping: register stored bytes, and drop bytes no file refers to any more."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jupyter_repo.repository.core import after_commit
from jupyter_repo.repository.models import Blob, File, UploadStage
from jupyter_repo.repository.security import new_id
from jupyter_repo.repository.storage import BlobStore


def new_key() -> tuple[str, str]:
    """A fresh blob id and its storage key (fanned out so no folder grows too large)."""
    blob_id = new_id(16)
    return blob_id, f"{blob_id[:2]}/{blob_id[2:4]}/{blob_id}"


def store_spool(store: BlobStore, path: Path) -> tuple[str, str]:
    """Move a finished spool into the store; returns (blob id, key). Blocking."""
    blob_id, key = new_key()
    store.put_file(key, path)
    return blob_id, key


def release_unreferenced(session: Session, store: BlobStore, blob_ids: set[str]) -> None:
    """Delete the blobs among ``blob_ids`` that no file or stage references, after commit."""
    session.flush()
    for blob_id in blob_ids:
        files = session.scalar(select(func.count()).where(File.blob_id == blob_id))
        stages = session.scalar(select(func.count()).where(UploadStage.blob_id == blob_id))
        if files or stages:
            continue
        blob = session.get(Blob, blob_id)
        if blob is None:
            continue
        after_commit(session, partial(store.delete, blob.key))
        session.delete(blob)
