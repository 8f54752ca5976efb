"""mirrors: upstream conda channels and PyPI indexes a namespace copies or proxies

Revision ID: 0008_mirrors
Revises: 0007_yank
Create Date: 2026-12-04 22:30:00

``mirrors`` names an upstream per namespace (its filters in ``config``, what the last sync
left in ``state``); ``upstream_documents`` keeps an upstream's index documents as last
fetched (validators and a blob), for conditional re-syncs and for proxies that must keep
answering when the upstream is down. ``files.origin_mirror_id``/``origin_url`` mark a file
copied from an upstream; files uploaded here keep ``NULL``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jupyter_repo.repository.models import UTCDateTime

revision = '0008_mirrors'
down_revision = '0007_yank'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'mirrors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('mode', sa.String(length=8), nullable=False),
        sa.Column('upstream_url', sa.String(length=1000), nullable=False),
        sa.Column('label', sa.String(length=128), nullable=False),
        sa.Column('config', sa.JSON(), nullable=False),
        sa.Column('state', sa.JSON(), nullable=False),
        sa.Column('schedule_seconds', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_sync_at', UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('claimed_until', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['owner_id'],
            ['accounts.id'],
            name=op.f('fk_mirrors_owner_id_accounts'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mirrors')),
        sa.UniqueConstraint('owner_id', 'name', name=op.f('uq_mirrors_owner_id')),
    )
    op.create_table(
        'upstream_documents',
        sa.Column('mirror_id', sa.Integer(), nullable=False),
        sa.Column('path', sa.String(length=500), nullable=False),
        sa.Column('etag', sa.String(length=300), nullable=True),
        sa.Column('last_modified', sa.String(length=100), nullable=True),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('blob_id', sa.String(length=40), nullable=True),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('fetched_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['blob_id'], ['blobs.id'], name=op.f('fk_upstream_documents_blob_id_blobs')
        ),
        sa.ForeignKeyConstraint(
            ['mirror_id'],
            ['mirrors.id'],
            name=op.f('fk_upstream_documents_mirror_id_mirrors'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('mirror_id', 'path', name=op.f('pk_upstream_documents')),
    )
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_mirror_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('origin_url', sa.String(length=1000), nullable=True))
        batch_op.create_index(
            batch_op.f('ix_files_origin_mirror_id'), ['origin_mirror_id'], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_files_origin_mirror_id_mirrors'),
            'mirrors',
            ['origin_mirror_id'],
            ['id'],
            ondelete='SET NULL',
        )


def downgrade() -> None:
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_files_origin_mirror_id_mirrors'), type_='foreignkey'
        )
        batch_op.drop_index(batch_op.f('ix_files_origin_mirror_id'))
        batch_op.drop_column('origin_url')
        batch_op.drop_column('origin_mirror_id')
    op.drop_table('upstream_documents')
    op.drop_table('mirrors')
