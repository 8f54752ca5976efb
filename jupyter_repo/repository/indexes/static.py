"""Public conda index documents published as files, for a front proxy (nginx) to serve.

With ``c.Repository.static_index_dir`` set, every server process keeps, under that folder,
the ANONYMOUS view of each conda index that anonymous callers may see, at the path of its
URL: ``conda/<login>/<subdir>/`` (label ``main``) and ``conda/<login>/label/<label>/<subdir>/``
hold ``repodata.json`` (and ``.gz`` for ``gzip_static``), ``repodata.json.zst``,
``repodata_shards.msgpack.zst`` and ``run_exports.json``. nginx answers requests without
credentials from these files (200 and 304 without Python) and passes everything else on.

Only what the anonymous caller gets may be a file; everything else must have NO file, so
that nginx passes the request to Python, which answers as it always does:

- a label that only private packages use (not found to outsiders), a proxy namespace, the
  owner ``t`` (its URLs look like path tokens): never written;
- a commit that touches an index *withdraws* its files before it commits
  (:func:`withdraw`, called by :meth:`Repository.transaction` inside the transaction, after
  the revisions are bumped): the files are deleted and a *pending* marker left in their
  folder; a label that no longer shows anything to everyone loses every subdir's files.
  From then until the files are rewritten, nginx passes requests to Python, which reads
  the database: so a package made private, deleted or yanked is never served from an old
  file after its commit, and a publish is visible at once.
- After the commit (and after a rollback) the marker is removed; the listener
  :meth:`StaticIndexes.on_changes` then rewrites the touched labels' files in the
  background. Any process of a multi-process deployment does the same for its commits,
  and :meth:`StaticIndexes.sweep` (at start-up and periodically) repairs the rest: files of
  revisions committed elsewhere (the admin commands), of crashed processes, of a namespace
  that became a proxy.

Writers and withdrawals of one folder are serialised by a lock file (``fcntl.flock``;
the folder must be on a local file system shared by the processes of one machine). A
writer prepares its files under temporary names, then, holding the lock, refuses to
publish while a live pending marker exists, re-reads the index's revision and the label's
visibility from the database (a read, which never waits for a writer's locks) and renames
its files into place only if its snapshot is at that revision. So a file never shows an
older revision than the database's, or a view the database no longer allows.

ETags: nginx's are ``mtime-size``. Each new revision's files get a modification time one
second past the previous one's at least (kept in the folder's ``.state``), so two
revisions never share an ETag even when their documents have the same size.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from jupyter_repo.repository import names
from jupyter_repo.repository.changes import Change
from jupyter_repo.repository.errors import InvalidInput
from jupyter_repo.repository.indexes.journal import IndexKey, key_of
from jupyter_repo.repository.models import Account, IndexState, Label, Mirror, MirrorMode

if TYPE_CHECKING:
    from logging import Logger

    from jupyter_repo.repository.core import Repository
    from jupyter_repo.repository.indexes.channels import ChannelIndexes

#: The documents of one index folder, in the order they are renamed into place.
DOCUMENTS = (
    "repodata.json.gz",
    "repodata.json.zst",
    "repodata_shards.msgpack.zst",
    "run_exports.json",
    "repodata.json",
)
PENDING_PREFIX = ".pending-"
TEMP_PREFIX = ".tmp-"
LOCK_NAME = ".lock"
STATE_NAME = ".state"
#: A pending marker older than this was left by a process that died between its withdrawal
#: and its commit (the marker lives from just before a commit to just after it).
PENDING_LIFETIME = 120.0


class StaticFolder:
    """The folder nginx serves: paths from validated names only, locks, atomic writes."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    # -- paths -----------------------------------------------------------------------------

    def label_dir(self, login: str, label: str) -> Path | None:
        """The folder of a channel's label, or ``None`` when nginx must never serve it."""
        try:
            login = names.login(login)
            label = names.label(label)
        except InvalidInput:
            return None
        if login == "t":  # /conda/t/<x>/... is a path token to the server
            return None
        parts = ["conda", login]
        if label != names.DEFAULT_LABEL:
            parts += ["label", label]
        return self._inside(self.root.joinpath(*parts))

    def index_dir(self, login: str, label: str, subdir: str) -> Path | None:
        """The folder of one index (``.../<subdir>``), or ``None`` (never served)."""
        base = self.label_dir(login, label)
        try:
            subdir = names.subdir(subdir)
        except InvalidInput:
            return None
        return None if base is None else self._inside(base / subdir)

    def _inside(self, path: Path) -> Path:
        if not path.resolve().is_relative_to(self.root):  # a link planted inside the folder
            raise InvalidInput(f"{path} is outside the static index folder.")
        return path

    def subdir_dirs(self, label_dir: Path) -> list[Path]:
        """The index folders on disk under a label's folder (``label/`` is not a subdir)."""
        if not label_dir.is_dir():
            return []
        return [
            path
            for path in sorted(label_dir.iterdir())
            if path.is_dir() and not path.is_symlink() and names.SUBDIR_RE.match(path.name)
        ]

    def index_dirs(self) -> Iterator[Path]:
        """Every index folder on disk (for the sweep)."""
        conda = self.root / "conda"
        if not conda.is_dir():
            return
        for owner in sorted(conda.iterdir()):
            if not owner.is_dir() or owner.is_symlink():
                continue
            yield from self.subdir_dirs(owner)
            labels = owner / "label"
            if labels.is_dir() and not labels.is_symlink():
                for label in sorted(labels.iterdir()):
                    if label.is_dir() and not label.is_symlink():
                        yield from self.subdir_dirs(label)

    # -- locking ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, directory: Path) -> Iterator[None]:
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / LOCK_NAME, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def pending(directory: Path) -> bool:
        """Does a commit that touches this index run right now (a live marker)?"""
        now = time.time()
        for path in directory.glob(PENDING_PREFIX + "*"):
            with contextlib.suppress(FileNotFoundError):
                if now - path.stat().st_mtime < PENDING_LIFETIME:
                    return True
                path.unlink()  # left by a process that died mid-commit
        return False

    # -- withdrawing -----------------------------------------------------------------------

    def withdraw(self, directory: Path, marker: str | None = None) -> None:
        """Delete an index's files (nginx then passes its requests on), leaving ``marker``
        as a pending marker when given (removed by :meth:`release`)."""
        if not directory.is_dir() and marker is None:
            return
        with self.locked(directory):
            if marker is not None:
                (directory / (PENDING_PREFIX + marker)).touch()
            for name in DOCUMENTS:
                with contextlib.suppress(FileNotFoundError):
                    (directory / name).unlink()

    def release(self, directory: Path, marker: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (directory / (PENDING_PREFIX + marker)).unlink()

    # -- publishing ------------------------------------------------------------------------

    def state(self, directory: Path) -> dict[str, int]:
        try:
            found = json.loads((directory / STATE_NAME).read_text())
            return {"revision": int(found["revision"]), "mtime": int(found["mtime"])}
        except (OSError, ValueError, KeyError, TypeError):
            return {"revision": -1, "mtime": 0}

    def is_current(self, directory: Path, revision: int) -> bool:
        """Are the files of ``revision`` in place (nothing to write)?"""
        return self.state(directory)["revision"] == revision and all(
            (directory / name).is_file() for name in DOCUMENTS
        )

    def publish(
        self,
        directory: Path,
        revision: int,
        changed_at_ms: int,
        documents: dict[str, Sequence[bytes]],
        checker: Callable[[], AbstractContextManager[Callable[[], bool]]],
    ) -> bool:
        """Put ``documents`` of ``revision`` in place, atomically per file, unless a commit
        is pending or the check says the database moved on.

        ``checker()`` is entered before the lock is taken and gives the check, asked under
        the lock: so its database connection is held before the lock (a withdrawal waiting
        for the lock holds one of the pool's connections and a row lock; the check must
        never wait for the pool while holding the folder's lock)."""
        directory.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        temps: dict[str, Path] = {}
        try:
            for name in DOCUMENTS:
                temp = directory / f"{TEMP_PREFIX}{token}-{name}"
                with open(temp, "wb") as out:
                    for piece in documents[name]:
                        out.write(piece)
                temps[name] = temp
            with checker() as still_valid, self.locked(directory):
                if self.pending(directory) or not still_valid():
                    return False
                state = self.state(directory)
                if state["revision"] == revision and self.is_current(directory, revision):
                    return False
                mtime = changed_at_ms // 1000
                if state["revision"] == revision:
                    mtime = state["mtime"]  # the same documents again: the same ETags
                elif state["mtime"]:
                    mtime = max(mtime, state["mtime"] + 1)
                for name in DOCUMENTS:
                    os.utime(temps[name], (mtime, mtime))
                    os.replace(temps.pop(name), directory / name)
                self._write_state(directory, revision, mtime)
                return True
        finally:
            for temp in temps.values():
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()

    @staticmethod
    def remove_old_temps(directory: Path, older_than: float = 3600.0) -> None:
        """Temporary files a process that died while writing left behind."""
        now = time.time()
        for path in directory.glob(TEMP_PREFIX + "*"):
            with contextlib.suppress(FileNotFoundError):
                if now - path.stat().st_mtime > older_than:
                    path.unlink()

    def _write_state(self, directory: Path, revision: int, mtime: int) -> None:
        temp = directory / f"{TEMP_PREFIX}{uuid.uuid4().hex}-state"
        temp.write_text(json.dumps({"revision": revision, "mtime": mtime}))
        os.replace(temp, directory / STATE_NAME)


def always(answer: bool) -> Callable[[], AbstractContextManager[Callable[[], bool]]]:
    """A checker for :meth:`StaticFolder.publish` that needs no database (tests, tools)."""
    return lambda: contextlib.nullcontext(lambda: answer)


# -- what anonymous callers may see ---------------------------------------------------------


@dataclass(frozen=True)
class PublicIndex:
    """An index as the anonymous caller finds it now (``None`` from :func:`public_index`:
    not found to them, or not ours to serve)."""

    login: str
    revision: int
    changed_at_ms: int


def _proxy_owner_ids(session: Session) -> set[int]:
    return set(
        session.scalars(select(Mirror.owner_id).where(Mirror.mode == MirrorMode.PROXY)).all()
    )


def _label_public(session: Session, owner_id: int, label: str) -> bool:
    if label == names.DEFAULT_LABEL:
        return True
    return bool(
        session.scalar(
            select(Label.has_public_files).where(Label.owner_id == owner_id, Label.name == label)
        )
    )


def public_index(session: Session, key: IndexKey) -> PublicIndex | None:
    """What the anonymous caller may see of a conda index, right now."""
    if key.kind != "conda" or key.owner_id in _proxy_owner_ids(session):
        return None
    login = session.scalar(select(Account.login).where(Account.id == key.owner_id))
    if login is None or not _label_public(session, key.owner_id, key.label):
        return None
    row = session.execute(
        select(IndexState.revision, IndexState.changed_at_ms).where(
            IndexState.owner_id == key.owner_id,
            IndexState.kind == "conda",
            IndexState.label == key.label,
            IndexState.subdir == key.subdir,
        )
    ).first()
    if row is None:
        return None
    return PublicIndex(login, row[0], row[1])


# -- before a commit ------------------------------------------------------------------------


class Withdrawal:
    """The pending markers one transaction left; released after its commit or rollback."""

    def __init__(self, folder: StaticFolder, marker: str, directories: list[Path]) -> None:
        self.folder = folder
        self.marker = marker
        self.directories = directories

    def release(self) -> None:
        for directory in self.directories:
            self.folder.release(directory, self.marker)


def withdraw(folder: StaticFolder, session: Session, found: Iterable[Change]) -> Withdrawal:
    """Inside a transaction, just before it commits: withdraw the files of every conda index
    it touched, and every subdir's of a label that no longer shows anything to everyone."""
    marker = uuid.uuid4().hex
    touched: dict[tuple[int, str], set[str]] = {}
    for change in found:
        key = key_of(change)
        if key is not None and key.kind == "conda":
            touched.setdefault((key.owner_id, key.label), set()).add(key.subdir)
    withdrawn: list[Path] = []
    for (owner_id, label), subdirs in sorted(touched.items()):
        login = session.scalar(select(Account.login).where(Account.id == owner_id))
        base = folder.label_dir(login, label) if login else None
        if base is None:
            continue
        for subdir in sorted(subdirs):
            directory = folder.index_dir(login or "", label, subdir)
            if directory is not None:
                folder.withdraw(directory, marker)
                withdrawn.append(directory)
        if not _label_public(session, owner_id, label):
            for directory in folder.subdir_dirs(base):
                folder.withdraw(directory, marker)
                withdrawn.append(directory)
    return Withdrawal(folder, marker, withdrawn)


# -- after commits: the writer ---------------------------------------------------------------


class StaticIndexes:
    """Keeps the folder current for this process's commits, and sweeps for the rest."""

    def __init__(
        self, repository: Repository, indexes: ChannelIndexes, folder: StaticFolder, log: Logger
    ) -> None:
        self.repository = repository
        self.indexes = indexes
        self.folder = folder
        self.log = log
        self._sweeping = threading.Lock()

    def on_changes(self, found: set[Change]) -> None:
        """Repository listener: rewrite the touched labels' indexes in the background."""
        labels = {
            (key.owner_id, key.label)
            for key in map(key_of, found)
            if key is not None and key.kind == "conda"
        }
        if labels:
            self.indexes.executor.submit(self._publish_labels, sorted(labels))

    def _publish_labels(self, labels: list[tuple[int, str]]) -> None:
        with self.repository.transaction() as session:
            keys = [
                IndexKey(owner_id, "conda", label, subdir)
                for owner_id, label in labels
                for subdir in session.scalars(
                    select(IndexState.subdir).where(
                        IndexState.owner_id == owner_id,
                        IndexState.kind == "conda",
                        IndexState.label == label,
                    )
                )
            ]
        for key in keys:
            self.publish(key)

    def publish(self, key: IndexKey) -> bool:
        """Write the anonymous view of ``key`` if anonymous callers may see it (blocking)."""
        try:
            return self._publish(key)
        except Exception:  # the files stay withdrawn: Python answers; the sweep retries
            self.log.exception("publishing the static files of %s failed", key)
            return False

    def _check(self, key: IndexKey) -> PublicIndex | None:
        with self.repository.transaction() as session:
            return public_index(session, key)

    def _publish(self, key: IndexKey) -> bool:
        found = self._check(key)
        if found is None:
            return False
        directory = self.folder.index_dir(found.login, key.label, key.subdir)
        if directory is None or self.folder.is_current(directory, found.revision):
            return False
        snapshot = self.indexes.current(key, found.revision)
        view = snapshot.public
        documents: dict[str, Sequence[bytes]] = {
            "repodata.json": view.pieces,
            "repodata.json.gz": [view.gzip.get()],
            "repodata.json.zst": view.zst.get(),
            "repodata_shards.msgpack.zst": [view.shard_index.get()],
            "run_exports.json": [view.run_exports.get()],
        }

        @contextlib.contextmanager
        def checker() -> Iterator[Callable[[], bool]]:
            with self.repository.transaction() as session:
                # The connection now; the first query (a fresh snapshot) under the lock.
                session.connection()

                def still_valid() -> bool:
                    now = public_index(session, key)
                    return (
                        now is not None
                        and now.login == found.login
                        and now.revision == snapshot.revision
                    )

                yield still_valid

        return self.folder.publish(
            directory, snapshot.revision, view.changed_at_ms, documents, checker
        )

    def sweep(self, *, build: bool = True) -> None:
        """Withdraw every file anonymous callers may not see (or of an older revision), then
        (``build``) write what is missing. At start-up and periodically (blocking)."""
        if not self._sweeping.acquire(blocking=False):
            return
        try:
            with self.repository.transaction() as session:
                proxies = _proxy_owner_ids(session)
                rows = session.execute(
                    select(
                        IndexState.owner_id,
                        IndexState.label,
                        IndexState.subdir,
                        IndexState.revision,
                        Account.login,
                    )
                    .join(Account, Account.id == IndexState.owner_id)
                    .where(IndexState.kind == "conda")
                ).all()
                public_labels = {
                    (owner_id, name)
                    for owner_id, name, shown in session.execute(
                        select(Label.owner_id, Label.name, Label.has_public_files)
                    )
                    if shown or name == names.DEFAULT_LABEL
                }
                wanted: dict[Path, tuple[IndexKey, int]] = {}
                for owner_id, label, subdir, revision, login in rows:
                    if owner_id in proxies or not (
                        label == names.DEFAULT_LABEL or (owner_id, label) in public_labels
                    ):
                        continue
                    directory = self.folder.index_dir(login, label, subdir)
                    if directory is not None:
                        wanted[directory] = (IndexKey(owner_id, "conda", label, subdir), revision)
            for directory in list(self.folder.index_dirs()):
                self.folder.remove_old_temps(directory)
                entry = wanted.get(directory)
                if entry is None or self.folder.state(directory)["revision"] != entry[1]:
                    self.folder.withdraw(directory)  # not public, or an older revision
            if build:
                for directory, (key, revision) in wanted.items():
                    if not self.folder.is_current(directory, revision):
                        self.publish(key)
        finally:
            self._sweeping.release()
