"""PostgreSQL: trigram indexes for the inbox search (pg_trgm)

The inbox's search box looks for a text anywhere in the business key or in the applicant variables
(``engine.tasks.queries.SEARCH_VARIABLES``): ``ILIKE '%…%'``, which no b-tree can answer. On PostgreSQL two GIN
trigram indexes answer it — process_instance(business_key) and variable(value_json) WHERE name is one of the
applicant variables (a small partial index) — so a search reads the matching cases instead of hashing every case
and every applicant (docs/performance.md, Web pages). Needs the extension pg_trgm (in PostgreSQL's contrib, part of
Debian's postgresql package; a trusted extension since PostgreSQL 13, so the owner of the database may create it).
SQLite: nothing (its search reads the few candidate tasks' cases, fast enough there).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# the applicant variables of engine.tasks.queries.SEARCH_VARIABLES at this revision (a migration keeps its own copy)
SEARCH_VARIABLES = ('applicant', 'applicantName', 'applicant_name')


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    try:
        with op.get_bind().begin_nested():
            op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    except sa.exc.DBAPIError as exc:
        raise RuntimeError(
            'the inbox search needs the PostgreSQL extension pg_trgm (in the contrib modules, part of Debian\'s '
            'postgresql package): run "CREATE EXTENSION pg_trgm;" in this database as its owner or a superuser, '
            f'then upgrade again ({exc.orig})') from exc
    op.create_index('ix_process_instance_business_key_trgm', 'process_instance', ['business_key'],
                    postgresql_using='gin', postgresql_ops={'business_key': 'gin_trgm_ops'})
    names = ', '.join(f"'{n}'" for n in SEARCH_VARIABLES)
    op.create_index('ix_variable_search_trgm', 'variable', ['value_json'], postgresql_using='gin',
                    postgresql_ops={'value_json': 'gin_trgm_ops'}, postgresql_where=sa.text(f'name IN ({names})'))


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_variable_search_trgm', table_name='variable')
    op.drop_index('ix_process_instance_business_key_trgm', table_name='process_instance')
    # the extension stays: other objects of the database may use it
