"""calendar_day: overrides of the official working-day schedule (national or regional holidays and workdays)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 20:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'calendar_day',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('region', sa.String(length=48), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_by', sa.String(length=128), nullable=True),
        sa.Column('created', engine.persistence.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_day')),
    )
    op.create_index('ix_calendar_day_day_region', 'calendar_day', ['day', 'region'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_calendar_day_day_region', table_name='calendar_day')
    op.drop_table('calendar_day')
