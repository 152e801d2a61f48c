"""indexes of the supervision dashboard (效能监察): cases received in a period, clocks stopped in a period

process_instance(started_at): 收件量/补正率 of a period; case_clock(state, stopped_at): 办结量/按时办结率/时长 of a
period. Without them every dashboard request reads every case ever received.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 03:00:00
"""
from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_process_instance_started_at', 'process_instance', ['started_at'])
    op.create_index('ix_case_clock_state_stopped', 'case_clock', ['state', 'stopped_at'])


def downgrade() -> None:
    op.drop_index('ix_case_clock_state_stopped', table_name='case_clock')
    op.drop_index('ix_process_instance_started_at', table_name='process_instance')
