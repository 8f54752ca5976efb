"""Database engine and sessions.

SQLite (the embedded default) gets WAL mode, a busy timeout and ``BEGIN IMMEDIATE`` for
writing transactions, so that concurrent uploads queue instead of failing with
"database is locked". Read-only sessions use plain deferred transactions and never block
one another. PostgreSQL needs none of this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Engine, Result
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.schema import SchemaItem

if TYPE_CHECKING:  # alembic is imported when migrating only
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


# Both pools hand out the connection returned last (``pool_use_lifo``): a FIFO pool cycles
# every request through all of its connections, and each SQLite connection fills its own page
# cache (2 MiB) as the database grows, so a server's memory kept creeping up (the soak's
# second half). LIFO keeps as many connections warm as requests run at once.
def make_engine(
    url: str, *, pool_size: int = 16, echo: bool = False, sqlite_begin: str = "DEFERRED"
) -> Engine:
    """Create the engine for ``url`` with the settings its dialect needs."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 60},
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_use_lifo=True,
        )
        _configure_sqlite(engine, sqlite_begin)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_use_lifo=True,
    )


def _configure_sqlite(engine: Engine, begin_mode: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(f"BEGIN {begin_mode}")


@contextmanager
def scope(session: Session, *, commit: bool) -> Iterator[Session]:
    """``session`` for one block: committed at its end when ``commit``, rolled back when it
    raises, closed in any case."""
    try:
        yield session
        if commit:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class Database:
    """Engines plus session factories for reading and for writing.

    On SQLite the writing engine starts every transaction with ``BEGIN IMMEDIATE`` so that
    writers queue on the busy timeout instead of dead-locking on a lock upgrade.
    """

    def __init__(self, url: str, *, pool_size: int = 16, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = make_engine(url, pool_size=pool_size, echo=echo)
        self.write_engine = (
            make_engine(url, pool_size=4, echo=echo, sqlite_begin="IMMEDIATE")
            if self.is_sqlite
            else self.engine
        )
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)

    def session(self, *, write: bool = False) -> AbstractContextManager[Session]:
        """A session in one transaction; committed on success, rolled back on error."""
        # A read-only transaction simply ends when the session closes; no rollback, so
        # loaded objects stay usable after the block.
        return scope((self._write_sessions if write else self._read_sessions)(), commit=write)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()


def dialect_insert(
    session: Session,
) -> Callable[[type[Any]], postgresql.Insert] | Callable[[type[Any]], sqlite.Insert]:
    """The ``insert`` construct of the session's dialect, for ``ON CONFLICT`` clauses.

    Used where concurrent transactions may create the same row (a label, a release, an
    index's state): on PostgreSQL they really run concurrently, on SQLite writers queue.
    """
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def affected_rows(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched: ``Session.execute`` is typed as giving a
    ``Result``, which for these statements is a ``CursorResult``."""
    assert isinstance(result, CursorResult)
    return result.rowcount or 0


def on_dialect(bind: Session | Connection | Engine, *names: str) -> bool:
    """Whether ``bind`` (a session, connection or engine) talks to one of the dialects
    ``names`` ("sqlite", "postgresql")."""
    if isinstance(bind, Session):
        bind = bind.get_bind()
    return bind.dialect.name in names


def include_object(
    dialect: str,
) -> Callable[[SchemaItem, str | None, str, bool, SchemaItem | None], bool]:
    """Alembic's ``include_object`` for comparing the models with a database of
    ``dialect``: leaves out the indexes the models create on another dialect only
    (``models.dialect_index``)."""

    def include(
        item: SchemaItem,
        _name: str | None,
        type_: str,
        reflected: bool,
        _compare_to: SchemaItem | None,
    ) -> bool:
        only_on = getattr(item, "info", {}).get("dialect") if type_ == "index" else None
        return reflected or only_on is None or only_on == dialect

    return include


def alembic_config(url: str) -> AlembicConfig:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (run once at start-up or by ``jupyter repo migrate``)."""
    from alembic import command

    config = alembic_config(database.url)
    with database.engine.begin() as connection:
        if not database.is_sqlite:
            # Several processes may start at once: one migrates, the others wait.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727110001)")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(database: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
