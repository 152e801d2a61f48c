"""drop indexes that a unique constraint already covers, and one no query uses

history_event(chain) is the leading column of unique (chain, seq); variable(instance_id) of unique
(instance_id, name); nothing filters history by event type alone. Fewer B-trees = fewer pages written per command.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 19:00:00
"""
from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_history_event_chain', table_name='history_event')
    op.drop_index('ix_history_event_event_type', table_name='history_event')
    op.drop_index('ix_variable_instance_id', table_name='variable')


def downgrade() -> None:
    op.create_index('ix_variable_instance_id', 'variable', ['instance_id'])
    op.create_index('ix_history_event_event_type', 'history_event', ['event_type'])
    op.create_index('ix_history_event_chain', 'history_event', ['chain'])
