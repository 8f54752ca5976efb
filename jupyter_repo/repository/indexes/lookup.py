"""The small queries behind every channel and index request.

Each is one or two indexed look-ups whose cost does not grow with the channel: which owner,
label and index a URL names and the index's revision (to validate cached documents), which
private packages of the owner the caller may read (to pick a view), and the single file or
shard a download names. Private things the caller may not read are "not found".
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import BindParameter, Engine, and_, bindparam, exists, false, select
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
from jupyter_repo.repository.permissions import (
    Actor,
    Level,
    account_level,
    package_level,
    readable_files,
    visible_packages,
)


@dataclass(frozen=True)
class Located:
    """An existing owner/label's index, as of this request."""

    key: IndexKey
    login: str
    index_id: int | None
    revision: int
    changed_at_ms: int
    #: Does the label show something to everyone (``main`` always does)? A label that only
    #: private packages use is "not found" to those who cannot read them, like a missing one.
    label_public: bool = True


@lru_cache(maxsize=4096)
def channel_names(owner: str, label: str | None, subdir: str | None) -> tuple[str, str, str]:
    """Validated, normalised ``(login, label, subdir)``; any bad name is simply not found.

    Cached: the same few channels are asked for again and again (errors are not cached).
    """
    try:
        login = names.login(owner)
        label_name = names.label(label) if label else names.DEFAULT_LABEL
        subdir_name = names.subdir(subdir) if subdir else ""
    except InvalidInput:
        raise NotFound("No such channel.") from None
    return login, label_name, subdir_name


def _locate_statement() -> Any:
    label: BindParameter[str] = bindparam("label")
    return (
        select(
            Account.id,
            select(Label.has_public_files)
            .where(Label.owner_id == Account.id, Label.name == label)
            .scalar_subquery(),
            IndexState.id,
            IndexState.revision,
            IndexState.changed_at_ms,
        )
        .select_from(Account)
        .outerjoin(
            IndexState,
            and_(
                IndexState.owner_id == Account.id,
                IndexState.kind == bindparam("kind"),
                IndexState.label == label,
                IndexState.subdir == bindparam("subdir"),
            ),
        )
        .where(Account.login == bindparam("login"))
    )


class _Prepared:
    """A statement compiled once for an engine's dialect, run on a raw pooled DBAPI
    connection: building and compiling a SQLAlchemy statement costs about a millisecond,
    twenty times the query itself, and this one runs for every conditional request."""

    def __init__(self, engine: Engine, statement: Any) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        self.names = list(compiled.positiontup or [])

    def first(self, engine: Engine, params: dict[str, Any]) -> Any:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(
                    self.sql, [params[name] for name in self.names] if self.positional else params
                )
                return cursor.fetchone()
            finally:
                cursor.close()
        finally:
            connection.close()  # back to the pool


_PREPARED: WeakKeyDictionary[Engine, _Prepared] = WeakKeyDictionary()


def _located(row: Any, login: str, label: str, kind: str, subdir: str) -> Located:
    if row is None:
        raise NotFound(f"The owner {login!r} does not exist.")
    owner_id, has_public_files, index_id, revision, changed_at_ms = row
    is_main = label == names.DEFAULT_LABEL
    if not is_main and has_public_files is None:
        raise _missing_label(label, login)
    return Located(
        IndexKey(owner_id, kind, label, subdir),
        login,
        index_id,
        revision or 0,
        changed_at_ms or 0,
        label_public=is_main or bool(has_public_files),
    )


def _missing_label(label: str, login: str) -> NotFound:
    return NotFound(f"The label {label!r} does not exist for {login}.")


def public_view(located: Located) -> Located:
    """``located`` for a caller without credentials: a label that only private packages use
    is not found (see :func:`locate_in` for callers with credentials)."""
    if not located.label_public:
        raise _missing_label(located.key.label, located.login)
    return located


def locate(
    database: Database, owner: str, label: str | None, kind: str, subdir: str | None = None
) -> Located:
    """Owner, label and index state of a URL (see :class:`_Prepared`; no ORM session)."""
    login, label_name, subdir_name = channel_names(owner, label, subdir)
    engine = database.engine
    prepared = _PREPARED.get(engine)
    if prepared is None:
        prepared = _PREPARED[engine] = _Prepared(engine, _locate_statement())
    params = {"login": login, "label": label_name, "kind": kind, "subdir": subdir_name}
    return _located(prepared.first(engine, params), login, label_name, kind, subdir_name)


class InlineLocator:
    """:func:`locate` without a thread hop, where that is cheap and safe (SQLite).

    On SQLite in WAL mode the look-up reads a few B-tree pages and never waits for writers,
    so the event loop may run it directly (tens of microseconds) rather than pay for a round
    trip through a worker thread, which costs more than the query and caps how many
    conditional requests a process answers per second. A busy database (rare: WAL
    recovery) makes :meth:`locate` return ``None`` after a few milliseconds, and so does
    any other database: the caller then uses :func:`locate` on a worker thread.
    Use one instance from one thread only.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._connection: Any = None

    def locate(
        self, owner: str, label: str | None, kind: str, subdir: str | None = None
    ) -> Located | None:
        if not self._database.is_sqlite:
            return None
        login, label_name, subdir_name = channel_names(owner, label, subdir)
        engine = self._database.engine
        prepared = _PREPARED.get(engine)
        if prepared is None:
            prepared = _PREPARED[engine] = _Prepared(engine, _locate_statement())
        params = {"login": login, "label": label_name, "kind": kind, "subdir": subdir_name}
        try:
            if self._connection is None:
                self._connection = engine.raw_connection()  # kept: this thread's own
                self._connection.execute("PRAGMA busy_timeout=5")
            row = self._connection.execute(
                prepared.sql, [params[name] for name in prepared.names]
            ).fetchone()
        except sqlite3.Error:
            return None
        return _located(row, login, label_name, kind, subdir_name)


def locate_in(
    session: Session,
    owner: str,
    label: str | None,
    kind: str,
    subdir: str | None = None,
    *,
    actor: Actor,
) -> Located:
    """The same, inside a session, as ``actor`` sees it: a label holding nothing the actor
    may read is "not found" (unless the actor may manage the namespace's labels)."""
    login, label_name, subdir_name = channel_names(owner, label, subdir)
    row = session.execute(
        _locate_statement(),
        {"login": login, "label": label_name, "kind": kind, "subdir": subdir_name},
    ).first()
    located = _located(row, login, label_name, kind, subdir_name)
    if located.label_public or _label_shown(session, actor, located):
        return located
    raise _missing_label(label_name, login)


def _label_shown(session: Session, actor: Actor, located: Located) -> bool:
    if actor.anonymous:
        return False
    owner = session.get(Account, located.key.owner_id)
    assert owner is not None
    if actor.token_label is None and account_level(session, actor, owner) >= Level.WRITE:
        return True
    return bool(
        session.scalar(
            select(
                exists(
                    select(File.id)
                    .join(Package, Package.id == File.package_id)
                    .join(FileLabel, FileLabel.file_id == File.id)
                    .join(Label, Label.id == FileLabel.label_id)
                    .where(
                        Label.owner_id == owner.id,
                        Label.name == located.key.label,
                        readable_files(actor),
                    )
                )
            )
        )
    )


def readable_private_packages(
    session: Session, actor: Actor, owner_id: int, label: str
) -> frozenset[int]:
    """Ids of the owner's private packages the actor may read on ``label``."""
    if actor.anonymous or actor.cap < Level.READ:
        return frozenset()
    if actor.token_label is not None and actor.token_label != label:
        return frozenset()  # a token limited to a label reads private files only there
    return frozenset(
        session.scalars(
            select(Package.id).where(
                Package.owner_id == owner_id, Package.public == false(), visible_packages(actor)
            )
        )
    )


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
    file_id: int | None = None


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
        .where(
            File.filename == filename,
            File.subdir == key.subdir,
            File.distribution_type == "conda",
            Package.owner_id == key.owner_id,
            Label.owner_id == key.owner_id,
            Label.name == key.label,
        )
    ).all()
    for file, package, blob_key in rows:
        if _package_readable(session, actor, package, key.label):
            return StoredFile(
                blob_key,
                file.size,
                file.sha256,
                file.filename,
                file.upload_time,
                package.public,
                file.id,
            )
    raise NotFound("No such file in this channel.")


def shard(session: Session, actor: Actor, located: Located, digest: str) -> tuple[bytes, bool]:
    """A stored shard of the index and whether its package is public; 404 otherwise."""
    if located.index_id is None:
        raise NotFound("No such shard.")
    found = shards.find(session, located.index_id, digest)
    if found is None:
        raise NotFound("No such shard.")
    data, package_key = found
    package = session.scalar(
        select(Package).where(
            Package.owner_id == located.key.owner_id, Package.name_key == package_key
        )
    )
    if package is None or not _package_readable(session, actor, package, located.key.label):
        raise NotFound("No such shard.")
    return data, package.public
