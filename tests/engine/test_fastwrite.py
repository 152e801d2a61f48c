"""Prepared DB-API writes store exactly what SQLAlchemy would store (dates, booleans, unicode, NULLs, defaults)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
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


def test_prepared_statement_sends_fixed_statements_and_leaves_list_parameters_to_sqlalchemy(engine):
    from sqlalchemy import bindparam, delete, update

    from engine.persistence.fastwrite import fixed_in, prepared_statement

    deploy_fixture(engine, "engine/sample_parallel_approval.bpmn")
    case = engine.runtime.start("sample_parallel_approval")
    table = Task.__table__
    end = (update(table).where(table.c.instance_id == bindparam("iid"), fixed_in(table.c.state, ("ACTIVE", "X")))
           .values(state="CANCELLED", completed_by=bindparam("who")))
    listed = delete(table).where(table.c.id.in_(bindparam("ids", expanding=True)))
    with engine.db.begin() as conn:
        assert prepared_statement(conn, listed) is None  # its SQL text depends on the list: SQLAlchemy runs it
        assert prepared_statement(conn, update(table).where(table.c.state.in_(("A", "B")))) is None
        prepared = prepared_statement(conn, end)
        assert prepared is prepared_statement(conn, end)  # compiled once
        cursor = prepared.send(conn, [{"iid": case.id, "who": "王五"}])
        assert cursor.rowcount == 1  # the value written into the statement ("CANCELLED") is its default
        cursor.close()
    with engine.db.connect() as conn:
        rows = conn.execute(select(table.c.state, table.c.completed_by).where(table.c.instance_id == case.id)).all()
    assert [tuple(r) for r in rows] == [("CANCELLED", "王五")]


def test_read_only_session_refuses_to_write(engine):
    from engine.persistence.models import Comment

    deploy_fixture(engine, "engine/sample_parallel_approval.bpmn")
    case = engine.runtime.start("sample_parallel_approval")

    def sneaky(session):
        session.add(Comment(id="c1", instance_id=case.id, time=datetime.now(UTC), message="不该写入"))
        session.flush()

    with pytest.raises(RuntimeError, match="read-only query tried to write"):
        engine.executor.read(sneaky)
    assert engine.executor.read(lambda s: s.get(Comment, "c1")) is None  # on PostgreSQL reads are autocommit
