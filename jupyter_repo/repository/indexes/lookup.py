"""The small queries behind every channel and index request.

Each is one or two indexed look-ups whose cost does not grow with the channel: which owner,
label and index a URL names and the index's revision (to validate cached documents), which
private packages of the owner the caller may read (to pick a view), and the single file or
shard a download names. Private things the caller may not read are "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, false, select
from sqlalchemy.orm import Session

from jupyter_repo.repository import names
from jupyter_repo.repository.db import Database
from jupyter_repo.repository.errors import InvalidInput, NotFound
from jupyter_repo.repository.indexes import shards
from jupyter_repo.repository.indexes.journal import IndexKey
from jupyter_repo.repository.models import (
    Account,
    Blob,
    File,
    FileLabel,
    IndexState,
    Label,
    Package,
)
from jupyter_repo.repository.permissions import Actor, Level, package_level, visible_packages


@dataclass(frozen=True)
class Located:
    """An existing owner/label's index, as of this request."""

    key: IndexKey
    login: str
    index_id: int | None
    revision: int
    changed_at_ms: int


def channel_names(owner: str, label: str | None, subdir: str | None) -> tuple[str, str, str]:
    """Validated, normalised ``(login, label, subdir)``; any bad name is simply not found."""
    try:
        login = names.login(owner)
        label_name = names.label(label) if label else names.DEFAULT_LABEL
        subdir_name = names.subdir(subdir) if subdir else ""
    except InvalidInput:
        raise NotFound("No such channel.") from None
    return login, label_name, subdir_name


def _locate(connection: Any, login: str, label: str, kind: str, subdir: str) -> Located:
    label_exists = exists().where(Label.owner_id == Account.id, Label.name == label)
    row = connection.execute(
        select(Account.id, label_exists, IndexState.id, IndexState.revision,
               IndexState.changed_at_ms)
        .select_from(Account)
        .outerjoin(IndexState, and_(
            IndexState.owner_id == Account.id, IndexState.kind == kind,
            IndexState.label == label, IndexState.subdir == subdir,
        ))
        .where(Account.login == login)
    ).first()
    if row is None:
        raise NotFound(f"The owner {login!r} does not exist.")
    owner_id, has_label, index_id, revision, changed_at_ms = row
    if label != names.DEFAULT_LABEL and not has_label:
        raise NotFound(f"The label {label!r} does not exist for {login}.")
    return Located(IndexKey(owner_id, kind, label, subdir), login, index_id, revision or 0,
                   changed_at_ms or 0)


def locate(database: Database, owner: str, label: str | None, kind: str,
           subdir: str | None = None) -> Located:
    """Owner, label and index state of a URL, on a plain pooled connection (no ORM session:
    this runs for every conditional request, so it is kept as lean as it can be)."""
    login, label_name, subdir_name = channel_names(owner, label, subdir)
    with database.engine.connect() as connection:
        return _locate(connection, login, label_name, kind, subdir_name)


def locate_in(session: Session, owner: str, label: str | None, kind: str,
              subdir: str | None = None) -> Located:
    login, label_name, subdir_name = channel_names(owner, label, subdir)
    return _locate(session, login, label_name, kind, subdir_name)


def readable_private_packages(session: Session, actor: Actor, owner_id: int,
                              label: str) -> frozenset[int]:
    """Ids of the owner's private packages the actor may read on ``label``."""
    if actor.anonymous or actor.cap < Level.READ:
        return frozenset()
    if actor.token_label is not None and actor.token_label != label:
        return frozenset()  # a token limited to a label reads private files only there
    return frozenset(session.scalars(
        select(Package.id).where(Package.owner_id == owner_id, Package.public == false(),
                                 visible_packages(actor))
    ))


def _package_readable(session: Session, actor: Actor, package: Package, label: str) -> bool:
    if package.public:
        return True
    if actor.token_label is not None and actor.token_label != label:
        return False
    return package_level(session, actor, package) >= Level.READ


@dataclass(frozen=True)
class StoredFile:
    """A file to send: where its bytes are and how to describe them."""

    key: str
    size: int
    sha256: str
    filename: str
    upload_time: Any
    public: bool


def conda_file(session: Session, actor: Actor, located: Located, filename: str) -> StoredFile:
    """A package file of the channel ``located`` names; 404 unless the actor may read it."""
    try:
        names.filename(filename)
    except InvalidInput:
        raise NotFound("No such file in this channel.") from None
    key = located.key
    rows = session.execute(
        select(File, Package, Blob.key)
        .join(Package, Package.id == File.package_id)
        .join(Blob, Blob.id == File.blob_id)
        .join(FileLabel, FileLabel.file_id == File.id)
        .join(Label, Label.id == FileLabel.label_id)
        .where(File.filename == filename, File.subdir == key.subdir,
               File.distribution_type == "conda", Package.owner_id == key.owner_id,
               Label.owner_id == key.owner_id, Label.name == key.label)
    ).all()
    for file, package, blob_key in rows:
        if _package_readable(session, actor, package, key.label):
            return StoredFile(blob_key, file.size, file.sha256, file.filename, file.upload_time,
                              package.public)
    raise NotFound("No such file in this channel.")


def shard(session: Session, actor: Actor, located: Located, digest: str) -> tuple[bytes, bool]:
    """A stored shard of the index and whether its package is public; 404 otherwise."""
    if located.index_id is None:
        raise NotFound("No such shard.")
    found = shards.find(session, located.index_id, digest)
    if found is None:
        raise NotFound("No such shard.")
    data, package_key = found
    package = session.scalar(select(Package).where(
        Package.owner_id == located.key.owner_id, Package.name_key == package_key))
    if package is None or not _package_readable(session, actor, package, located.key.label):
        raise NotFound("No such shard.")
    return data, package.public
