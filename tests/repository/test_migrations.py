"""The Alembic migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from jupyter_repo.repository import db
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.models import Base
from tests.support import processes


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
