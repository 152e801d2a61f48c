"""case clock: case_clock, case_suspension, case_extension, outbox; task origin/parent/deemed; job uniqueness per type

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 23:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

UTC = engine.persistence.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'case_clock',
        sa.Column('instance_id', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('region', sa.String(length=48), nullable=True),
        sa.Column('promised_limit', sa.String(length=16), nullable=True),
        sa.Column('legal_limit', sa.String(length=16), nullable=True),
        sa.Column('warn_before', sa.String(length=16), nullable=True),
        sa.Column('accepted_at', UTC(), nullable=True),
        sa.Column('suspended_days', sa.Integer(), nullable=False),
        sa.Column('extended_days', sa.Integer(), nullable=False),
        sa.Column('promised_due', UTC(), nullable=True),
        sa.Column('legal_due', UTC(), nullable=True),
        sa.Column('warn_at', UTC(), nullable=True),
        sa.Column('provisional', sa.Boolean(), nullable=False),
        sa.Column('warned_at', UTC(), nullable=True),
        sa.Column('overdue_at', UTC(), nullable=True),
        sa.Column('stopped_at', UTC(), nullable=True),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name=op.f('fk_case_clock_instance_id_process_instance'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', name=op.f('pk_case_clock')),
    )
    op.create_index('ix_case_clock_state_due', 'case_clock', ['state', 'promised_due'], unique=False)
    op.create_table(
        'case_suspension',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('instance_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('expected_days', sa.Integer(), nullable=True),
        sa.Column('started_at', UTC(), nullable=False),
        sa.Column('started_by', sa.String(length=128), nullable=True),
        sa.Column('ended_at', UTC(), nullable=True),
        sa.Column('ended_by', sa.String(length=128), nullable=True),
        sa.Column('working_days', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name=op.f('fk_case_suspension_instance_id_process_instance'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_suspension')),
    )
    op.create_index(op.f('ix_case_suspension_instance_id'), 'case_suspension', ['instance_id'], unique=False)
    op.create_table(
        'case_extension',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('instance_id', sa.String(length=64), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('approver', sa.String(length=128), nullable=False),
        sa.Column('requested_by', sa.String(length=128), nullable=True),
        sa.Column('approved_at', UTC(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name=op.f('fk_case_extension_instance_id_process_instance'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_extension')),
    )
    op.create_index(op.f('ix_case_extension_instance_id'), 'case_extension', ['instance_id'], unique=False)
    op.create_table(
        'outbox',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('dedupe_key', sa.String(length=255), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('recipients', sa.Text(), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('instance_id', sa.String(length=64), nullable=True),
        sa.Column('task_id', sa.String(length=64), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('created', UTC(), nullable=False),
        sa.Column('sent_at', UTC(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_dedupe_key')),
    )
    op.create_index('ix_outbox_state_created', 'outbox', ['state', 'created'], unique=False)
    op.create_index(op.f('ix_outbox_instance_id'), 'outbox', ['instance_id'], unique=False)
    with op.batch_alter_table('task') as batch:
        batch.add_column(sa.Column('origin', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('parent_task_id', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('deemed', sa.Boolean(), server_default='0', nullable=False))
        batch.create_index(batch.f('ix_task_parent_task_id'), ['parent_task_id'], unique=False)
    with op.batch_alter_table('job') as batch:
        batch.drop_constraint('uq_job_task_id_due', type_='unique')
        batch.create_unique_constraint('uq_job_task_id_job_type_due', ['task_id', 'job_type', 'due'])


def downgrade() -> None:
    with op.batch_alter_table('job') as batch:
        batch.drop_constraint('uq_job_task_id_job_type_due', type_='unique')
        batch.create_unique_constraint('uq_job_task_id_due', ['task_id', 'due'])
    with op.batch_alter_table('task') as batch:
        batch.drop_index(batch.f('ix_task_parent_task_id'))
        batch.drop_column('deemed')
        batch.drop_column('parent_task_id')
        batch.drop_column('origin')
    op.drop_index(op.f('ix_outbox_instance_id'), table_name='outbox')
    op.drop_index('ix_outbox_state_created', table_name='outbox')
    op.drop_table('outbox')
    op.drop_index(op.f('ix_case_extension_instance_id'), table_name='case_extension')
    op.drop_table('case_extension')
    op.drop_index(op.f('ix_case_suspension_instance_id'), table_name='case_suspension')
    op.drop_table('case_suspension')
    op.drop_index('ix_case_clock_state_due', table_name='case_clock')
    op.drop_table('case_clock')
