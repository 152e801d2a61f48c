"""in-app notifications: notification (one row per outbox message and user, with its read state)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 03:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

UTC = engine.persistence.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'notification',
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('message_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('created', UTC(), nullable=False),
        sa.Column('read_at', UTC(), nullable=True),
        sa.PrimaryKeyConstraint('user_id', 'message_id', name=op.f('pk_notification')),
    )
    op.create_index(op.f('ix_notification_message_id'), 'notification', ['message_id'], unique=False)
    op.create_index('ix_notification_user_read', 'notification', ['user_id', 'read_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notification_user_read', table_name='notification')
    op.drop_index(op.f('ix_notification_message_id'), table_name='notification')
    op.drop_table('notification')
