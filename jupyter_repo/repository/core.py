"""The :class:`Repository`: configuration, database, storage and transactions in one place.

Every front end (the Tornado server, the admin commands, the demo bootstrap, the Jupyter
extension's embedded server in tests) builds one Repository and calls services through
:meth:`Repository.read` or :meth:`Repository.write`, which run them in one transaction and
announce committed index changes to listeners.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from jupyter_core.paths import jupyter_data_dir
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from traitlets import Bool, Float, Integer, Type, Unicode, default
from traitlets.config import LoggingConfigurable

from jupyter_repo.repository import changes, db, label_visibility
from jupyter_repo.repository.download_counts import DownloadCounter
from jupyter_repo.repository.errors import Conflict
from jupyter_repo.repository.indexes import journal, static
from jupyter_repo.repository.indexes.static import StaticFolder
from jupyter_repo.repository.inspect import Limits
from jupyter_repo.repository.storage import BlobStore, LocalStore

if TYPE_CHECKING:  # the services import this module
    from jupyter_repo.repository.services.tokens import TokenPolicy

T = TypeVar("T")
P = ParamSpec("P")
ChangeListener = Callable[[set[changes.Change]], None]
_AFTER_COMMIT = "jupyter_repo.after_commit"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the session's transaction has committed (e.g. delete a blob)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


class Repository(LoggingConfigurable):
    """The repository's configuration and resources."""

    data_dir = Unicode(help="Folder for the embedded database and blobs.").tag(config=True)
    db_url = Unicode(
        help="SQLAlchemy database URL (default: SQLite in data_dir; "
        "postgresql+psycopg://... for the scaled-out setup)."
    ).tag(config=True)
    storage_class = Type(
        default_value=LocalStore, klass=BlobStore, help="Where file bytes are stored."
    ).tag(config=True)
    auto_migrate = Bool(True, help="Apply database migrations at start-up.").tag(config=True)
    max_upload_size = Integer(10 << 30, help="Largest accepted upload in bytes (413 above).").tag(
        config=True
    )
    max_inflate_size = Integer(
        2 << 30, help="Most bytes an uploaded archive may inflate to while it is inspected."
    ).tag(config=True)
    max_parse_size = Integer(
        64 << 20, help="Largest notebook or environment file parsed whole."
    ).tag(config=True)
    max_files_per_package = Integer(10_000, help="Most files one package may hold.").tag(
        config=True
    )
    stage_ttl = Integer(3600, help="Seconds a staged upload waits for its bytes.").tag(config=True)
    token_default_max_age = Integer(365 * 86400, help="Default token lifetime (s).").tag(
        config=True
    )
    token_max_age_limit = Integer(5 * 365 * 86400, help="Longest token lifetime (s).").tag(
        config=True
    )
    db_pool_size = Integer(16, help="Database connections per process.").tag(config=True)
    download_flush_interval = Float(
        10.0,
        help="Seconds between the writes of the download counts gathered in memory (one "
        "batched write per interval and process instead of one per download; at most this "
        "much counting is lost if the process is killed outright).",
    ).tag(config=True)
    static_index_dir = Unicode(
        "",
        help="Folder where the public (anonymous) view of every conda index is kept as "
        "files for a front proxy to serve (docs/deploy.md; indexes/static.py). Empty (the "
        "default): off. Every process and admin command sharing the database must have the "
        "same setting: a commit withdraws the files of the indexes it touches before it "
        "commits, so nginx never serves a view the database no longer allows.",
    ).tag(config=True)

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return os.path.join(jupyter_data_dir(), "repo")

    @default("db_url")
    def _default_db_url(self) -> str:
        return "sqlite:///" + os.path.join(self.data_dir, "repo.db")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listeners: list[ChangeListener] = []
        self._database: db.Database | None = None
        self._store: BlobStore | None = None
        self._download_counter: DownloadCounter | None = None
        self._static_folder: StaticFolder | None = None

    # -- resources -------------------------------------------------------------------------

    @property
    def database(self) -> db.Database:
        if self._database is None:
            if self.db_url.startswith("sqlite:///"):
                Path(self.db_url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
            self._database = db.Database(self.db_url, pool_size=self.db_pool_size)
        return self._database

    @property
    def store(self) -> BlobStore:
        if self._store is None:
            store = self.storage_class(parent=self)
            if not store.spool_dir:
                store.spool_dir = os.path.join(self.data_dir, "tmp")
            if isinstance(store, LocalStore) and not store.root:
                store.root = os.path.join(self.data_dir, "blobs")
            self._store = store
        return self._store

    @property
    def static_folder(self) -> StaticFolder | None:
        """The folder of public index files (``static_index_dir``), or ``None`` (off)."""
        if self._static_folder is None and self.static_index_dir:
            self._static_folder = StaticFolder(self.static_index_dir)
        return self._static_folder

    @property
    def limits(self) -> Limits:
        # One metadata member is read whole, so it may not inflate past the archive's limit.
        return Limits(
            max_inflate_bytes=self.max_inflate_size,
            max_member_bytes=min(Limits.max_member_bytes, self.max_inflate_size),
            max_parse_bytes=self.max_parse_size,
        )

    @property
    def token_policy(self) -> TokenPolicy:
        from jupyter_repo.repository.services.tokens import TokenPolicy

        return TokenPolicy(self.token_default_max_age, self.token_max_age_limit)

    @property
    def download_counter(self) -> DownloadCounter:
        if self._download_counter is None:
            self._download_counter = DownloadCounter(self.write, self.download_flush_interval)
        return self._download_counter

    def migrate(self) -> None:
        db.upgrade(self.database)

    def close(self) -> None:
        if self._download_counter is not None:
            self._download_counter.close()  # the counts gathered since the last write
        if self._database is not None:
            self._database.dispose()

    # -- transactions ----------------------------------------------------------------------

    def add_listener(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Session]:
        """One database transaction; committed index changes are announced afterwards.

        The revisions of the touched indexes are bumped inside the transaction (see
        ``indexes/journal.py``), so they commit atomically with the files they describe.
        """
        withdrawal: static.Withdrawal | None = None
        try:
            with self.database.session(write=write) as session:
                yield session
                found = changes.take(session) if write else set()
                if found:
                    label_visibility.refresh(session, found)
                    journal.record(session, found)
                    if self.static_folder is not None:
                        # Before the commit: nginx must not serve these files once it lands.
                        withdrawal = static.withdraw(self.static_folder, session, found)
                actions = session.info.pop(_AFTER_COMMIT, []) if write else []
        except IntegrityError as error:
            # Two writers raced for the same unique row (e.g. the same file uploaded twice
            # at once through two processes): the loser gets a clear 409, not a 500.
            raise Conflict(
                "A concurrent change to the same object won; reload and try again."
            ) from error
        finally:
            if withdrawal is not None:  # committed or rolled back: writers may write again
                withdrawal.release()
        for action in actions:
            try:
                action()
            except Exception:  # storage clean-up is best effort; the check repairs later
                self.log.exception("post-commit action failed")
        if found:
            for listener in self._listeners:
                listener(found)

    def read(
        self, function: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``function(session, *args, **kwargs)`` in one reading transaction (blocking)."""
        with self.transaction() as session:
            return function(session, *args, **kwargs)

    def write(
        self, function: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``function(session, *args, **kwargs)`` in one writing transaction (blocking)."""
        with self.transaction(write=True) as session:
            return function(session, *args, **kwargs)

    def call(self, function: Callable[..., T], *args: Any, write: bool = False, **kwargs: Any) -> T:
        """:meth:`write` if ``write`` else :meth:`read`, for callers that choose at run time
        (tests, scripts); the arguments are not checked against ``function``'s."""
        return (self.write if write else self.read)(function, *args, **kwargs)
