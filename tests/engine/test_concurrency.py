"""Two clerks at once: real threads, real commits, on SQLite and PostgreSQL."""

from __future__ import annotations

import os  # noqa: F401 - read by the skipif condition
import threading

import pytest

from engine.errors import Conflict, TaskAlreadyClaimed, TaskNotActive
from tests.conftest import deploy_fixture


def _run_together(*calls):
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(i, fn):
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # collected and asserted by the test
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.fixture
def parallel_case(engine):
    deploy_fixture(engine, "engine/sample_parallel_approval.bpmn")
    case = engine.runtime.start("sample_parallel_approval")
    intake = engine.tasks.list(instance_id=case.id)[0]
    engine.tasks.complete(intake.id, "clerk", {"accepted": True})
    return case


def test_parallel_tasks_of_one_case_completed_at_once_both_succeed(engine, parallel_case):
    for _round in range(3):
        tasks = engine.tasks.list(instance_id=parallel_case.id)
        if len(tasks) < 2:
            break
        a, b = tasks[0], tasks[1]
        results = _run_together(
            lambda: engine.tasks.complete(a.id, "u1", {"marketApproved": True, "fireApproved": True, "envApproved": True}),
            lambda: engine.tasks.complete(b.id, "u2", {"marketApproved": True, "fireApproved": True, "envApproved": True}),
        )
        assert all(not isinstance(r, Exception) for r in results), results
        assert engine.tasks.task(a.id).state == "COMPLETED" and engine.tasks.task(b.id).state == "COMPLETED"
    remaining = engine.tasks.list(instance_id=parallel_case.id)
    for t in remaining:
        if t.task_definition_key.startswith("review"):
            engine.tasks.complete(t.id, "u3", {"marketApproved": True, "fireApproved": True, "envApproved": True})
    final = engine.tasks.list(instance_id=parallel_case.id)
    assert [t.task_definition_key for t in final] == ["deliver"]
    assert all(r.ok for r in engine.history.verify(parallel_case.id))


def test_same_task_completed_twice_at_once_exactly_one_wins(engine, parallel_case):
    t = engine.tasks.list(instance_id=parallel_case.id)[0]
    results = _run_together(
        lambda: engine.tasks.complete(t.id, "u1", {"marketApproved": True}),
        lambda: engine.tasks.complete(t.id, "u2", {"marketApproved": False}),
    )
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert isinstance(losses[0], TaskNotActive | Conflict)
    assert "completed" in str(losses[0])
    events = [e for e in engine.history.events(parallel_case.id) if e.event_type == "TaskCompleted" and e.task_id == t.id]
    assert len(events) == 1


def test_two_clerks_claim_at_once_one_gets_a_clear_conflict(engine, parallel_case):
    t = engine.tasks.list(instance_id=parallel_case.id)[0]
    results = _run_together(lambda: engine.tasks.claim(t.id, "alice"), lambda: engine.tasks.claim(t.id, "bob"))
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(losses) == 1 and isinstance(losses[0], TaskAlreadyClaimed)
    winner = engine.tasks.task(t.id).assignee
    assert winner in ("alice", "bob") and winner in str(losses[0])


# --- SQLite: completing and starting compute outside the write lock ------------------------------------------
# Interleavings are forced with a SQLAlchemy event on the real engine: when the completing command reads the case
# (its read phase, before it takes the write lock), another clerk's command runs to its commit.
sqlite_only = pytest.mark.skipif("os.environ.get('ONEWINDOW_TEST_DB') == 'postgresql'",
                                 reason="on PostgreSQL a completion locks the task row (FOR UPDATE) as it reads it")


def _when_case_is_read(engine, action):
    """Run ``action`` once, the first time a command reads a process_instance row (on its own, or with the task
    being completed: ``FROM task JOIN process_instance``)."""
    from sqlalchemy import event

    fired = []

    def hook(conn, cursor, statement, params, context, executemany):
        sql = statement.lstrip().upper()
        if not fired and sql.startswith("SELECT") and ("JOIN PROCESS_INSTANCE" in sql
                                                       or sql.startswith("SELECT PROCESS_INSTANCE.ID")):
            fired.append(True)
            action()

    event.listen(engine.db, "before_cursor_execute", hook)
    return fired


@sqlite_only
def test_claim_committed_while_a_completion_computes_makes_the_completion_fail_clearly(engine, parallel_case):
    t = engine.tasks.list(instance_id=parallel_case.id)[0]
    fired = _when_case_is_read(engine, lambda: engine.tasks.claim(t.id, "alice"))
    with pytest.raises(TaskAlreadyClaimed, match="alice"):
        engine.tasks.complete(t.id, "bob", {"marketApproved": True})
    assert fired == [True]
    task = engine.tasks.task(t.id)
    assert task.state == "ACTIVE" and task.assignee == "alice"
    assert [e.event_type for e in engine.history.events(parallel_case.id) if e.task_id == t.id
            and e.event_type in ("TaskClaimed", "TaskCompleted")] == ["TaskClaimed"]
    assert all(r.ok for r in engine.history.verify(parallel_case.id))


@sqlite_only
def test_completion_committed_while_another_computes_is_not_lost(engine, parallel_case):
    """Two parallel branches: the second completion read the case before the first committed; it is re-run on
    the new version, so the join sees both and nothing of the first is overwritten."""
    a, b = engine.tasks.list(instance_id=parallel_case.id)[:2]
    fired = _when_case_is_read(engine, lambda: engine.tasks.complete(a.id, "u1", {"marketApproved": True}))
    engine.tasks.complete(b.id, "u2", {"fireApproved": True})
    assert fired == [True]
    assert engine.tasks.task(a.id).state == "COMPLETED" and engine.tasks.task(a.id).completed_by == "u1"
    assert engine.tasks.task(b.id).state == "COMPLETED" and engine.tasks.task(b.id).completed_by == "u2"
    (c,) = [t for t in engine.tasks.list(instance_id=parallel_case.id) if t.id not in (a.id, b.id)]
    engine.tasks.complete(c.id, "u3", {"envApproved": True})
    # the join merged all three branches: what each clerk entered is in the case
    variables = engine.runtime.variables(parallel_case.id)
    assert (variables["marketApproved"], variables["fireApproved"], variables["envApproved"]) == (True, True, True)
    assert [t.task_definition_key for t in engine.tasks.list(instance_id=parallel_case.id)] == ["deliver"]
    assert all(r.ok for r in engine.history.verify(parallel_case.id))


def test_a_command_that_writes_while_reading_commits_all_or_nothing(engine):
    """An optimistic command that writes before its write phase keeps one transaction: a later failure takes
    the early write back with it, and success commits both."""
    from sqlalchemy import func, select

    from engine.persistence.models import Comment

    def command(fail):
        def run(uow):
            uow.session.add(Comment(id=f"early-{fail}", task_id=None, instance_id=None, user_id="u", time=uow.now,
                                    message="early"))
            uow.session.flush()  # a write in the read phase
            uow.session.add(Comment(id=f"late-{fail}", task_id=None, instance_id=None, user_id="u", time=uow.now,
                                    message="late"))
            if fail:
                raise Conflict("stop here")
            return "done"
        return run

    with pytest.raises(Conflict):
        engine.executor.run(command(True), optimistic=True)
    assert engine.executor.run(command(False), optimistic=True) == "done"
    ids = engine.executor.read(lambda s: sorted(s.scalars(select(Comment.id)).all()))
    assert ids == ["early-False", "late-False"]
    assert engine.executor.read(lambda s: s.scalar(select(func.count()).select_from(Comment))) == 2
