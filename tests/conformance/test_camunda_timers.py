"""Timer outcomes of shared/corpus/camunda/platform (README in tests/fixtures/corpus/camunda), fired as jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conformance.helpers import CAMUNDA, active, cold_cache, deploy, keys, one  # noqa: F401 - fixture

P = f"{CAMUNDA}/platform"

pytestmark = pytest.mark.usefixtures("cold_cache")


def _pending(engine, case_id):
    return engine.jobs.list(states=("PENDING",), instance_id=case_id)


def test_fix_system_failure_timer_fires_first_and_hands_over(engine, clock):
    deploy(engine, f"{P}/SubProcessTest.fixSystemFailureProcess.bpmn20.xml")
    case = engine.runtime.start("fixSystemFailure")
    (job,) = _pending(engine, case.id)
    assert job.due == clock.now() + timedelta(hours=4)
    assert engine.jobs.execute_due(clock.now() + timedelta(hours=3, minutes=59)) == []
    assert [r.outcome for r in engine.jobs.execute_due(clock.now() + timedelta(hours=4, seconds=1))] == ["fired"]
    task = one(engine, case.id)
    assert (task.name, task.candidate_groups) == ("Hand over to Level 2 support", ("management",))
    assert len(engine.tasks.list(instance_id=case.id, state="CANCELLED")) == 2  # both investigations
    engine.tasks.complete(task.id, "kermit")
    assert engine.runtime.instance(case.id).state == "COMPLETED"


def test_act901_five_timers_cancel_every_task(engine, clock):
    deploy(engine, f"{P}/MultiInstanceTest.testAct901.bpmn20.xml")
    case = engine.runtime.start("multiInstanceSubProcess")
    assert len(active(engine, case.id)) == 5
    assert len(_pending(engine, case.id)) == 5
    fired = engine.jobs.execute_due(clock.now() + timedelta(minutes=1, seconds=1))
    assert [r.outcome for r in fired] == ["fired", "skipped", "skipped", "skipped", "skipped"]  # all in the first
    assert [j.state for j in engine.jobs.list(states=("DONE",), instance_id=case.id)] == ["DONE"] * 5
    assert _pending(engine, case.id) == []
    assert [t.name for t in engine.tasks.list(instance_id=case.id, state="CANCELLED")] == ["First Task"] * 5
    # Deviation from the README: Camunda runs the abstract <task id="subprocess1mailtask1"/> straight through;
    # in this engine (SpiffWorkflow's semantics) an abstract task waits in the inbox (docs/camunda-dialect.md).
    left = active(engine, case.id)
    assert keys(left) == ["subprocess1mailtask1"] * 5
    for task in left:
        engine.tasks.complete(task.id, "kermit")
    assert engine.runtime.instance(case.id).state == "COMPLETED"


@pytest.mark.parametrize("order", ["original-first", "timer-task-first"])
def test_non_interrupting_timer_on_concurrent_sub_process_adds_a_task(engine, clock, order):
    deploy(engine, f"{P}/BoundaryTimerNonInterruptingEventTest.testTimerOnConcurrentSubprocess.bpmn20.xml")
    case = engine.runtime.start("testTimerOnConcurrentSubprocess")
    assert len(active(engine, case.id)) == 4 and len(_pending(engine, case.id)) == 1
    assert [r.outcome for r in engine.jobs.execute_due(clock.now() + timedelta(hours=1, seconds=1))] == ["fired"]
    tasks = active(engine, case.id)
    assert keys(tasks) == ["sub1task1", "sub1task2", "sub2task1", "sub2task2", "timerFiredTask"]
    if order == "timer-task-first":
        tasks.reverse()
    for task in tasks:
        assert engine.runtime.instance(case.id).state == "ACTIVE"
        engine.tasks.complete(task.id, "kermit")
    assert engine.runtime.instance(case.id).state == "COMPLETED"


def test_expression_on_timer_fires_after_the_duration_and_ends_the_process(engine, clock):
    deploy(engine, f"{P}/BoundaryTimerEventTest.testExpressionOnTimer.bpmn20.xml")
    case = engine.runtime.start("testExpressionOnTimer", variables={"duration": "PT1H"})
    (job,) = _pending(engine, case.id)
    assert job.due == clock.now() + timedelta(hours=1)
    assert [r.outcome for r in engine.jobs.execute_due(clock.now() + timedelta(hours=1, seconds=5))] == ["fired"]
    assert engine.runtime.instance(case.id).state == "COMPLETED"


def _timers(engine, case_id):
    return [j for j in _pending(engine, case_id) if j.job_type == "timer"]


def test_cron_cycle_in_event_sub_process_re_arms_itself(engine, clock):
    """0 0/5 * * * ?: each execution of the cycle job creates a new job; each firing starts the event
    sub-process (non-interrupting): one more userTask2, the main userTask stays."""
    deploy(engine, f"{P}/StartTimerEventTest.testNonInterruptingTimeCycleInEventSubProcess.bpmn20.xml")
    case = engine.runtime.start("process")
    assert keys(active(engine, case.id)) == ["userTask"]
    (job,) = _timers(engine, case.id)
    assert job.activity_id == "subprocessStartEvent"
    assert job.due == clock.now() + timedelta(minutes=5)  # 09:30 Beijing -> 09:35
    assert engine.jobs.execute_due(job.due - timedelta(seconds=1)) == []
    seen = {job.id}
    for n in range(1, 5):
        (job,) = _timers(engine, case.id)
        results = engine.jobs.execute_due(job.due)
        assert [(r.job_id, r.outcome) for r in results] == [(job.id, "fired")]
        assert keys(active(engine, case.id)) == ["userTask"] + ["userTask2"] * n
        (new,) = _timers(engine, case.id)  # exactly one PENDING job for the cycle, a new one each time
        assert new.id not in seen and new.due == job.due + timedelta(minutes=5)
        seen.add(new.id)
    assert len([j for j in engine.jobs.list(states=("DONE",), instance_id=case.id)]) == 4
    engine.tasks.complete(one(engine, case.id, task_definition_key="userTask").id, "kermit")
    assert keys(active(engine, case.id)) == ["userTask2"] * 4


def test_multiple_timeout_task_listeners(engine, clock):
    """After 70 min the 1 h listener has fired and the 2 h one is still pending; the task stays open."""
    deploy(engine, f"{P}/TaskListenerTest.testMultipleTimeoutTaskListeners.bpmn20.xml")
    case = engine.runtime.start("process")
    task = one(engine, case.id)
    jobs = sorted(_pending(engine, case.id), key=lambda j: j.due)
    assert [(j.job_type, j.activity_id, j.due) for j in jobs] == [
        ("task-listener-timeout", "Task_0bc7eqe", clock.now() + timedelta(hours=1)),
        ("task-listener-timeout", "Task_0bc7eqe", clock.now() + timedelta(hours=2))]
    results = engine.jobs.execute_due(clock.now() + timedelta(minutes=70))
    assert [(r.job_id, r.outcome) for r in results] == [(jobs[0].id, "fired")]
    (fired,) = [e for e in engine.history.events(case.id) if e.event_type == "TaskTimeoutListenerFired"]
    assert fired.task_id == task.id and fired.payload["listenerId"] == "timeout-friendly"
    assert fired.payload["implementation"] == \
        "class=org.camunda.bpm.engine.test.bpmn.tasklistener.util.TimeoutTaskListener"
    assert [j.id for j in _pending(engine, case.id)] == [jobs[1].id]
    assert one(engine, case.id).id == task.id  # the task stays open
    assert engine.runtime.instance(case.id).state == "ACTIVE"


def test_relative_due_date(engine, clock):
    """dueDate="${dateVariable}" with P2DT2H30M: creation + 2 d 2 h 30 min, calendar time."""
    deploy(engine, f"{P}/TaskDueDateExtensionsTest.testRelativeDueDate.bpmn20.xml")
    case = engine.runtime.start("dueDateExtension", variables={"dateVariable": "P2DT2H30M"})
    task = one(engine, case.id)
    assert task.due == clock.now() + timedelta(days=2, hours=2, minutes=30)
    assert task.created == clock.now()
