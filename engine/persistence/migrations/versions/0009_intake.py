"""window intake (一窗受理): intake_application, case_number_counter

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 03:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

UTC = engine.persistence.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'case_number_counter',
        sa.Column('scope', sa.String(length=128), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('scope', name=op.f('pk_case_number_counter')),
    )
    op.create_table(
        'intake_application',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('number', sa.String(length=64), nullable=False),
        sa.Column('item_key', sa.String(length=255), nullable=False),
        sa.Column('item_name', sa.String(length=255), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('applicant_name', sa.String(length=255), nullable=False),
        sa.Column('applicant_phone', sa.String(length=32), nullable=True),
        sa.Column('applicant_json', sa.Text(), nullable=False),
        sa.Column('materials_json', sa.Text(), nullable=False),
        sa.Column('notice_json', sa.Text(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('commitment_json', sa.Text(), nullable=True),
        sa.Column('log_json', sa.Text(), nullable=False),
        sa.Column('instance_id', sa.String(length=64), nullable=True),
        sa.Column('follow_up_task_id', sa.String(length=64), nullable=True),
        sa.Column('accepted_at', UTC(), nullable=True),
        sa.Column('promised_due', UTC(), nullable=True),
        sa.Column('legal_due', UTC(), nullable=True),
        sa.Column('created', UTC(), nullable=False),
        sa.Column('created_by', sa.String(length=128), nullable=True),
        sa.Column('updated', UTC(), nullable=False),
        sa.Column('updated_by', sa.String(length=128), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_application')),
        sa.UniqueConstraint('number', name=op.f('uq_intake_application_number')),
    )
    op.create_index(op.f('ix_intake_application_item_key'), 'intake_application', ['item_key'], unique=False)
    op.create_index(op.f('ix_intake_application_applicant_name'), 'intake_application', ['applicant_name'],
                    unique=False)
    op.create_index(op.f('ix_intake_application_instance_id'), 'intake_application', ['instance_id'], unique=False)
    op.create_index('ix_intake_application_state_created', 'intake_application', ['state', 'created'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_intake_application_state_created', table_name='intake_application')
    op.drop_index(op.f('ix_intake_application_instance_id'), table_name='intake_application')
    op.drop_index(op.f('ix_intake_application_applicant_name'), table_name='intake_application')
    op.drop_index(op.f('ix_intake_application_item_key'), table_name='intake_application')
    op.drop_table('intake_application')
    op.drop_table('case_number_counter')
