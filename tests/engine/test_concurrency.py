"""Two clerks at once: real threads, real commits, on SQLite and PostgreSQL."""

from __future__ import annotations

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
