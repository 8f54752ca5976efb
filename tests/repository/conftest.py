"""In-process unit tests on a real database whose every change is rolled back after each test.

Each database (a SQLite file, and a PostgreSQL database on the suite's throwaway cluster) is
migrated once per session. A test gets one connection inside an outer transaction; every
transaction the code under test opens (``Repository.transaction``: services, index builds,
shard publishing) is a savepoint of it (SQLAlchemy's "join a session into an external
transaction" recipe), so commits, rollbacks and ``begin_nested`` behave as in production,
and the outer rollback leaves the database empty for the next test. Rows are created through
the services, with real package files: nothing is inserted behind their back.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from jupyter_repo.demo import builders
from jupyter_repo.repository import db
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.indexes import lookup
from jupyter_repo.repository.indexes.channels import ChannelIndexes
from jupyter_repo.repository.indexes.journal import IndexKey
from jupyter_repo.repository.indexes.snapshots import ChannelView
from jupyter_repo.repository.permissions import ANONYMOUS, Actor
from jupyter_repo.repository.services import accounts, tokens, uploads


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated, empty database of each kind (one per session)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('unit-db') / 'repo.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database(f"unit_{uuid.uuid4().hex[:8]}")
    database = db.Database(url, pool_size=2)
    db.upgrade(database)
    database.dispose()
    engine = db.make_engine(url, pool_size=2)
    yield engine
    engine.dispose()


class RolledBackDatabase:
    """Stands in for :class:`db.Database`: every session is a savepoint on one connection.

    Sessions are handed out one at a time (a lock), so the index threads' transactions take
    turns with the test's on the single connection, as they would queue on SQLite.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.url = str(connection.engine.url)
        self.is_sqlite = connection.dialect.name == "sqlite"
        self._lock = threading.RLock()

    @property
    def engine(self) -> Any:
        raise AssertionError("unit tests use sessions, not the engine")

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        session = Session(
            bind=self.connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        # Committing releases the savepoint; the outer transaction stays.
        with self._lock, db.scope(session, commit=True):
            yield session

    def dispose(self) -> None:
        pass


class UnitRepository(Repository):
    """A :class:`Repository` on a :class:`RolledBackDatabase` (storage in a temp folder)."""

    def __init__(self, database: RolledBackDatabase, **kwargs: Any) -> None:
        super().__init__(auto_migrate=False, **kwargs)
        self._rolled_back = database

    @property  # type: ignore[override]
    def database(self) -> RolledBackDatabase:  # type: ignore[override]
        return self._rolled_back


@pytest.fixture
def repo(engine: Engine, tmp_path: Path) -> Iterator[UnitRepository]:
    connection = engine.connect()
    outer = connection.begin()
    repository = UnitRepository(RolledBackDatabase(connection), data_dir=str(tmp_path))
    try:
        yield repository
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture(scope="session")
def package_files(tmp_path_factory: pytest.TempPathFactory) -> PackageFiles:
    return PackageFiles(tmp_path_factory.mktemp("unit-packages"))


@dataclass
class PackageFiles:
    """Real conda package files, built once per session and reused by every test."""

    root: Path

    def conda(
        self,
        name: str,
        version: str,
        subdir: str = "noarch",
        *,
        build: str = "0",
        fmt: str = ".conda",
        depends: tuple[str, ...] = (),
    ) -> Path:
        directory = self.root / f"{name}-{version}-{build}-{subdir}-{'-'.join(depends)}"
        path = directory / f"{name}-{version}-{build}{fmt}"
        if not path.exists():
            builders.conda_package(
                directory, name, version, subdir=subdir, build=build, fmt=fmt, depends=depends
            )
        return path


@dataclass
class World:
    """Accounts, files and channel documents, all through the repository's own services."""

    repo: UnitRepository
    files: PackageFiles

    def user(self, login: str) -> Actor:
        self.repo.call(accounts.create_user, login, None, write=True)
        return self.actor(login)

    def actor(self, login: str) -> Actor:
        return self.repo.call(lambda s: accounts.password_actor(accounts.get_user(s, login)))

    def token_actor(self, login: str, **limits: Any) -> Actor:
        """The actor of a new token of ``login`` (``label=``, ``package=``, ``scopes=``)."""
        limits.setdefault("scopes", ["all"])
        _row, secret = self.repo.call(
            tokens.create_token,
            self.actor(login),
            name=f"unit-{uuid.uuid4().hex[:6]}",
            write=True,
            **limits,
        )
        return self.repo.call(tokens.resolve, secret)

    def owner_id(self, login: str) -> int:
        return self.repo.call(lambda s: accounts.get_account(s, login).id)

    def conda(
        self,
        actor: Actor,
        name: str,
        version: str,
        subdir: str = "noarch",
        *,
        labels: tuple[str, ...] = (),
        public: bool = True,
        build: str = "0",
        fmt: str = ".conda",
        owner: str | None = None,
        depends: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Upload a real conda file (``uploads.ingest_local_file``, what the demo uses)."""
        path = self.files.conda(name, version, subdir, build=build, fmt=fmt, depends=depends)
        return uploads.ingest_local_file(
            self.repo,
            actor,
            owner or str(actor.login),
            name,
            version,
            f"{subdir}/{path.name}",
            path,
            uploads.DirectOptions(labels=labels, public=public),
        )

    # -- the channel, as the channel handlers assemble it ---------------------------------

    @cached_property
    def indexes(self) -> ChannelIndexes:
        return ChannelIndexes(repository=self.repo, build_threads=1)

    def channel_view(
        self,
        owner: str,
        subdir: str,
        *,
        label: str | None = None,
        actor: Actor = ANONYMOUS,
        indexes: ChannelIndexes | None = None,
    ) -> ChannelView:
        """What ``actor`` gets for ``/conda/<owner>[/label/<label>]/<subdir>/``."""
        indexes = indexes or self.indexes

        def find(session: Session) -> tuple[lookup.Located, frozenset[int]]:
            located = lookup.locate_in(session, owner, label, "conda", subdir, actor=actor)
            return located, lookup.readable_private_packages(
                session, actor, located.key.owner_id, located.key.label
            )

        located, readable = self.repo.call(find)
        snapshot = indexes.current(located.key, located.revision)
        return indexes.view(snapshot, readable)

    def key(self, owner: str, subdir: str, label: str = "main") -> IndexKey:
        return IndexKey(self.owner_id(owner), "conda", label, subdir)

    def settle(self, indexes: ChannelIndexes | None = None) -> None:
        """Wait until the index thread stored what the builds so far made."""
        (indexes or self.indexes).executor.submit(lambda: None).result(timeout=60)

    def close(self) -> None:
        if "indexes" in self.__dict__:
            self.settle()
            self.indexes.close()


@pytest.fixture
def world(repo: UnitRepository, package_files: PackageFiles) -> Iterator[World]:
    instance = World(repo, package_files)
    try:
        yield instance
    finally:
        instance.close()
