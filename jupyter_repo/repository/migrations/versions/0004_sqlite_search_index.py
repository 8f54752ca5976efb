"""search: a covering index for package search, on SQLite only

Revision ID: 0004_search_index
Revises: 0003_web_ui
Create Date: 2026-12-03 07:00:00

Search matches substrings of names and summaries, which no B-tree index can seek. On SQLite
an index holding every column the search reads lets the scan skip the table rows, whose
descriptions (often kilobytes) lie before ``public`` and ``owner_id`` and spill into
overflow pages. PostgreSQL gets nothing (see ``models.Package``).
"""

from __future__ import annotations

from alembic import op

from jupyter_repo.repository import db

revision = '0004_search_index'
down_revision = '0003_web_ui'
branch_labels = None
depends_on = None

COLUMNS = ['name_key', 'summary', 'public', 'owner_id']


def upgrade() -> None:
    if db.on_dialect(op.get_bind(), 'sqlite'):
        op.create_index('ix_packages_search', 'packages', COLUMNS, unique=False)


def downgrade() -> None:
    if db.on_dialect(op.get_bind(), 'sqlite'):
        op.drop_index('ix_packages_search', table_name='packages')
