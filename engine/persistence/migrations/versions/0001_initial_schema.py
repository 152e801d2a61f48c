"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 14:58:13.444286
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.persistence.base


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('comment',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('task_id', sa.String(length=64), nullable=True),
    sa.Column('instance_id', sa.String(length=64), nullable=True),
    sa.Column('user_id', sa.String(length=128), nullable=True),
    sa.Column('time', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment'))
    )
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comment_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_comment_task_id'), ['task_id'], unique=False)

    op.create_table('deployment',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('source', sa.String(length=255), nullable=True),
    sa.Column('tenant_id', sa.String(length=64), nullable=True),
    sa.Column('deployment_time', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deployed_by', sa.String(length=128), nullable=True),
    sa.Column('lenient', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment'))
    )
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployment_deployment_time'), ['deployment_time'], unique=False)

    op.create_table('history_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('chain', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=True),
    sa.Column('timestamp', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('instance_id', sa.String(length=64), nullable=True),
    sa.Column('task_id', sa.String(length=64), nullable=True),
    sa.Column('activity_id', sa.String(length=255), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history_event')),
    sa.UniqueConstraint('chain', 'seq', name=op.f('uq_history_event_chain_seq'))
    )
    with op.batch_alter_table('history_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_history_event_chain'), ['chain'], unique=False)
        batch_op.create_index(batch_op.f('ix_history_event_event_type'), ['event_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_history_event_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_history_event_task_id'), ['task_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_history_event_timestamp'), ['timestamp'], unique=False)

    op.create_table('process_definition',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('deployment_id', sa.String(length=64), nullable=False),
    sa.Column('resource_name', sa.String(length=255), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('version_tag', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('suspended', sa.Boolean(), nullable=False),
    sa.Column('startable_by_message', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], name=op.f('fk_process_definition_deployment_id_deployment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_definition')),
    sa.UniqueConstraint('key', 'version', name=op.f('uq_process_definition_key_version'))
    )
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_definition_deployment_id'), ['deployment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_definition_key'), ['key'], unique=False)

    op.create_table('resource',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('deployment_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], name=op.f('fk_resource_deployment_id_deployment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource'))
    )
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_deployment_id'), ['deployment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_resource_sha256'), ['sha256'], unique=False)

    op.create_table('process_instance',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('definition_id', sa.String(length=64), nullable=False),
    sa.Column('definition_key', sa.String(length=255), nullable=False),
    sa.Column('business_key', sa.String(length=255), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('has_incident', sa.Boolean(), nullable=False),
    sa.Column('workflow_json', sa.Text(), nullable=False),
    sa.Column('serializer_version', sa.String(length=16), nullable=False),
    sa.Column('active_activity_ids', sa.Text(), nullable=False),
    sa.Column('started_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_by', sa.String(length=128), nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=True),
    sa.Column('history_seq', sa.Integer(), nullable=False),
    sa.Column('history_head', sa.String(length=64), nullable=False),
    sa.Column('variables_digest', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'], name=op.f('fk_process_instance_definition_id_process_definition')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_instance'))
    )
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_instance_business_key'), ['business_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_instance_definition_id'), ['definition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_instance_definition_key'), ['definition_key'], unique=False)
        batch_op.create_index('ix_process_instance_state_definition', ['state', 'definition_id'], unique=False)

    op.create_table('external_task',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('instance_id', sa.String(length=64), nullable=False),
    sa.Column('definition_id', sa.String(length=64), nullable=False),
    sa.Column('activity_id', sa.String(length=255), nullable=False),
    sa.Column('topic', sa.String(length=255), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('worker_id', sa.String(length=255), nullable=True),
    sa.Column('lock_expiration', engine.persistence.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retries', sa.Integer(), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('created', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_external_task_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_task'))
    )
    with op.batch_alter_table('external_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_task_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_external_task_state_topic', ['state', 'topic'], unique=False)

    op.create_table('incident',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('instance_id', sa.String(length=64), nullable=False),
    sa.Column('activity_id', sa.String(length=255), nullable=True),
    sa.Column('incident_type', sa.String(length=64), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_incident_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident'))
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_instance_id'), ['instance_id'], unique=False)

    op.create_table('task',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('instance_id', sa.String(length=64), nullable=False),
    sa.Column('definition_id', sa.String(length=64), nullable=False),
    sa.Column('task_definition_key', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('assignee', sa.String(length=128), nullable=True),
    sa.Column('owner', sa.String(length=128), nullable=True),
    sa.Column('delegation_state', sa.String(length=16), nullable=True),
    sa.Column('created', engine.persistence.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due', engine.persistence.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('follow_up', engine.persistence.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('form_key', sa.String(length=255), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('ended_at', engine.persistence.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_by', sa.String(length=128), nullable=True),
    sa.Column('lane', sa.String(length=255), nullable=True),
    sa.Column('candidate_groups', sa.Text(), nullable=False),
    sa.Column('candidate_users', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_task_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task'))
    )
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_completed_by'), ['completed_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_follow_up'), ['follow_up'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_owner'), ['owner'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_priority'), ['priority'], unique=False)
        batch_op.create_index('ix_task_state_assignee', ['state', 'assignee'], unique=False)
        batch_op.create_index('ix_task_state_created', ['state', 'created'], unique=False)
        batch_op.create_index('ix_task_state_due', ['state', 'due'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_task_definition_key'), ['task_definition_key'], unique=False)

    op.create_table('variable',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('value_json', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_variable_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_variable')),
    sa.UniqueConstraint('instance_id', 'name', name=op.f('uq_variable_instance_id_name'))
    )
    with op.batch_alter_table('variable', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_variable_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_variable_name'), ['name'], unique=False)

    op.create_table('task_identity_link',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=True),
    sa.Column('group_id', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_task_identity_link_task_id_task'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_identity_link'))
    )
    with op.batch_alter_table('task_identity_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_identity_link_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_identity_link_task_id'), ['task_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_identity_link_user_id'), ['user_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('task_identity_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_identity_link_user_id'))
        batch_op.drop_index(batch_op.f('ix_task_identity_link_task_id'))
        batch_op.drop_index(batch_op.f('ix_task_identity_link_group_id'))

    op.drop_table('task_identity_link')
    with op.batch_alter_table('variable', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_variable_name'))
        batch_op.drop_index(batch_op.f('ix_variable_instance_id'))

    op.drop_table('variable')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_task_definition_key'))
        batch_op.drop_index('ix_task_state_due')
        batch_op.drop_index('ix_task_state_created')
        batch_op.drop_index('ix_task_state_assignee')
        batch_op.drop_index(batch_op.f('ix_task_priority'))
        batch_op.drop_index(batch_op.f('ix_task_owner'))
        batch_op.drop_index(batch_op.f('ix_task_instance_id'))
        batch_op.drop_index(batch_op.f('ix_task_follow_up'))
        batch_op.drop_index(batch_op.f('ix_task_completed_by'))

    op.drop_table('task')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_instance_id'))

    op.drop_table('incident')
    with op.batch_alter_table('external_task', schema=None) as batch_op:
        batch_op.drop_index('ix_external_task_state_topic')
        batch_op.drop_index(batch_op.f('ix_external_task_instance_id'))

    op.drop_table('external_task')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_process_instance_state_definition')
        batch_op.drop_index(batch_op.f('ix_process_instance_definition_key'))
        batch_op.drop_index(batch_op.f('ix_process_instance_definition_id'))
        batch_op.drop_index(batch_op.f('ix_process_instance_business_key'))

    op.drop_table('process_instance')
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resource_sha256'))
        batch_op.drop_index(batch_op.f('ix_resource_deployment_id'))

    op.drop_table('resource')
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_definition_key'))
        batch_op.drop_index(batch_op.f('ix_process_definition_deployment_id'))

    op.drop_table('process_definition')
    with op.batch_alter_table('history_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_history_event_timestamp'))
        batch_op.drop_index(batch_op.f('ix_history_event_task_id'))
        batch_op.drop_index(batch_op.f('ix_history_event_instance_id'))
        batch_op.drop_index(batch_op.f('ix_history_event_event_type'))
        batch_op.drop_index(batch_op.f('ix_history_event_chain'))

    op.drop_table('history_event')
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployment_deployment_time'))

    op.drop_table('deployment')
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comment_task_id'))
        batch_op.drop_index(batch_op.f('ix_comment_instance_id'))

    op.drop_table('comment')

