"""hub: accounts signed in from outside (JupyterHub, OAuth 2), tokens that say where they came from

Revision ID: 0009_hub
Revises: 0008_mirrors
Create Date: 2026-12-04 22:10:00

``accounts.auth_source`` is ``NULL`` for local accounts (a password, set by an
administrator) and names the identity provider for accounts created at a first sign-in
(``jupyterhub``, ``oauth:<name>``): a provider signs in only the accounts it created, never
a local account of the same name. ``tokens.origin`` is ``NULL`` for tokens a user made and
``jupyterhub`` for those a single-user server obtained on its own (shown on the tokens page).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009_hub'
down_revision = '0008_mirrors'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auth_source', sa.String(length=64), nullable=True))
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_column('origin')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('auth_source')
