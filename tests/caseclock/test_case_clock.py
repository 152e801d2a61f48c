"""The case clock (承诺时限/法定时限) on a real database: acceptance, working-day deadlines on the 2026 official
calendar, suspension (挂起) moving every deadline, extension (延期) refused after expiry, provisional deadlines,
timeout policies (WARN_ONLY, DEEMED_APPROVED, ESCALATE) each applied once, notifications through the outbox."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.bootstrap import build_engine
from engine.errors import Conflict, DeploymentError, InvalidInput

CST = timezone(timedelta(hours=8))
FIX = Path(__file__).parent / "fixtures"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


@pytest.fixture
def notify_file(tmp_path):  # type: ignore[no-untyped-def]
    return tmp_path / "notifications.jsonl"


@pytest.fixture
def eng(settings, clock, notify_file):  # type: ignore[no-untyped-def]
    e = build_engine(dataclasses.replace(settings, notify_file=str(notify_file)), clock=clock)
    for name in ("clock_parallel.bpmn", "clock_simple.bpmn"):
        e.repository.deploy([(name, (FIX / name).read_bytes())])
    yield e
    e.close()


def _accept_parallel(eng, clock, when: datetime, key: str = "BJ-2026-0001"):  # type: ignore[no-untyped-def]
    clock.set(when - timedelta(minutes=20))
    case = eng.runtime.start("clock_parallel", business_key=key)
    assert eng.cases.clock(case.id).state == "WAITING"  # received, not accepted: the clock does not run
    clock.set(when)
    (intake,) = eng.tasks.list(instance_id=case.id)
    eng.tasks.complete(intake.id, "clerk1")
    return case


def _events(eng, case_id: str, kind: str) -> list:  # type: ignore[no-untyped-def]
    return [e for e in eng.history.events(case_id) if e.event_type == kind]


def _tasks(eng, case_id: str) -> dict:  # type: ignore[no-untyped-def]
    return {t.task_definition_key: t for t in eng.tasks.list(instance_id=case_id)}


def test_case_accepted_on_a_friday_before_a_holiday_shows_the_promised_date(eng, clock):
    clock.set(at(2026, 4, 3, 10, 0))  # Friday; 4-6 April is the Qingming holiday
    case = eng.runtime.start("clock_simple", business_key="QM-1")
    c = eng.cases.clock(case.id)
    assert c.state == "RUNNING" and c.accepted_at == at(2026, 4, 3, 10, 0)
    assert c.promised_due == at(2026, 4, 13, 17, 30)  # 7,8,9,10,13 April (Monday-Friday would say 10 April)
    assert c.legal_due == at(2026, 5, 7, 17, 30)  # 20 wd, over the Labour Day holiday (1-5 May)
    assert c.warn_at == at(2026, 4, 10, 17, 30)  # max(1, ceil(20% of 5)) = 1 wd before
    assert (c.signal, c.working_days_left, c.provisional) == ("ON_TIME", 5, False)
    clock.set(at(2026, 9, 18, 16, 0))  # Friday; Sunday 20 September is a 调休 working day, 25-27 a holiday
    c2 = eng.cases.clock(eng.runtime.start("clock_simple", business_key="ZQ-1").id)
    assert c2.promised_due == at(2026, 9, 24, 17, 30)


def test_signals_fire_once_and_the_clock_stops_at_the_end(eng, clock):
    clock.set(at(2026, 4, 3, 10, 0))
    case = eng.runtime.start("clock_simple", business_key="QM-2")
    clock.set(at(2026, 4, 10, 18, 0))
    assert eng.cases.clock(case.id).signal == "WARNING"
    results = eng.jobs.execute_due()
    assert [r.outcome for r in results if r.instance_id == case.id] == ["fired"]
    assert len(_events(eng, case.id, "CaseDeadlineWarning")) == 1
    clock.set(at(2026, 4, 13, 17, 31))
    assert eng.cases.clock(case.id).signal == "OVERDUE"
    eng.jobs.execute_due()
    eng.jobs.execute_due()
    assert len(_events(eng, case.id, "CaseDeadlineWarning")) == 1
    (overdue,) = _events(eng, case.id, "CaseOverdue")
    assert "2026-04-13" in overdue.payload["reason"]
    (task,) = eng.tasks.list(instance_id=case.id)
    eng.tasks.complete(task.id, "clerk1")
    c = eng.cases.clock(case.id)
    assert (c.state, c.signal, c.stopped_at) == ("STOPPED", "OVERDUE", at(2026, 4, 13, 17, 31))
    (stopped,) = _events(eng, case.id, "CaseClockStopped")
    assert stopped.payload["onTime"] is False
    pending = [j for j in eng.jobs.list(instance_id=case.id) if j.job_type.startswith("case-")]
    assert pending == []  # the legal-deadline job went with the stop


def test_acceptance_starts_the_clock_and_tasks_get_working_day_deadlines(eng, clock):
    case = _accept_parallel(eng, clock, at(2026, 4, 1, 10, 0))
    c = eng.cases.clock(case.id)
    assert c.accepted_at == at(2026, 4, 1, 10, 0)
    assert c.promised_due == at(2026, 4, 16, 17, 30)  # domain.md §1.6
    assert c.legal_due == at(2026, 4, 30, 17, 30)
    assert c.warn_at == at(2026, 4, 14, 17, 30)  # 10 wd: yellow for the last 2
    t = _tasks(eng, case.id)
    assert t["review_market"].due == at(2026, 4, 7, 17, 30)  # 2, 3, 7 April
    assert t["review_market"].follow_up == at(2026, 4, 3, 17, 30)  # warnBefore 1wd
    assert t["review_civil"].follow_up is None
    kinds = sorted((j.job_type, j.due) for j in eng.jobs.list(instance_id=case.id))
    assert ("task-timeout", at(2026, 4, 7, 17, 30)) in kinds and ("task-warning", at(2026, 4, 3, 17, 30)) in kinds
    assert ("timer", at(2026, 4, 8, 17, 30)) in kinds  # the ${workdays(4)} boundary timer
    assert ("case-overdue", at(2026, 4, 16, 17, 30)) in kinds


def test_suspension_moves_every_running_deadline_by_the_paused_working_days(eng, clock):
    case = _accept_parallel(eng, clock, at(2026, 4, 1, 10, 0))
    clock.set(at(2026, 4, 2, 9, 0))
    s = eng.cases.suspend(case.id, reason="专家评审：消防设计", kind="expert-review", expected_days=3, actor="lead1")
    assert s.state == "SUSPENDED"
    paused = {j.job_type for j in eng.jobs.list(instance_id=case.id) if j.state == "PENDING"}
    assert not paused & {"task-timeout", "task-warning", "case-overdue", "timer"}  # nothing counts meanwhile
    eng.jobs.execute_due()  # the notice of the suspension to the applicant goes out
    assert any("挂起" in n["subject"] and n["state"] == "SENT" for n in eng.notifications.list(instance_id=case.id))
    clock.set(at(2026, 4, 7, 18, 0))  # past the tasks' original due time: nothing fires while suspended
    assert [r for r in eng.jobs.execute_due() if r.instance_id == case.id and r.outcome == "fired"] == []
    assert eng.cases.clock(case.id).signal == "ON_TIME"
    clock.set(at(2026, 4, 8, 10, 0))
    r = eng.cases.resume(case.id, actor="lead1")
    assert r.suspended_days == 4  # 2, 3, 7, 8 April (4-6 April is the Qingming holiday)
    assert r.promised_due == at(2026, 4, 22, 17, 30)
    assert r.legal_due == at(2026, 5, 9, 17, 30)  # 30 April + 4 wd: 6, 7, 8 and Saturday 9 May (调休)
    t = _tasks(eng, case.id)
    assert t["review_market"].due == at(2026, 4, 13, 17, 30)  # 7 April + 4 wd: 8, 9, 10, 13
    assert t["review_market"].follow_up == at(2026, 4, 10, 17, 30)
    jobs = {(j.job_type, j.activity_id): j for j in eng.jobs.list(instance_id=case.id)}
    assert jobs[("task-timeout", "review_fire")].due == at(2026, 4, 13, 17, 30)
    assert jobs[("timer", "urge_timer")].due == at(2026, 4, 14, 17, 30)  # the BPMN timer in working days too
    (resumed,) = _events(eng, case.id, "CaseClockResumed")
    assert resumed.payload["workingDays"] == 4 and resumed.payload["movedTimers"] == 1
    clock.set(at(2026, 4, 14, 17, 31))
    eng.jobs.execute_due()
    assert "urge" in _tasks(eng, case.id)  # the timer fired at its shifted time (in whichever job ran the case)
    (timer_job,) = [j for j in eng.jobs.list(states=("DONE",), instance_id=case.id) if j.job_type == "timer"]
    assert timer_job.due == at(2026, 4, 14, 17, 30)


def test_domain_example_expert_review_from_8_to_14_april(eng, clock):
    case = _accept_parallel(eng, clock, at(2026, 4, 1, 10, 0))
    clock.set(at(2026, 4, 8, 10, 0))
    eng.cases.suspend(case.id, reason="专家评审", kind="expert-review")
    with pytest.raises(Conflict, match="already suspended"):
        eng.cases.suspend(case.id, reason="again")
    clock.set(at(2026, 4, 14, 15, 0))
    c = eng.cases.resume(case.id)
    assert c.suspended_days == 5 and c.promised_due == at(2026, 4, 23, 17, 30)
    assert c.legal_due == at(2026, 5, 11, 17, 30)  # 6, 7, 8, Saturday 9 May (调休), 11 May
    assert c.suspensions[0]["workingDays"] == 5 and c.suspensions[0]["kindName"] == "专家评审"
    with pytest.raises(Conflict, match="not suspended"):
        eng.cases.resume(case.id)


def test_extension_before_expiry_moves_the_deadline_and_after_expiry_is_refused(eng, clock):
    case = _accept_parallel(eng, clock, at(2026, 4, 1, 10, 0))
    clock.set(at(2026, 4, 10, 9, 0))
    c = eng.cases.extend(case.id, days=3, reason="需补充现场核查", approver="局长 王某", actor="clerk1")
    assert c.promised_due == at(2026, 4, 21, 17, 30) and c.extended_days == 3
    assert c.extensions[0]["approver"] == "局长 王某"
    clock.set(at(2026, 4, 22, 9, 0))
    before = eng.cases.clock(case.id)
    with pytest.raises(Conflict, match="before expiry"):
        eng.cases.extend(case.id, days=2, reason="太晚", approver="局长 王某")
    after = eng.cases.clock(case.id)
    assert after == before  # nothing changed
    for bad in ({"days": 0}, {"days": True}, {"days": 61}):
        with pytest.raises(InvalidInput):
            eng.cases.extend(case.id, reason="x", approver="y", **bad)
    with pytest.raises(InvalidInput, match="approver"):
        eng.cases.extend(case.id, days=1, reason="x", approver=" ")


def test_timeout_policies_are_applied_once_each(eng, clock, notify_file):
    case = _accept_parallel(eng, clock, at(2026, 4, 1, 10, 0))
    clock.set(at(2026, 4, 7, 17, 31))
    # two workers at once: every policy applies exactly once
    results: list = []
    threads = [threading.Thread(target=lambda w=w: results.extend(eng.jobs.execute_due(worker_id=w)))
               for w in ("w1", "w2")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    eng.jobs.execute_due(worker_id="w3")  # the notifications queued by the policies
    eng.jobs.execute_due(worker_id="w3")
    assert len(_events(eng, case.id, "TaskDeadlineWarning")) == 2  # market and fire (civil has no warnBefore)
    overdue = _events(eng, case.id, "TaskOverdue")
    assert sorted(e.payload["policy"] for e in overdue) == ["DEEMED_APPROVED", "ESCALATE", "WARN_ONLY"]
    t = _tasks(eng, case.id)
    assert "review_fire" not in t  # deemed approved by the system
    fire = eng.tasks.list(instance_id=case.id, state="COMPLETED")
    (deemed,) = [x for x in fire if x.task_definition_key == "review_fire"]
    assert deemed.deemed and deemed.completed_by == "system"
    (reason,) = _events(eng, case.id, "TaskDeemedApproved")
    assert "超时默认同意" in reason.payload["reason"]
    formal = t["review_fire__formalOpinion"]
    assert formal.name == "出具正式意见：消防审查" and formal.origin == "formal-opinion"
    assert formal.parent_task_id == deemed.id and formal.candidate_groups == ("fire",)
    assert formal.due == at(2026, 4, 8, 17, 30)  # 1 wd
    esc = t["review_civil__escalation"]
    assert esc.candidate_groups == ("supervision",) and esc.name.startswith("督办：人防审查")
    assert "review_civil" in t and "review_market" in t  # WARN_ONLY and ESCALATE leave the task open
    assert t["review_market"].signal(clock.now()) == "OVERDUE"
    variables = eng.runtime.variables(case.id)
    assert variables["fireApproved"] is True and variables["deemed"] is True
    # notifications: written with the decision, delivered once each
    sent = [json.loads(line) for line in notify_file.read_text(encoding="utf-8").splitlines()]
    assert len(sent) == len({m["id"] for m in sent}) == 5  # 2 warnings + 3 timeouts
    assert all(m["state"] == "SENT" for m in eng.notifications.list(instance_id=case.id))
    assert any("超时默认同意" in m["subject"] for m in sent)
    # the formal opinion is an ordinary task; the review branches go on
    eng.tasks.complete(formal.id, "fire1", {"opinion": "同意"})
    eng.tasks.complete(t["review_market"].id, "m1")
    eng.tasks.complete(t["review_civil"].id, "c1")
    assert "decide" in _tasks(eng, case.id)
    assert all(r.ok for r in eng.history.verify(case.id))


def test_a_task_completed_in_time_has_its_deadline_jobs_cancelled(eng, clock):
    case = _accept_parallel(eng, clock, at(2026, 4, 1, 10, 0))
    t = _tasks(eng, case.id)
    eng.tasks.complete(t["review_fire"].id, "fire1", {"fireApproved": True})
    states = {(j.job_type, j.state) for j in eng.jobs.list(states=("PENDING", "CANCELLED"), instance_id=case.id)
              if j.activity_id == "review_fire"}
    assert states == {("task-warning", "CANCELLED"), ("task-timeout", "CANCELLED")}
    clock.set(at(2026, 4, 7, 17, 31))
    eng.jobs.execute_due()
    assert _events(eng, case.id, "TaskDeemedApproved") == []


def test_a_year_without_calendar_data_gives_a_flagged_provisional_deadline(eng, clock):
    clock.set(at(2026, 12, 28, 10, 0))
    case = eng.runtime.start("clock_simple", business_key="NY-1")
    c = eng.cases.clock(case.id)
    assert c.provisional is True
    assert c.promised_due == at(2027, 1, 4, 17, 30)  # Monday-Friday estimate, to be recomputed
    (flag,) = _events(eng, case.id, "CaseDeadlineProvisional")
    assert "estimate" in flag.payload["reason"]
    assert eng.cases.recompute_provisional() == []  # the calendar still does not know 2027
    # the State Council publishes 2027's schedule; an administrator adds it: the deadline becomes final
    clock.set(at(2026, 12, 29, 9, 0))
    added = eng.calendar.add_year(2027, {"2027-01-01": "元旦"}, [], actor="admin")
    assert added["recomputed"] == [case.id]
    c = eng.cases.clock(case.id)
    assert c.provisional is False and c.promised_due == at(2027, 1, 5, 17, 30)  # 1 January is a holiday
    (again,) = _events(eng, case.id, "CaseDeadlineRecomputed")
    assert again.payload["previousDue"].startswith("2027-01-04")
    (job,) = [j for j in eng.jobs.list(instance_id=case.id) if j.job_type == "case-overdue"]
    assert job.due == at(2027, 1, 5, 17, 30)
    assert [d.day.isoformat() for d in eng.calendar.show(2027)] == ["2027-01-01"]
    with pytest.raises(InvalidInput, match="added already"):
        eng.calendar.add_year(2027, ["2027-01-01"], [])
    with pytest.raises(InvalidInput, match="official data already"):
        eng.calendar.add_year(2026, ["2026-01-01"], [])
    with pytest.raises(InvalidInput, match="not in 2028"):
        eng.calendar.add_year(2028, ["2027-01-01"], [])


@pytest.mark.parametrize("props, message", [
    ('<camunda:property name="promisedLimit" value="5 days"/>', "promisedLimit '5 days' is not a limit"),
    ('<camunda:property name="promisedLimit" value="5wd"/><camunda:property name="clockStart" value="nope"/>',
     "clockStart 'nope' is not the id of an activity"),
])
def test_bad_process_limits_are_refused_at_deploy(eng, props, message):
    xml = (FIX / "clock_simple.bpmn").read_text(encoding="utf-8").replace(
        '<camunda:property name="promisedLimit" value="5wd"/>', props).replace("clock_simple", "clock_bad")
    with pytest.raises(DeploymentError) as err:
        eng.repository.deploy([("bad.bpmn", xml.encode())])
    assert message in str(err.value) and "bad.bpmn" in str(err.value)


def test_bad_timeout_policy_is_refused_at_deploy(eng):
    xml = (FIX / "clock_parallel.bpmn").read_text(encoding="utf-8").replace(
        'value="ESCALATE"', 'value="IGNORE"').replace("clock_parallel", "clock_bad2")
    with pytest.raises(DeploymentError) as err:
        eng.repository.deploy([("bad2.bpmn", xml.encode())])
    assert "review_civil" in str(err.value) and "onTimeout 'IGNORE'" in str(err.value)


def test_a_task_due_in_an_unknown_year_is_estimated_and_recomputed_when_the_year_is_added(eng, clock):
    case = _accept_parallel(eng, clock, at(2026, 12, 29, 10, 0), key="NY-2")
    t = _tasks(eng, case.id)
    # 30, 31 December and Friday 1 January 2027 counted Monday-Friday: an estimate, flagged
    assert t["review_market"].due == at(2027, 1, 1, 17, 30)
    assert t["review_market"].follow_up == at(2026, 12, 31, 17, 30)
    assert len(_events(eng, case.id, "TaskDueProvisional")) == 3
    assert eng.cases.clock(case.id).provisional is True
    clock.set(at(2026, 12, 30, 9, 0))
    result = eng.calendar.add_year(2027, {"2027-01-01": "元旦"}, {}, actor="admin")
    assert result["recomputed"] == [case.id]
    t = _tasks(eng, case.id)
    assert t["review_market"].due == at(2027, 1, 4, 17, 30)  # 1 January is a holiday
    assert t["review_market"].follow_up == at(2026, 12, 31, 17, 30)
    jobs = {(j.job_type, j.activity_id): j.due for j in eng.jobs.list(instance_id=case.id)}
    assert jobs[("task-timeout", "review_fire")] == at(2027, 1, 4, 17, 30)
    assert len(_events(eng, case.id, "TaskDueRecomputed")) == 3
    assert eng.cases.clock(case.id).provisional is False


def test_a_suspended_case_s_jobs_wait_and_fire_after_activation(eng, clock):
    case = _accept_parallel(eng, clock, at(2026, 4, 1, 10, 0))
    eng.runtime.suspend(case.id, actor="admin")
    assert {j.state for j in eng.jobs.list(states=("PENDING", "SUSPENDED"), instance_id=case.id)} == {"SUSPENDED"}
    clock.set(at(2026, 4, 8, 9, 0))
    assert eng.jobs.next_due() is None  # the only case's jobs are suspended: no alarm to set
    assert [r for r in eng.jobs.execute_due() if r.instance_id == case.id] == []  # nothing fires, nothing spins
    eng.runtime.resume(case.id, actor="admin")
    fired = [r for r in eng.jobs.execute_due() if r.instance_id == case.id and r.outcome == "fired"]
    assert len(fired) >= 5  # warnings, timeouts and the workdays timer, each once
    eng.runtime.terminate(case.id, reason="撤回申请", actor="clerk1")
    left = eng.jobs.list(states=("PENDING", "SUSPENDED", "PAUSED"), instance_id=case.id)
    assert {j.job_type for j in left} <= {"outbox-delivery"}  # the notices already decided still go out
    assert eng.cases.clock(case.id).state == "STOPPED"


LISTENER_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d_l" targetNamespace="t">
  <bpmn:process id="clock_listener" isExecutable="true">
    <bpmn:extensionElements><camunda:properties>
      <camunda:property name="promisedLimit" value="10wd"/></camunda:properties></bpmn:extensionElements>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="审核" camunda:candidateGroups="window">
      <bpmn:extensionElements>
        <camunda:taskListener event="timeout" id="remind" class="cn.gov.Remind">
          <bpmn:timerEventDefinition><bpmn:timeDate>${workdays(2)}</bpmn:timeDate></bpmn:timerEventDefinition>
        </camunda:taskListener>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="done"/>
    <bpmn:endEvent id="done"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_timeout_listeners_stop_with_the_clock_and_move_on_resume(eng, clock):
    eng.repository.deploy([("clock_listener.bpmn", LISTENER_BPMN.encode())])
    clock.set(at(2026, 4, 1, 10, 0))
    case = eng.runtime.start("clock_listener")
    (job,) = [j for j in eng.jobs.list(instance_id=case.id) if j.job_type == "task-listener-timeout"]
    assert job.due == at(2026, 4, 3, 17, 30)
    clock.set(at(2026, 4, 2, 9, 0))
    eng.cases.suspend(case.id, reason="补正", kind="supplement")
    (paused,) = [j for j in eng.jobs.list(states=("PAUSED",), instance_id=case.id)
                 if j.job_type == "task-listener-timeout"]
    clock.set(at(2026, 4, 7, 9, 0))
    assert [r for r in eng.jobs.execute_due() if r.job_id == paused.id] == []
    clock.set(at(2026, 4, 8, 10, 0))
    eng.cases.resume(case.id)
    (moved,) = [j for j in eng.jobs.list(instance_id=case.id) if j.job_type == "task-listener-timeout"]
    assert moved.id == paused.id and moved.due == at(2026, 4, 10, 17, 30)  # 3 April + 4 wd: 7, 8, 9, 10
