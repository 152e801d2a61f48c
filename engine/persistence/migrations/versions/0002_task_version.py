"""task rows carry a version for optimistic locking

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 18:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('task') as batch:
        batch.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))


def downgrade() -> None:
    with op.batch_alter_table('task') as batch:
        batch.drop_column('version')
