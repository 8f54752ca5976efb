"""search: trigram GIN indexes for package search, on PostgreSQL only

Revision ID: 0010_search_index
Revises: 0009_hub
Create Date: 2026-12-05 01:40:00

Search (``services/search.py``) matches ``name_key LIKE '%q%' OR lower(summary) LIKE
'%q%'``; no B-tree can seek a substring, so PostgreSQL scanned every package. pg_trgm's GIN
indexes (``gin_trgm_ops``) answer both patterns for queries of three characters or more, and
the planner ORs the two bitmaps. pg_trgm ships with PostgreSQL (``postgresql-contrib``) and
is a trusted extension since PostgreSQL 13: the owner of the database may create it. When it
cannot be created (not installed, or not permitted), the migration says so and goes on
without the indexes: search still answers the same, by scanning. An administrator can add
them later with the statements in ``MANUAL``. SQLite keeps its covering index (0004).
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import exc, text

from jupyter_repo.repository import db

revision = "0010_search_index"
down_revision = "0009_hub"
branch_labels = None
depends_on = None

# Its own logger: one created before the application configured logging may be disabled.
log = logging.getLogger("jupyter_repo.migrations")

INDEXES = {
    "ix_packages_name_key_trgm": "name_key gin_trgm_ops",
    "ix_packages_summary_trgm": "lower(summary) gin_trgm_ops",
}

MANUAL = "; ".join(
    ["CREATE EXTENSION IF NOT EXISTS pg_trgm"]
    + [
        f"CREATE INDEX IF NOT EXISTS {name} ON packages USING gin ({expression})"
        for name, expression in INDEXES.items()
    ]
)


def _trigram_extension() -> bool:
    """Whether pg_trgm is (or could be made) available; in a savepoint, so that a refusal
    leaves the migration's transaction usable."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except exc.DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        log.warning(
            "pg_trgm could not be created (%s): package search will scan the packages "
            "table instead of using an index. A database superuser can add the indexes "
            "later: %s",
            reason,
            MANUAL,
        )
        return False
    return True


def upgrade() -> None:
    if not db.on_dialect(op.get_bind(), "postgresql") or not _trigram_extension():
        return
    for name, expression in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON packages USING gin ({expression})")


def downgrade() -> None:
    if db.on_dialect(op.get_bind(), "postgresql"):
        for name in INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        # The extension stays: other databases' objects (or an administrator's) may use it.
