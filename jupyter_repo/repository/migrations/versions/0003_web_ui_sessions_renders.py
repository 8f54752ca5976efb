"""web UI: browser sessions, cached renderings, packages by modification time

Revision ID: 0003_web_ui
Revises: 0002_channel_indexes
Create Date: 2026-11-23 20:40:55.615867
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import jupyter_repo.repository.models


revision = '0003_web_ui'
down_revision = '0002_channel_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('render_cache',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('renderer', sa.String(length=100), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', jupyter_repo.repository.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', 'renderer', name=op.f('pk_render_cache'))
    )
    op.create_table('web_sessions',
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', jupyter_repo.repository.models.UTCDateTime(), nullable=False),
    sa.Column('expires_at', jupyter_repo.repository.models.UTCDateTime(), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['accounts.id'], name=op.f('fk_web_sessions_user_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('secret_hash', name=op.f('pk_web_sessions'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('packages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_packages_modified_at'), ['modified_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('packages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_packages_modified_at'))

    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))
        batch_op.drop_index(batch_op.f('ix_web_sessions_expires_at'))

    op.drop_table('web_sessions')
    op.drop_table('render_cache')
