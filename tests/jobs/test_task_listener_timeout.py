"""camunda:taskListener event="timeout": a job per listener when the user task is created, the listener runs when it
falls due (a camunda:script in the sandbox; a Java class is recorded), the task stays open, and the jobs are
cancelled in the transaction that ends the task first."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.errors import DeploymentError, ScriptError
from engine.persistence.models import Job

BEIJING = timezone(timedelta(hours=8))

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="reminders" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="审核" camunda:candidateGroups="window">
      <bpmn:extensionElements>{listeners}</bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="deadline" attachedToRef="review">
      <bpmn:timerEventDefinition><bpmn:timeDuration>P10D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="done"/>
    <bpmn:endEvent id="done"/>
    <bpmn:sequenceFlow id="f3" sourceRef="deadline" targetRef="late"/>
    <bpmn:endEvent id="late"/>
  </bpmn:process>
</bpmn:definitions>
"""

SCRIPT = """
<camunda:taskListener event="timeout" id="remind">
  <camunda:script scriptFormat="python">reminders = reminders + 1 if reminders else 1
last_reminded_task = "提醒: " + task_name</camunda:script>
  <bpmn:timerEventDefinition><bpmn:timeDuration>${remindAfter}</bpmn:timeDuration></bpmn:timerEventDefinition>
</camunda:taskListener>"""

JAVA = """
<camunda:taskListener event="timeout" id="escalate" delegateExpression="${{escalator}}">
  <bpmn:timerEventDefinition><bpmn:{tag}>{timer}</bpmn:{tag}></bpmn:timerEventDefinition>
</camunda:taskListener>"""


def _deploy(engine, listeners: str) -> None:
    engine.repository.deploy([("reminders.bpmn", BPMN.format(listeners=listeners).encode())])


def _listener_jobs(engine, case_id, *states):
    return sorted((j for j in engine.jobs.list(states=states or ("PENDING",), instance_id=case_id)
                   if j.job_type == "task-listener-timeout"), key=lambda j: j.due)


def _fired(engine, case_id):
    return [e for e in engine.history.events(case_id) if e.event_type == "TaskTimeoutListenerFired"]


def _job_task_ids(engine) -> set[str | None]:
    return set(engine.executor.read(lambda s: s.scalars(
        select(Job.task_id).where(Job.job_type == "task-listener-timeout")).all()))


def test_a_script_listener_runs_in_the_sandbox_and_the_task_stays_open(engine, clock):
    _deploy(engine, SCRIPT)
    case = engine.runtime.start("reminders", variables={"remindAfter": "PT30M", "reminders": 0})
    (task,) = engine.tasks.list(instance_id=case.id)
    (job,) = _listener_jobs(engine, case.id)
    assert job.due == clock.now() + timedelta(minutes=30)
    assert _job_task_ids(engine) == {task.id}  # the job belongs to the human task
    assert engine.jobs.execute_due(job.due - timedelta(seconds=1)) == []
    assert [r.outcome for r in engine.jobs.execute_due(job.due)] == ["fired"]
    variables = engine.runtime.variables(case.id)
    assert variables["reminders"] == 1 and variables["last_reminded_task"] == "提醒: 审核"
    (event,) = _fired(engine, case.id)
    assert (event.task_id, event.payload["listenerId"], event.payload["script"]) == (task.id, "remind", True)
    assert event.payload["variables"] == {"reminders": 1, "last_reminded_task": "提醒: 审核"}
    assert [t.id for t in engine.tasks.list(instance_id=case.id)] == [task.id]
    assert _listener_jobs(engine, case.id) == []  # a duration fires once


@pytest.mark.parametrize("cache", ["warm", "cold"])
def test_completing_the_task_first_cancels_its_listener_jobs_in_the_same_transaction(engine, clock, cache):
    if cache == "cold":  # every command loads the case from the database (no workflow kept in memory)
        from engine.runtime.cases import WorkflowCache

        engine.services.workflows = WorkflowCache(size=0)
    _deploy(engine, SCRIPT + JAVA.format(tag="timeDuration", timer="PT2H"))
    case = engine.runtime.start("reminders", variables={"remindAfter": "PT1H", "reminders": 0})
    (task,) = engine.tasks.list(instance_id=case.id)
    assert len(_listener_jobs(engine, case.id)) == 2
    engine.tasks.complete(task.id, "clerk")  # the command ends the task row itself (uow.ended_task_ids)
    assert _listener_jobs(engine, case.id) == []
    assert len(_listener_jobs(engine, case.id, "CANCELLED")) == 2
    assert engine.jobs.execute_due(clock.now() + timedelta(hours=3)) == []
    assert _fired(engine, case.id) == [] and engine.runtime.instance(case.id).state == "COMPLETED"


def test_a_task_cancelled_by_its_boundary_timer_cancels_its_listener_jobs(engine, clock):
    _deploy(engine, JAVA.format(tag="timeDate", timer="2026-03-20T09:00:00"))
    case = engine.runtime.start("reminders")
    (listener,) = _listener_jobs(engine, case.id)
    assert listener.due == datetime(2026, 3, 20, 9, 0, tzinfo=BEIJING)  # a local date-time: the engine's zone
    results = engine.jobs.execute_due(clock.now() + timedelta(days=10, seconds=1))  # P10D boundary first
    assert [r.outcome for r in results] == ["fired"]
    assert engine.runtime.instance(case.id).state == "COMPLETED"
    assert _listener_jobs(engine, case.id) == []
    assert [j.id for j in _listener_jobs(engine, case.id, "CANCELLED")] == [listener.id]


def test_a_java_listener_is_recorded_and_a_cycle_rearms(engine, clock):
    _deploy(engine, JAVA.format(tag="timeCycle", timer="R3/PT1H"))
    case = engine.runtime.start("reminders")
    (task,) = engine.tasks.list(instance_id=case.id)
    dues = []
    for _ in range(3):
        (job,) = _listener_jobs(engine, case.id)
        dues.append(job.due)
        assert [r.outcome for r in engine.jobs.execute_due(job.due)] == ["fired"]
    assert dues == [clock.now() + timedelta(hours=h) for h in (1, 2, 3)]
    assert _listener_jobs(engine, case.id) == []  # R3: three firings
    events = _fired(engine, case.id)
    assert [(e.payload["listenerId"], e.payload["implementation"], e.payload["script"]) for e in events] == [
        ("escalate", "delegateExpression=${escalator}", False)] * 3
    assert [t.id for t in engine.tasks.list(instance_id=case.id)] == [task.id]


def test_a_cron_cycle_and_workdays_in_listener_timers(engine, clock):
    _deploy(engine, JAVA.format(tag="timeCycle", timer="0 0 9 ? * MON-FRI")
            + JAVA.format(tag="timeDate", timer="${workdays(2)}").replace('id="escalate"', 'id="due-warning"'))
    case = engine.runtime.start("reminders")
    cron_job, workdays_job = _listener_jobs(engine, case.id)
    assert cron_job.due == datetime(2026, 3, 3, 9, 0, tzinfo=BEIJING)
    assert workdays_job.due.astimezone(BEIJING).date() == datetime(2026, 3, 4).date()  # 2 working days on
    assert [r.outcome for r in engine.jobs.execute_due(cron_job.due)] == ["fired"]
    (again, _) = _listener_jobs(engine, case.id)
    assert again.due == datetime(2026, 3, 4, 9, 0, tzinfo=BEIJING)


def test_a_suspended_case_does_not_fire_its_listeners(engine, clock):
    _deploy(engine, JAVA.format(tag="timeDuration", timer="PT1H"))
    case = engine.runtime.start("reminders")
    engine.runtime.suspend(case.id)
    assert engine.jobs.execute_due(clock.now() + timedelta(hours=2)) == []
    engine.runtime.resume(case.id)
    assert [r.outcome for r in engine.jobs.execute_due(clock.now() + timedelta(hours=2))] == ["fired"]
    assert len(_fired(engine, case.id)) == 1


def test_an_invalid_cron_from_a_variable_fails_the_command_that_creates_the_task(engine):
    _deploy(engine, JAVA.format(tag="timeCycle", timer="${schedule}"))
    with pytest.raises(ScriptError) as info:  # as a dueDate that cannot be evaluated: the start is refused
        engine.runtime.start("reminders", variables={"schedule": "0 0 9 ? * MON-FRX"})
    assert "timeout listener 'escalate'" in info.value.message and "'FRX'" in info.value.message
    assert engine.runtime.instances(definition_key="reminders") == []


@pytest.mark.parametrize(("listener", "fragment"), [
    ('<camunda:taskListener event="timeout" class="a.B"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H'
     '</bpmn:timeDuration></bpmn:timerEventDefinition></camunda:taskListener>', "needs an id"),
    ('<camunda:taskListener event="timeout" id="x" class="a.B"/>', "exactly one nested timerEventDefinition"),
    ('<camunda:taskListener event="timeout" id="x"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H'
     '</bpmn:timeDuration></bpmn:timerEventDefinition></camunda:taskListener>', "names no implementation"),
    ('<camunda:taskListener event="timeout" id="x"><camunda:script scriptFormat="groovy">x</camunda:script>'
     '<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
     '</camunda:taskListener>', "scriptFormat 'groovy'"),
    ('<camunda:taskListener event="timeout" id="x" class="a.B"><bpmn:timerEventDefinition><bpmn:timeCycle>'
     '0 0 9 ? * MON-FRX</bpmn:timeCycle></bpmn:timerEventDefinition></camunda:taskListener>', "day-of-week"),
    ('<camunda:taskListener event="create" class="a.B"/>', "event 'create') is not supported"),
])
def test_invalid_listeners_are_refused_at_deploy(engine, listener, fragment):
    with pytest.raises(DeploymentError) as info:
        _deploy(engine, listener)
    assert any(fragment in p.message and p.file == "reminders.bpmn" and p.element_id in ("review", "x")
               for p in info.value.problems), info.value.problems
    assert engine.repository.definitions() == []
