"""``engine.jobs.execute(job_id)``: run one job now, whatever its due date (Camunda's ``POST /job/{id}/execute``),
at most once, on the executor's fire path (lease, then fire with the engine clock at max(now, due))."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from engine.errors import Conflict, NotFound, SuspendedEntity
from tests.conftest import deploy_fixture


def _jobs(engine, case_id, *states):  # type: ignore[no-untyped-def]
    return engine.jobs.list(states=states or ("PENDING", "FAILED", "DONE", "CANCELLED"), instance_id=case_id)


@pytest.fixture
def timer_case(engine):  # type: ignore[no-untyped-def]
    deploy_fixture(engine, "jobs/review_with_timers.bpmn")
    return engine.runtime.start("review_with_timers", business_key="X-1")


def test_a_timer_executed_before_its_due_time_moves_the_case_on_once(engine, clock, timer_case):
    (job,) = _jobs(engine, timer_case.id)
    assert job.due == clock.now() + timedelta(hours=2) and engine.tasks.list(instance_id=timer_case.id) == []
    result = engine.jobs.execute(job.id, worker_id="ops1")
    assert (result.job_id, result.outcome, result.activity_id) == (job.id, "fired", "cooling_off")
    (review,) = engine.tasks.list(instance_id=timer_case.id)
    assert review.task_definition_key == "review"
    done = {j.id: j for j in _jobs(engine, timer_case.id, "DONE")}[job.id]
    assert (done.executed_by, done.attempts, done.lock_owner) == ("ops1", 1, None)
    assert done.executed_at == job.due + timedelta(microseconds=1)  # fired at max(now, due), as the worker does
    with pytest.raises(NotFound, match="done"):  # twice: refused, nothing happens again
        engine.jobs.execute(job.id)
    assert engine.jobs.execute_due(job.due + timedelta(hours=1)) == []  # nor by the worker
    events = [e.event_type for e in engine.history.events(timer_case.id)]
    assert events.count("JobExecuted") == 1
    assert all(r.ok for r in engine.history.verify(timer_case.id))


def test_unknown_failed_suspended_and_leased_jobs_are_refused(engine, clock, timer_case):
    with pytest.raises(NotFound):
        engine.jobs.execute("no-such-job")
    (job,) = _jobs(engine, timer_case.id)
    owner, acquired = engine.jobs.acquire(job.due)  # a worker holds the lease right now
    assert [a.id for a in acquired] == [job.id]
    with pytest.raises(Conflict, match="being executed"):
        engine.jobs.execute(job.id)
    engine.jobs.fire(acquired, owner)
    (boundary,) = _jobs(engine, timer_case.id, "PENDING")
    engine.runtime.suspend(timer_case.id, actor="sup")
    with pytest.raises(SuspendedEntity):
        engine.jobs.execute(boundary.id)
    engine.runtime.resume(timer_case.id, actor="sup")
    assert engine.jobs.execute(boundary.id).outcome == "fired"
    (escalated,) = engine.tasks.list(instance_id=timer_case.id)
    assert escalated.task_definition_key == "escalated"


def test_a_failing_job_counts_the_attempt_and_fails_after_three(engine, clock):
    deploy_fixture(engine, "jobs/async_continuations.bpmn")
    case = engine.runtime.start("async_continuations", variables={"fail": True, "seq": 9})
    (job,) = _jobs(engine, case.id, "PENDING")
    for attempt in (1, 2, 3):
        result = engine.jobs.execute(job.id, worker_id="ops1")  # also during the retry backoff
        assert result.outcome == "failed" and "numbering service unavailable" in (result.message or "")
        (row,) = [j for j in _jobs(engine, case.id) if j.id == job.id]
        assert row.attempts == attempt and row.lock_owner is None
    assert row.state == "FAILED"
    with pytest.raises(Conflict, match="retries"):
        engine.jobs.execute(job.id)
    engine.runtime.set_variables(case.id, {"fail": False})
    engine.jobs.retry(job.id, actor="ops1")
    assert engine.jobs.execute(job.id).outcome == "fired"
    assert engine.runtime.variables(case.id)["caseNumber"] == "GZ-9"


def test_concurrent_executes_fire_the_job_once(engine, clock, timer_case):
    (job,) = _jobs(engine, timer_case.id)
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def go(i: int) -> None:
        start.wait()
        try:
            out = engine.jobs.execute(job.id, worker_id=f"w{i}").outcome
        except (NotFound, Conflict) as exc:
            out = type(exc).__name__
        with lock:
            outcomes.append(out)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes.count("fired") == 1 and len(outcomes) == 4, outcomes
    assert len(engine.tasks.list(instance_id=timer_case.id)) == 1
    events = [e.event_type for e in engine.history.events(timer_case.id)]
    assert events.count("JobExecuted") == 1
