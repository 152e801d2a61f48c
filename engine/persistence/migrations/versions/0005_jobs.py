"""jobs: BPMN timers (and later deadline actions) fired at most once

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 19:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'job',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('job_type', sa.String(length=32), nullable=False),
        sa.Column('instance_id', sa.String(length=64), nullable=True),
        sa.Column('activity_id', sa.String(length=255), nullable=True),
        sa.Column('task_id', sa.String(length=64), nullable=True),
        sa.Column('definition_id', sa.String(length=64), nullable=True),
        sa.Column('payload', sa.Text(), nullable=True),
        sa.Column('due', engine.persistence.base.UTCDateTime(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('executed_by', sa.String(length=128), nullable=True),
        sa.Column('executed_at', engine.persistence.base.UTCDateTime(), nullable=True),
        sa.Column('retry_at', engine.persistence.base.UTCDateTime(), nullable=True),
        sa.Column('created', engine.persistence.base.UTCDateTime(), nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_job_instance_id_process_instance'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
        sa.UniqueConstraint('task_id', 'due', name=op.f('uq_job_task_id_due')),
    )
    op.create_index('ix_job_state_due', 'job', ['state', 'due'], unique=False)
    op.create_index(op.f('ix_job_instance_id'), 'job', ['instance_id'], unique=False)
    op.create_index(op.f('ix_job_definition_id'), 'job', ['definition_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_job_definition_id'), table_name='job')
    op.drop_index(op.f('ix_job_instance_id'), table_name='job')
    op.drop_index('ix_job_state_due', table_name='job')
    op.drop_table('job')
