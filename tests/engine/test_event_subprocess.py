"""Event sub-processes with message start events (Camunda's 'message event sub-process'): a running case listens
to them; a non-interrupting one runs beside the flow, an interrupting one cancels everything else under way in the
process (timers included) and the case ends with it. SpiffWorkflow 3.2.0 neither told us that a case waits for
these messages nor looks at isInterrupting."""

from __future__ import annotations

import pytest

from engine.runtime.instances import MessageCorrelationError
from tests.conftest import deploy_fixture


def _open(engine, case):  # type: ignore[no-untyped-def]
    return sorted(t.task_definition_key for t in engine.tasks.list() if t.instance_id == case.id)


def test_non_interrupting_runs_beside_the_flow(engine):
    deploy_fixture(engine, "engine/event_subprocess.bpmn")
    case = engine.runtime.start("event_subprocess", business_key="ESP-1")
    engine.runtime.correlate("ExpertReview", business_key="ESP-1", variables={"expert": "王工"})
    assert _open(engine, case) == ["expert", "review"]
    expert = next(t for t in engine.tasks.list() if t.task_definition_key == "expert")
    assert engine.tasks.variables(expert.id)["expert"] == "王工"  # the message's variables reach the sub-process
    engine.tasks.complete(expert.id, "u1")
    assert _open(engine, case) == ["review"]
    review = engine.tasks.list()[0]
    engine.tasks.complete(review.id, "u1")
    assert engine.runtime.instance(case.id).state == "COMPLETED"
    with pytest.raises(MessageCorrelationError):  # an ended case listens no more
        engine.runtime.correlate("ExpertReview", business_key="ESP-1")


def test_interrupting_cancels_the_flow_and_its_timers_and_ends_the_case(engine, clock):
    deploy_fixture(engine, "engine/event_subprocess.bpmn")
    case = engine.runtime.start("event_subprocess", business_key="ESP-2")
    other = engine.runtime.start("event_subprocess", business_key="ESP-3")
    engine.runtime.correlate("ExpertReview", business_key="ESP-2")
    assert [j.state for j in engine.jobs.list(instance_id=case.id)] == ["PENDING"]  # the review's P3D timer
    engine.runtime.correlate("Withdraw", business_key="ESP-2", variables={"reason": "申请人撤回"})
    assert _open(engine, case) == []
    assert engine.runtime.instance(case.id).state == "COMPLETED"
    assert engine.jobs.list(instance_id=case.id) == []  # no timer left to fire
    events = [e.event_type for e in engine.history.events(case.id)]
    assert "ActivitiesInterrupted" in events and events.count("TaskCancelled") == 2
    clock.advance(days=4)
    engine.jobs.execute_due()
    assert _open(engine, case) == []
    assert _open(engine, other) == ["chase", "review"]  # the other case was not touched; its timer fired
