"""conda channel fields: what channeldata.json needs of each conda file, kept at upload

Revision ID: 0006_conda_channel
Revises: 0005_trust
Create Date: 2026-12-04 19:00:00

``files.conda_channel`` holds the keys conda-index copies into ``channeldata.json`` (about,
recipe source, prefix/activation/link-script flags, run_exports), read once from the package
at upload. Files stored before this revision keep ``NULL``: their channeldata entries are
built from what was stored (``info/index.json``, its run_exports and the package's summary,
home and URLs) and lack the flags and about-only fields until the file is uploaded again.
Reading every stored package back from the blob store is not a schema migration's job.

``conda_records.run_exports`` stores each file's member of ``run_exports.json`` beside its
serialised record, so that building that document joins stored bytes as repodata does. Rows
of the older record format keep ``NULL`` and are made again on the next build.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_conda_channel'
down_revision = '0005_trust'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conda_channel', sa.JSON(), nullable=True))
    with op.batch_alter_table('conda_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_exports', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conda_records', schema=None) as batch_op:
        batch_op.drop_column('run_exports')
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.drop_column('conda_channel')
