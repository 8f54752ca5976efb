"""trust: one package per PEP 503 project name and owner; labels know if they show anything

Revision ID: 0005_trust
Revises: 0004_search_index
Create Date: 2026-12-04 12:30:00

Package names were unique per owner only case-insensitively, so ``sci-tools`` and
``sci_tools`` could be two packages answering the same PyPI project. Where an existing
database holds such pairs, the oldest package keeps the project name and every later one
gets a ``pypi_key`` no index asks for (``<key>--<id>``): nothing is deleted, the later
packages stay reachable by their own name, but no index lists them under the shared
project name any more.

``labels.has_public_files`` lets a channel URL answer "not found" for a label that only
private packages use, without scanning the label's files on every request.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_trust'
down_revision = '0004_search_index'
branch_labels = None
depends_on = None


def _separate_shared_project_names() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        'SELECT id, owner_id, pypi_key FROM packages ORDER BY owner_id, pypi_key, id'
    )).all()
    seen: set[tuple[int, str]] = set()
    for package_id, owner_id, key in rows:
        if (owner_id, key) in seen:
            bind.execute(sa.text('UPDATE packages SET pypi_key = :key WHERE id = :id'),
                         {'key': f'{key}--{package_id}'[:128], 'id': package_id})
        else:
            seen.add((owner_id, key))


def upgrade() -> None:
    _separate_shared_project_names()
    with op.batch_alter_table('packages', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_packages_owner_pypi_key', ['owner_id', 'pypi_key'])
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('has_public_files', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.execute(
        'UPDATE labels SET has_public_files = EXISTS ('
        ' SELECT 1 FROM file_labels JOIN files ON files.id = file_labels.file_id'
        ' JOIN packages ON packages.id = files.package_id'
        ' WHERE file_labels.label_id = labels.id AND packages.public)'
    )


def downgrade() -> None:
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_column('has_public_files')
    with op.batch_alter_table('packages', schema=None) as batch_op:
        batch_op.drop_constraint('uq_packages_owner_pypi_key', type_='unique')
