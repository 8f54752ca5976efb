"""yank: a file can be yanked (PEP 592), with an optional reason

Revision ID: 0007_yank
Revises: 0006_conda_channel
Create Date: 2026-12-04 19:00:00

A yanked file stays stored and downloadable; PyPI indexes mark it ``yanked`` (installers
skip it unless pinned exactly) and conda indexes list it under ``removed`` instead of
``packages``. ``yanked_at`` is ``NULL`` for a file that is not yanked.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jupyter_repo.repository.models import UTCDateTime

revision = '0007_yank'
down_revision = '0006_conda_channel'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('yanked_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('yanked_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.drop_column('yanked_reason')
        batch_op.drop_column('yanked_at')
