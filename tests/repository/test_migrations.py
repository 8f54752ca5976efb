"""The Alembic migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from jupyter_repo.repository import db
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.models import Base
from jupyter_repo.repository.permissions import ANONYMOUS
from jupyter_repo.repository.services import search
from tests.support import processes
from tests.support.services import PostgreSQL


def test_migrate_command_builds_exactly_the_models(database_url: str, tmp_path: Path) -> None:
    result = processes.run(
        [sys.executable, "-m", "jupyter_repo", "migrate", f"--db-url={database_url}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config")},
    )
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout and "(was empty)" in result.stdout
    repo = Repository(db_url=database_url, auto_migrate=False)
    try:
        with repo.database.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_object": db.include_object(connection.dialect.name)}
            )
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
        head = db.current_revision(repo.database)
        again = processes.run(
            [sys.executable, "-m", "jupyter_repo", "migrate", f"--db-url={database_url}"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config")},
        )
        assert again.returncode == 0 and f"(was {head})" in again.stdout
    finally:
        repo.close()


TRIGRAM_INDEXES = {"ix_packages_name_key_trgm", "ix_packages_summary_trgm"}


def _package_indexes(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        return {index["name"] for index in inspect(engine).get_indexes("packages")} | (
            _expression_indexes(engine) if engine.dialect.name == "postgresql" else set()
        )
    finally:
        engine.dispose()


def _expression_indexes(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(
            connection.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'packages'")
            ).scalars()
        )


def test_search_index_migration_upgrades_and_downgrades(database_url: str) -> None:
    """0010 adds the trigram indexes on PostgreSQL only (SQLite keeps 0004's covering
    index), removes them on the way down and adds them again."""
    repo = Repository(db_url=database_url)
    repo.migrate()
    repo.close()
    config = db.alembic_config(database_url)
    expected = TRIGRAM_INDEXES if database_url.startswith("postgresql") else set()
    assert _package_indexes(database_url) & TRIGRAM_INDEXES == expected
    assert "ix_packages_search" in _package_indexes(database_url) or expected
    command.downgrade(config, "0009_hub")
    assert _package_indexes(database_url) & TRIGRAM_INDEXES == set()
    command.upgrade(config, "head")
    assert _package_indexes(database_url) & TRIGRAM_INDEXES == expected


def test_search_index_migration_without_pg_trgm_rights_says_so(
    postgres: PostgreSQL, tmp_path: Path
) -> None:
    """A role that may not create extensions still migrates (search scans, the same results),
    and ``jupyter repo migrate`` says what a superuser can run to add the indexes."""
    name = f"limited_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres.create_database(name), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE ROLE {name} LOGIN"))
            connection.execute(text(f"GRANT CONNECT ON DATABASE {name} TO {name}"))
            connection.execute(text(f"GRANT USAGE, CREATE ON SCHEMA public TO {name}"))
    finally:
        admin.dispose()
    url = postgres.url(name).replace("postgres@", f"{name}@")
    result = processes.run(
        [sys.executable, "-m", "jupyter_repo", "migrate", f"--db-url={url}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config")},
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "pg_trgm could not be created" in output, output
    assert "CREATE EXTENSION IF NOT EXISTS pg_trgm" in output
    assert _package_indexes(url) & TRIGRAM_INDEXES == set()
    repo = Repository(db_url=url, auto_migrate=False)
    try:
        assert db.current_revision(repo.database) == "0010_search_index"
        page = repo.call(lambda s: search.search(s, ANONYMOUS, "anything"))
        assert (page.packages, page.total) == ([], 0)
    finally:
        repo.close()
