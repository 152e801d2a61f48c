"""identity: identity_user, identity_group (departments), identity_membership, identity_user_role

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

UTC = engine.persistence.base.UTCDateTime
ROLES = ('clerk', 'reviewer', 'leader', 'supervisor', 'designer', 'admin')


def upgrade() -> None:
    op.create_table(
        'identity_user',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('email', sa.String(length=255), nullable=True),
        sa.Column('phone', sa.String(length=32), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created', UTC(), nullable=False),
        sa.Column('password_changed', UTC(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_user')),
    )
    op.create_table(
        'identity_group',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('type', sa.String(length=32), nullable=False),
        sa.Column('created', UTC(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_group')),
    )
    op.create_table(
        'identity_membership',
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('group_id', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['identity_user.id'],
                                name=op.f('fk_identity_membership_user_id_identity_user'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['group_id'], ['identity_group.id'],
                                name=op.f('fk_identity_membership_group_id_identity_group'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'group_id', name=op.f('pk_identity_membership')),
    )
    op.create_index(op.f('ix_identity_membership_group_id'), 'identity_membership', ['group_id'], unique=False)
    op.create_table(
        'identity_user_role',
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.CheckConstraint("role IN ('" + "', '".join(ROLES) + "')", name=op.f('ck_identity_user_role_role')),
        sa.ForeignKeyConstraint(['user_id'], ['identity_user.id'],
                                name=op.f('fk_identity_user_role_user_id_identity_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'role', name=op.f('pk_identity_user_role')),
    )
    op.create_index(op.f('ix_identity_user_role_role'), 'identity_user_role', ['role'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_identity_user_role_role'), table_name='identity_user_role')
    op.drop_table('identity_user_role')
    op.drop_index(op.f('ix_identity_membership_group_id'), table_name='identity_membership')
    op.drop_table('identity_membership')
    op.drop_table('identity_group')
    op.drop_table('identity_user')
