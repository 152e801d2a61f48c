"""job lease: lock_owner and lock_expires, so a worker acquires due jobs for a bounded time

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('job') as batch:
        batch.add_column(sa.Column('lock_owner', sa.String(length=128), nullable=True))
        batch.add_column(sa.Column('lock_expires', engine.persistence.base.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('job') as batch:
        batch.drop_column('lock_expires')
        batch.drop_column('lock_owner')
