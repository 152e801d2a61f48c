"""camunda:asyncBefore / asyncAfter: the command commits at the async point and a job runs the case on; a failing
continuation is retried with backoff and then becomes a FAILED job a person can retry — the user's command never
fails because of it."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import deploy_fixture


def _keys(engine, case_id):  # type: ignore[no-untyped-def]
    return [t.task_definition_key for t in engine.tasks.list(instance_id=case_id)]


def _async_jobs(engine, case_id, *states):  # type: ignore[no-untyped-def]
    return [j for j in engine.jobs.list(states=states or ("PENDING",), instance_id=case_id)
            if j.job_type == "async-continuation"]


def test_async_before_and_after_hand_the_work_to_a_job(engine, clock):
    deploy_fixture(engine, "jobs/async_continuations.bpmn")
    case = engine.runtime.start("async_continuations", variables={"fail": False, "seq": 7})
    assert _keys(engine, case.id) == []  # the start committed before the script task
    (job,) = _async_jobs(engine, case.id)
    assert job.activity_id == "number"
    assert "caseNumber" not in engine.runtime.variables(case.id)
    results = engine.jobs.execute_due()
    assert [(r.outcome, r.activity_id) for r in results] == [("fired", "number")]
    assert engine.runtime.variables(case.id)["caseNumber"] == "GZ-7"
    (review,) = engine.tasks.list(instance_id=case.id)
    engine.tasks.complete(review.id, "m1")
    assert _keys(engine, case.id) == []  # asyncAfter: the completion committed, archiving waits for its job
    assert "archived" not in engine.runtime.variables(case.id)
    (after,) = _async_jobs(engine, case.id)
    assert after.activity_id == "review"
    engine.jobs.execute_due()
    assert _keys(engine, case.id) == ["deliver"] and engine.runtime.variables(case.id)["archived"] is True
    assert _async_jobs(engine, case.id) == []
    assert all(r.ok for r in engine.history.verify(case.id))


def test_a_failing_continuation_is_retried_then_failed_then_retried_by_a_person(engine, clock):
    deploy_fixture(engine, "jobs/async_continuations.bpmn")
    case = engine.runtime.start("async_continuations", variables={"fail": True, "seq": 8})  # the clerk is not hurt
    assert not engine.runtime.instance(case.id).has_incident
    for attempt in range(3):
        (result,) = engine.jobs.execute_due()
        assert result.outcome == "failed" and "numbering service unavailable" in (result.message or "")
        clock.advance(timedelta(minutes=10))
    (failed,) = _async_jobs(engine, case.id, "FAILED")
    assert failed.attempts == 3 and "numbering service unavailable" in failed.last_error
    assert engine.jobs.execute_due() == []
    engine.runtime.set_variables(case.id, {"fail": False})
    engine.jobs.retry(failed.id, actor="ops")
    results = engine.jobs.execute_due()
    assert [r.outcome for r in results] == ["fired"], results
    assert engine.runtime.variables(case.id)["caseNumber"] == "GZ-8" and _keys(engine, case.id) == ["review"]
