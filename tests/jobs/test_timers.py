"""BPMN timers as jobs: each fires once, at its due time, in the transaction that commits its effect."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from engine.errors import TaskNotActive
from tests.conftest import deploy_fixture

FIXTURE = "jobs/review_with_timers.bpmn"


@pytest.fixture
def case(engine):
    deploy_fixture(engine, FIXTURE)
    return engine.runtime.start("review_with_timers", business_key="T-1")


def _jobs(engine, case_id, *states):
    return engine.jobs.list(states=states or ("PENDING", "FAILED", "DONE", "CANCELLED"), instance_id=case_id)


def test_intermediate_timer_waits_then_fires_once_at_its_due_time(engine, clock, case):
    (job,) = _jobs(engine, case.id)
    assert (job.state, job.activity_id, job.due) == ("PENDING", "cooling_off", clock.now() + timedelta(hours=2))
    assert engine.tasks.list(instance_id=case.id) == []

    assert engine.jobs.execute_due(clock.now() + timedelta(hours=1, minutes=59)) == []  # not yet due
    results = engine.jobs.execute_due(job.due)  # exactly at its due time
    assert [(r.job_id, r.outcome) for r in results] == [(job.id, "fired")]
    (review,) = engine.tasks.list(instance_id=case.id)
    assert review.task_definition_key == "review"
    assert engine.jobs.execute_due(job.due + timedelta(hours=23)) == []  # fired: never again (boundary not due)
    done = {j.id: j for j in _jobs(engine, case.id, "DONE")}
    assert done[job.id].executed_at == job.due + timedelta(microseconds=1) and done[job.id].attempts == 1
    events = [e.event_type for e in engine.history.events(case.id)]
    assert events.count("JobExecuted") == 1 and events.count("JobCreated") == 2
    assert all(r.ok for r in engine.history.verify(case.id))


def test_boundary_timer_interrupts_the_review_and_escalates(engine, clock, case):
    engine.jobs.execute_due(clock.now() + timedelta(hours=2))
    (review,) = engine.tasks.list(instance_id=case.id)
    (boundary,) = _jobs(engine, case.id, "PENDING")
    assert boundary.activity_id == "review_timeout"
    assert boundary.due == clock.now() + timedelta(hours=2, microseconds=1) + timedelta(days=1)

    fired = engine.jobs.execute_due(boundary.due)
    assert [r.outcome for r in fired] == ["fired"]
    assert engine.tasks.task(review.id).state == "CANCELLED"
    (escalated,) = engine.tasks.list(instance_id=case.id)
    assert (escalated.task_definition_key, escalated.candidate_groups) == ("escalated", ("supervisor",))
    with pytest.raises(TaskNotActive):  # the timer committed first: the late completion gets a clear conflict
        engine.tasks.complete(review.id, "clerk")


def test_completion_committed_before_the_timer_fires_cancels_the_timer(engine, clock, case):
    """First committed wins: the review is completed after its timer was due but before any worker fired it."""
    engine.jobs.execute_due(clock.now() + timedelta(hours=2))
    (review,) = engine.tasks.list(instance_id=case.id)
    (boundary,) = _jobs(engine, case.id, "PENDING")
    clock.set(boundary.due + timedelta(minutes=5))  # overdue, not fired yet
    engine.tasks.complete(review.id, "clerk")
    assert engine.runtime.instance(case.id).state == "COMPLETED"
    assert [j.state for j in _jobs(engine, case.id) if j.id == boundary.id] == ["CANCELLED"]
    assert engine.jobs.execute_due(boundary.due + timedelta(days=1)) == []


def test_two_workers_racing_fire_each_job_once(engine, clock):
    deploy_fixture(engine, FIXTURE)
    cases = [engine.runtime.start("review_with_timers", business_key=f"R-{i}").id for i in range(6)]
    due = clock.now() + timedelta(hours=2)
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def worker(i):
        barrier.wait()
        results[i] = engine.jobs.execute_due(due, worker_id=f"w{i}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    fired = [r for rs in results for r in rs if r.outcome == "fired"]
    assert len(fired) == len(cases) and len({r.job_id for r in fired}) == len(cases)
    for case_id in cases:
        assert [t.task_definition_key for t in engine.tasks.list(instance_id=case_id)] == ["review"]
        executed = [e for e in engine.history.events(case_id) if e.event_type == "JobExecuted"]
        assert len(executed) == 1


def test_suspended_case_keeps_its_timer_pending_until_resumed(engine, clock, case):
    engine.runtime.suspend(case.id)
    due = clock.now() + timedelta(hours=3)
    # as in Camunda, the case's jobs are suspended with it: not due for anyone (no worker spins on them)
    assert [j.state for j in _jobs(engine, case.id, "SUSPENDED")] == ["SUSPENDED"]
    assert engine.jobs.execute_due(due) == [] and engine.jobs.next_due() is None
    assert engine.tasks.list(instance_id=case.id) == []
    engine.runtime.resume(case.id)
    assert [r.outcome for r in engine.jobs.execute_due(due)] == ["fired"]
    assert len(engine.tasks.list(instance_id=case.id)) == 1


def test_terminated_case_cancels_its_jobs(engine, clock, case):
    engine.runtime.terminate(case.id, reason="withdrawn")
    assert _jobs(engine, case.id, "PENDING") == []
    assert [j.state for j in _jobs(engine, case.id)] == ["CANCELLED"]
