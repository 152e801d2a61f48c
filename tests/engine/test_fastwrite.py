"""Prepared DB-API writes store exactly what SQLAlchemy would store (dates, booleans, unicode, NULLs, defaults)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import insert, select

from engine.persistence.fastwrite import prepared_insert, prepared_versioned_update
from engine.persistence.models import Task
from tests.conftest import deploy_fixture

SHANGHAI = timezone(timedelta(hours=8))


def _task_values(instance_id: str, definition_id: str) -> dict:
    return dict(instance_id=instance_id, definition_id=definition_id, task_definition_key="审核",
                name="窗口受理 — 补正", description=None, assignee=None, owner="张三", delegation_state=None,
                created=datetime(2026, 1, 5, 9, 0, 0, tzinfo=SHANGHAI),  # microsecond 0, not UTC
                due=datetime(2026, 1, 9, 17, 30, 0, 123456, tzinfo=UTC), follow_up=None, state="ACTIVE",
                ended_at=None, completed_by=None, lane=None, candidate_groups="window,科室", candidate_users="")


def test_prepared_writes_store_what_sqlalchemy_stores(engine):
    deploy_fixture(engine, "engine/sample_parallel_approval.bpmn")
    case = engine.runtime.start("sample_parallel_approval")
    table = Task.__table__
    with engine.db.begin() as conn:
        conn.execute(insert(table), [{"id": "core", **_task_values(case.id, case.definition_id)}])
        values = {"id": "fast", **_task_values(case.id, case.definition_id)}
        prepared_insert(conn, table, tuple(values)).executemany(conn, [values])
    with engine.db.connect() as conn:
        rows = {r.id: r._asdict() for r in conn.execute(select(table).where(table.c.id.in_(["core", "fast"])))}
    core, fast = rows["core"], rows["fast"]
    core.pop("id"), fast.pop("id")
    assert fast == core
    assert fast["created"] == datetime(2026, 1, 5, 1, 0, 0, tzinfo=UTC)
    assert fast["priority"] == 50 and fast["version"] == 1  # column defaults applied

    with engine.db.begin() as conn:
        update = prepared_versioned_update(conn, table, ("assignee", "due"))
        params = {"assignee": "李四", "due": None, "_id": "fast", "_version": 1, "_new_version": 2}
        assert update.execute(conn, params) == 1
        assert update.execute(conn, params) == 0  # the version moved on: a stale writer matches no row
    with engine.db.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == "fast")).one()
    assert (row.assignee, row.due, row.version) == ("李四", None, 2)
