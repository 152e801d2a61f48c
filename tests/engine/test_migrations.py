"""Alembic migrations: the schema they build is exactly the models', and they move a database with cases in it
down and up again without losing a row."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from engine.bootstrap import build_engine
from engine.persistence import migrate
from engine.persistence.base import Base
from engine.settings import Settings
from tests.conftest import deploy_fixture


def _differences(db):  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        opts = {"include_object": migrate.include_object(conn.dialect.name)}  # PostgreSQL-only indexes on SQLite
        return compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)


def test_migrated_schema_matches_the_models(engine):
    assert migrate.current_revision(engine.db) == migrate.head_revision()
    assert _differences(engine.db) == []


def test_down_and_up_again_keeps_cases_and_tasks(database_url, clock):
    engine = build_engine(Settings(database_url=database_url), clock=clock)
    deploy_fixture(engine, "engine/sample_parallel_approval.bpmn")
    case = engine.runtime.start("sample_parallel_approval", business_key="MIG-1")
    (task,) = engine.tasks.list(instance_id=case.id)
    engine.close()

    cfg = migrate.alembic_config(engine.db)
    command.downgrade(cfg, "0001")
    with engine.db.connect() as conn:
        columns = set(conn.execute(text("SELECT * FROM task LIMIT 0")).keys())
    assert "version" not in columns
    engine.db.dispose()

    again = build_engine(Settings(database_url=database_url), clock=clock)  # upgrades to head on the way
    try:
        assert migrate.current_revision(again.db) == migrate.head_revision()
        assert _differences(again.db) == []
        assert again.tasks.task(task.id).state == "ACTIVE"
        again.tasks.complete(task.id, "clerk", {"accepted": True})  # the versioned write works on old rows
        assert len(again.tasks.list(instance_id=case.id)) == 3
        assert all(r.ok for r in again.history.verify(case.id))
    finally:
        again.close()
