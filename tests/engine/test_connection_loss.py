"""PostgreSQL connections are not tested before every use (one round trip fewer per command and query): a
connection the server dropped (a restart, an administrator's pg_terminate_backend) fails its first statement,
and the engine runs the read or the command again on a new connection, exactly once, unless it was lost in the
COMMIT itself, whose outcome nobody knows: then the caller gets the error."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import deploy_fixture

pytestmark = pytest.mark.skipif(os.environ.get("ONEWINDOW_TEST_DB", "sqlite") != "postgresql",
                                reason="connection loss is a PostgreSQL matter (SQLite is a file)")


def _drop_connections(engine) -> int:
    """What a server restart does to the engine's pooled connections."""
    url = engine.db.url
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        dropped = c.execute(text("SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                                 "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": url.database}).scalar()
    admin.dispose()
    return int(dropped or 0)


@pytest.fixture
def window_task(engine):
    deploy_fixture(engine, "engine/sample_parallel_approval.bpmn")
    case = engine.runtime.start("sample_parallel_approval", business_key="DROP-1")
    return case, engine.tasks.list(instance_id=case.id)[0]


def test_reads_and_commands_go_through_after_the_server_dropped_every_connection(engine, window_task):
    case, task = window_task
    assert _drop_connections(engine) >= 1  # the pool kept the connection the calls above used
    assert [t.id for t in engine.tasks.list(instance_id=case.id)] == [task.id]  # Core read
    assert _drop_connections(engine) >= 1
    assert engine.tasks.task(task.id).state == "ACTIVE"  # ORM read
    assert _drop_connections(engine) >= 1
    engine.tasks.complete(task.id, "clerk", {"accepted": True})  # a command
    assert engine.tasks.task(task.id).state == "COMPLETED"
    completed = [e for e in engine.history.events(case.id) if e.event_type == "TaskCompleted"]
    assert len(completed) == 1  # run once
    assert all(r.ok for r in engine.history.verify(case.id))
    assert len(engine.tasks.list(instance_id=case.id)) == 3  # the three parallel reviews


def test_a_connection_lost_in_the_commit_is_reported_not_run_again(engine, window_task):
    case, task = window_task
    attempts = []

    @event.listens_for(engine.db, "commit")
    def _lose_it(conn):
        attempts.append(1)
        if len(attempts) == 1:  # the server goes away just as the first COMMIT is sent
            _drop_connections(engine)

    try:
        with pytest.raises(DBAPIError) as raised:
            engine.tasks.complete(task.id, "clerk", {"accepted": True})
    finally:
        event.remove(engine.db, "commit", _lose_it)
    assert raised.value.connection_invalidated
    assert len(attempts) == 1  # not run again: after a lost COMMIT the outcome is unknown
    # here it was lost before the server saw the COMMIT: nothing happened, and the clerk can simply try again
    assert engine.tasks.task(task.id).state == "ACTIVE"
    engine.tasks.complete(task.id, "clerk", {"accepted": True})
    assert engine.tasks.task(task.id).state == "COMPLETED"
