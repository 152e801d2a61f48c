"""indexes of the web pages: the supervision dashboard's periods and the inbox tabs

process_instance(started_at): 收件量/补正率 of a period; case_clock(state, stopped_at): 办结量/按时办结率/时长 of a
period (without them every dashboard request reads every case ever received); case_clock(state, warn_at): the
list of warning cases. The inbox tabs "my tasks",
"delegated by me" and "已办" get partial indexes of the rows with a holder — task(assignee, state, due),
task(owner, state), task(completed_by, due), each WHERE the column IS NOT NULL — in place of task(state, assignee),
task(owner) and task(completed_by): with most rows NULL there, statistics made the planners read every open task
(docs/performance.md, Web pages).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 03:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


PARTIAL = (('ix_task_assignee_state_due', ['assignee', 'state', 'due'], 'assignee'),
           ('ix_task_owner_state', ['owner', 'state'], 'owner'),
           ('ix_task_completed_by_due', ['completed_by', 'due'], 'completed_by'))


def upgrade() -> None:
    op.create_index('ix_process_instance_started_at', 'process_instance', ['started_at'])
    op.create_index('ix_case_clock_state_stopped', 'case_clock', ['state', 'stopped_at'])
    op.create_index('ix_case_clock_state_warn', 'case_clock', ['state', 'warn_at'])
    for name, columns, column in PARTIAL:
        where = sa.text(f'{column} IS NOT NULL')
        op.create_index(name, 'task', columns, sqlite_where=where, postgresql_where=where)
    op.drop_index('ix_task_state_assignee', table_name='task')
    op.drop_index('ix_task_owner', table_name='task')
    op.drop_index('ix_task_completed_by', table_name='task')


def downgrade() -> None:
    op.create_index('ix_task_completed_by', 'task', ['completed_by'])
    op.create_index('ix_task_owner', 'task', ['owner'])
    op.create_index('ix_task_state_assignee', 'task', ['state', 'assignee'])
    for name, _columns, _column in PARTIAL:
        op.drop_index(name, table_name='task')
    op.drop_index('ix_case_clock_state_warn', table_name='case_clock')
    op.drop_index('ix_case_clock_state_stopped', table_name='case_clock')
    op.drop_index('ix_process_instance_started_at', table_name='process_instance')
