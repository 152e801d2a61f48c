"""退回 (return a task to an earlier step) and 补正 (request missing materials: the case clock stops) through the
engine façade, on a real database (tests/fixtures/engine/return_flow.bpmn)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.errors import Conflict, InvalidInput, TaskAlreadyClaimed, TaskNotActive
from tests.conftest import deploy_fixture

CST = timezone(timedelta(hours=8))
FIXTURE = "engine/return_flow.bpmn"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


@pytest.fixture
def eng(engine, clock):  # type: ignore[no-untyped-def]
    clock.set(at(2026, 4, 1, 9, 0))  # Wednesday
    deploy_fixture(engine, FIXTURE)
    return engine


def _jobs(eng, case_id):  # type: ignore[no-untyped-def]
    """The case's job rows: (id, type, task id, activity id, state, due)."""
    from sqlalchemy import select

    from engine.persistence.models import Job

    return eng.executor.read(lambda s: [(j.id, j.job_type, j.task_id, j.activity_id, j.state, j.due)
                                        for j in s.scalars(select(Job).where(Job.instance_id == case_id))])


def _case_version(eng, case_id):  # type: ignore[no-untyped-def]
    from engine.persistence.models import ProcessInstance

    return eng.executor.read(lambda s: s.get(ProcessInstance, case_id).version)


def _open(eng, case_id, key=None):  # type: ignore[no-untyped-def]
    tasks = [t for t in eng.tasks.list(instance_id=case_id) if key is None or t.task_definition_key == key]
    assert len(tasks) == 1, tasks
    return tasks[0]


def _to_approve(eng, key="R-1"):  # type: ignore[no-untyped-def]
    case = eng.runtime.start("return_flow", business_key=key, variables={"applicant": "示例企业"})
    eng.tasks.complete(_open(eng, case.id, "intake").id, "c1", {"received": True})
    review = _open(eng, case.id, "review")
    eng.tasks.claim(review.id, "m1")
    eng.tasks.complete(review.id, "m1", {"opinion": "同意", "amount": 100})
    eng.tasks.complete(_open(eng, case.id, "check").id, "m2")
    return case, review, _open(eng, case.id, "approve")


def test_return_in_a_sequential_flow_goes_back_to_the_previous_completer(eng, clock):
    case, first_review, approve = _to_approve(eng)
    # approve carries returnTargets="review": check and intake are on its path but not offered
    assert [t.activity_id for t in eng.tasks.return_targets(approve.id)] == ["review"]
    every = {t.activity_id: t for t in eng.tasks.return_targets(approve.id, include_refused=True)}
    assert list(every) == ["check", "review", "intake"]
    assert not every["check"].allowed and "returnTargets: review" in every["check"].refusal
    assert every["review"].assignee == "m1" and every["review"].name == "部门审查"

    clock.set(at(2026, 4, 2, 10, 0))
    ended = eng.tasks.return_to(approve.id, "review", "审查意见不完整，请补充核定依据", "lead")
    assert ended.state == "CANCELLED" and ended.completed_by == "lead"
    again = _open(eng, case.id)
    assert again.task_definition_key == "review" and again.id != first_review.id
    assert again.assignee == "m1"  # back to whoever completed it last time
    assert again.due == at(2026, 4, 8, 17, 30)  # a new task: workdays(3) from now (3, 7, 8 April; Qingming 4-6)
    assert eng.tasks.task(first_review.id).state == "COMPLETED"  # the earlier completion stays as it was
    assert eng.tasks.variables(again.id)["opinion"] == "同意"  # the case's data stay
    # the reason is the comment of the returned task and in the history
    assert [c.message for c in eng.tasks.comments(approve.id)] == ["退回至“部门审查”：审查意见不完整，请补充核定依据"]
    (returned,) = [e for e in eng.history.events(case.id) if e.event_type == "TaskReturned"]
    assert returned.actor == "lead" and returned.task_id == approve.id
    assert returned.payload["reason"] == "审查意见不完整，请补充核定依据"
    assert returned.payload["target"] == "review" and returned.payload["newTaskId"] == again.id
    assert returned.payload["assignee"] == "m1"
    created = [e for e in eng.history.events(case.id) if e.event_type == "TaskCreated" and e.task_id == again.id]
    assert created[0].payload["assignee"] == "m1"
    assert all(r.ok for r in eng.history.verify(case.id))

    # the case runs on from the returned step
    eng.tasks.complete(again.id, "m1", {"opinion": "同意（已补充）"})
    eng.tasks.complete(_open(eng, case.id, "check").id, "m2")
    eng.tasks.complete(_open(eng, case.id, "approve").id, "lead")
    assert eng.runtime.instance(case.id).state == "COMPLETED"


def test_return_cancels_the_tasks_timer_and_deadline_jobs_and_arms_new_ones(eng, clock):
    case = eng.runtime.start("return_flow", business_key="R-2")
    eng.tasks.complete(_open(eng, case.id, "intake").id, "c1")
    review = _open(eng, case.id, "review")
    jobs = {j[1]: j for j in _jobs(eng, case.id) if j[2] == review.id or j[3] == "review_reminder"}
    assert set(jobs) == {"timer", "task-timeout"} and all(j[4] == "PENDING" for j in jobs.values())
    assert [t.activity_id for t in eng.tasks.return_targets(review.id)] == ["intake"]
    clock.set(at(2026, 4, 1, 15, 0))
    eng.tasks.return_to(review.id, "intake", "受理材料扫描件缺页", "m1")
    states = {j[0]: j[4] for j in _jobs(eng, case.id)}
    assert states[jobs["timer"][0]] == "CANCELLED" and states[jobs["task-timeout"][0]] == "CANCELLED"
    cancelled = [e for e in eng.history.events(case.id) if e.event_type == "JobCancelled"]
    assert [e.payload["jobId"] for e in cancelled] == [jobs["timer"][0]]
    intake = _open(eng, case.id)
    assert intake.task_definition_key == "intake" and intake.assignee == "c1"
    assert not [j for j in _jobs(eng, case.id) if j[1] in ("timer", "task-timeout") and j[4] == "PENDING"]
    # the review comes again: a new reminder timer and new deadline jobs, from the new arrival
    clock.set(at(2026, 4, 2, 9, 0))
    eng.tasks.complete(intake.id, "c1")
    review2 = _open(eng, case.id, "review")
    assert review2.assignee is None and review2.due == at(2026, 4, 8, 17, 30)  # a new arrival: the department
    fresh = {j[1]: j for j in _jobs(eng, case.id) if j[1] in ("timer", "task-timeout") and j[4] == "PENDING"}
    assert fresh["timer"][5] == at(2026, 4, 12, 9, 0) and fresh["task-timeout"][2] == review2.id


def test_returning_twice_to_a_step_with_a_boundary_timer_at_the_same_instant(eng):
    """The reset step's boundary timer gets a new id too: its new job (same due, no time passed) is not the
    cancelled job of the earlier arrival."""
    case, _review, approve = _to_approve(eng, "R-5")
    eng.tasks.return_to(approve.id, "review", "第一次退回", "lead")
    review = _open(eng, case.id, "review")
    eng.tasks.complete(review.id, "m1")
    eng.tasks.complete(_open(eng, case.id, "check").id, "m2")
    eng.tasks.return_to(_open(eng, case.id, "approve").id, "review", "第二次退回", "lead")
    timers = [j for j in _jobs(eng, case.id) if j[1] == "timer"]
    assert sorted(j[4] for j in timers) == ["CANCELLED", "CANCELLED", "PENDING"]
    assert len({j[2] for j in timers}) == 3


def test_a_second_return_of_the_same_task_is_a_conflict_that_says_who(eng, clock):
    case, _review, approve = _to_approve(eng, "R-3")
    eng.tasks.return_to(approve.id, "review", "退回一次", "lead")
    with pytest.raises(TaskNotActive) as exc:
        eng.tasks.return_to(approve.id, "review", "再退回一次", "m2")
    assert "already returned to '部门审查' by lead" in str(exc.value)
    with pytest.raises(TaskNotActive):
        eng.tasks.complete(approve.id, "lead")
    assert len([t for t in eng.tasks.list(instance_id=case.id)]) == 1


def test_bad_returns_change_nothing(eng):
    case, _review, approve = _to_approve(eng, "R-4")
    version = eng.tasks.task(approve.id)
    with pytest.raises(InvalidInput, match="needs a reason"):
        eng.tasks.return_to(approve.id, "review", "  ", "lead")
    with pytest.raises(InvalidInput, match="not an earlier step.*allowed: review"):
        eng.tasks.return_to(approve.id, "nowhere", "理由", "lead")
    with pytest.raises(Conflict, match="does not let '领导审批' return to '科室审核'"):
        eng.tasks.return_to(approve.id, "check", "理由", "lead")
    eng.tasks.claim(approve.id, "lead")
    with pytest.raises(TaskAlreadyClaimed):
        eng.tasks.return_to(approve.id, "review", "理由", "m2")
    assert eng.tasks.task(approve.id).state == "ACTIVE" and eng.tasks.comments(approve.id) == []
    assert [e for e in eng.history.events(case.id) if e.event_type == "TaskReturned"] == []
    assert version.id == _open(eng, case.id).id


def test_returning_out_of_a_running_parallel_branch_is_refused(eng):
    case = eng.runtime.start("return_parallel", business_key="P-1")
    eng.tasks.complete(_open(eng, case.id, "p_intake").id, "c1")
    market, fire = _open(eng, case.id, "p_market"), _open(eng, case.id, "p_fire")
    assert eng.tasks.return_targets(market.id) == []
    (refused,) = eng.tasks.return_targets(market.id, include_refused=True)
    assert refused.activity_id == "p_intake" and not refused.allowed
    with pytest.raises(Conflict) as exc:
        eng.tasks.return_to(market.id, "p_intake", "材料不全", "m1")
    assert str(exc.value) == ("cannot return '市场审查' to '窗口受理': the parallel branch '消防审查' of the case is "
                              "still running after '窗口受理' and would be cancelled")
    # the other branch done and waiting at the join: still one branch of a running parallel gateway
    eng.tasks.complete(fire.id, "f1")
    with pytest.raises(Conflict, match="parallel branch 'p_join' of the case is still running"):
        eng.tasks.return_to(market.id, "p_intake", "材料不全", "m1")
    assert {t.task_definition_key for t in eng.tasks.list(instance_id=case.id)} == {"p_market"}

    eng.tasks.complete(market.id, "m1")
    decide = _open(eng, case.id, "p_decide")
    every = {t.activity_id: t for t in eng.tasks.return_targets(decide.id, include_refused=True)}
    # into one branch of a joined parallel region: refused; before the split: allowed (every branch is redone)
    assert [a for a, t in every.items() if t.allowed] == ["p_intake"]
    joined = every.get("p_market") or every.get("p_fire")
    assert joined is not None and "already joined" in joined.refusal
    with pytest.raises(Conflict, match="one branch of a parallel gateway that has already joined"):
        eng.tasks.return_to(decide.id, joined.activity_id, "重新审查", "m2")
    eng.tasks.return_to(decide.id, "p_intake", "申请表信息有误", "m2")
    intake = _open(eng, case.id)
    assert intake.task_definition_key == "p_intake" and intake.assignee == "c1"
    eng.tasks.complete(intake.id, "c1")
    assert sorted(t.task_definition_key for t in eng.tasks.list(instance_id=case.id)) == ["p_fire", "p_market"]
    assert {t.assignee for t in eng.tasks.list(instance_id=case.id)} == {None}  # as new tasks: to the departments


# --- 补正 ----------------------------------------------------------------------------------------------------
def test_correction_suspends_the_clock_refuses_completion_and_resume_moves_the_deadline(eng, clock):
    case = eng.runtime.start("return_flow", business_key="B-1")
    promised = eng.cases.clock(case.id).promised_due
    assert promised == at(2026, 4, 16, 17, 30)  # 10 wd after Wednesday 1 April, Qingming skipped
    eng.tasks.complete(_open(eng, case.id, "intake").id, "c1")
    review = _open(eng, case.id, "review")
    clock.set(at(2026, 4, 2, 10, 0))  # Thursday
    before = _case_version(eng, case.id)
    view = eng.tasks.request_correction(review.id, materials=["营业执照副本", "场地证明"], reason="复印件不清晰",
                                        expected_days=5, user_id="m1")
    assert view.state == "SUSPENDED"
    # the case row's version moves: a completion computed before the request is re-run (and refused)
    assert _case_version(eng, case.id) > before
    (s,) = view.suspensions
    assert s["kind"] == "supplement" and s["reason"] == "需补正材料：营业执照副本、场地证明；复印件不清晰"
    assert s["startedBy"] == "m1" and s["expectedWorkingDays"] == 5
    assert eng.tasks.pending_correction(case.id)["reason"] == s["reason"]
    assert [c.message for c in eng.tasks.comments(review.id)] == ["要求补正：需补正材料：营业执照副本、场地证明；复印件不清晰"]
    (requested,) = [e for e in eng.history.events(case.id) if e.event_type == "CorrectionRequested"]
    assert requested.actor == "m1" and requested.payload["materials"] == ["营业执照副本", "场地证明"]

    with pytest.raises(Conflict, match="waits for 补正 since"):
        eng.tasks.complete(review.id, "m1")
    with pytest.raises(Conflict, match="waits for 补正"):
        eng.tasks.return_to(review.id, "intake", "退回", "m1")
    with pytest.raises(Conflict, match="already suspended"):
        eng.tasks.request_correction(review.id, materials="再要一份", user_id="m1")
    assert eng.tasks.task(review.id).state == "ACTIVE"

    clock.set(at(2026, 4, 8, 9, 0))  # Wednesday: 2, 3, 7, 8 April are working days (Qingming 4-6)
    resumed = eng.tasks.correction_received(review.id, user_id="c1", note="申请人已提交")
    assert resumed.state == "RUNNING" and resumed.suspended_days == 4
    assert resumed.promised_due == at(2026, 4, 22, 17, 30)  # 16 April + 4 working days
    assert eng.tasks.task(review.id).due == at(2026, 4, 13, 17, 30)  # 7 April moved by 4 wd: 8, 9, 10, 13
    assert eng.tasks.pending_correction(case.id) is None
    (received,) = [e for e in eng.history.events(case.id) if e.event_type == "CorrectionReceived"]
    assert received.actor == "c1" and received.payload["workingDays"] == 4
    with pytest.raises(Conflict, match="does not wait for 补正"):
        eng.tasks.correction_received(review.id, user_id="c1")
    eng.tasks.complete(review.id, "m1")
    assert _open(eng, case.id).task_definition_key == "check"
    assert all(r.ok for r in eng.history.verify(case.id))


def test_correction_needs_materials_or_a_reason_and_a_running_clock(eng, clock):
    case = eng.runtime.start("return_flow", business_key="B-2")
    intake = _open(eng, case.id, "intake")
    with pytest.raises(InvalidInput, match="needs the missing materials or a reason"):
        eng.tasks.request_correction(intake.id, materials=" \n ", user_id="c1")
    assert eng.cases.clock(case.id).state == "RUNNING"
    eng.tasks.request_correction(intake.id, materials="身份证复印件\n授权委托书", user_id="c1")
    assert eng.cases.clock(case.id).suspensions[0]["reason"] == "需补正材料：身份证复印件、授权委托书"
    # a supervisor's resume (恢复计时) ends the 补正 too
    eng.cases.resume(case.id, actor="boss")
    eng.tasks.complete(intake.id, "c1")
    # the case may also be named by its business key (the window records receipt)
    review = _open(eng, case.id, "review")
    eng.tasks.request_correction(review.id, reason="需现场核实", user_id="m1")
    eng.tasks.correction_received(case="B-2", user_id="c1")
    assert eng.cases.clock(case.id).state == "RUNNING"


SUB_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d_sub" targetNamespace="http://x">
  <bpmn:process id="return_sub" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="first" name="前置"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:subProcess id="sp"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:startEvent id="ss"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:userTask id="a" name="子一"><bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing></bpmn:userTask>
      <bpmn:userTask id="b" name="子二"><bpmn:incoming>g2</bpmn:incoming><bpmn:outgoing>g3</bpmn:outgoing></bpmn:userTask>
      <bpmn:endEvent id="se"><bpmn:incoming>g3</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g1" sourceRef="ss" targetRef="a"/>
      <bpmn:sequenceFlow id="g2" sourceRef="a" targetRef="b"/>
      <bpmn:sequenceFlow id="g3" sourceRef="b" targetRef="se"/>
    </bpmn:subProcess>
    <bpmn:userTask id="last" name="最后"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="first"/>
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="sp"/>
    <bpmn:sequenceFlow id="f3" sourceRef="sp" targetRef="last"/>
    <bpmn:sequenceFlow id="f4" sourceRef="last" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_returns_stay_in_their_scope_inside_and_around_an_embedded_subprocess(eng):
    eng.repository.deploy([("return_sub.bpmn", SUB_BPMN.encode())])
    case = eng.runtime.start("return_sub")
    eng.tasks.complete(_open(eng, case.id, "first").id, "u1")
    eng.tasks.complete(_open(eng, case.id, "a").id, "u2")
    b = _open(eng, case.id, "b")
    # inside the subprocess: its own earlier steps only (not 'first', outside it)
    assert [t.activity_id for t in eng.tasks.return_targets(b.id, include_refused=True)] == ["a"]
    eng.tasks.return_to(b.id, "a", "子流程内退回", "u3")
    a = _open(eng, case.id)
    assert a.task_definition_key == "a" and a.assignee == "u2"
    eng.tasks.complete(a.id, "u2")
    eng.tasks.complete(_open(eng, case.id, "b").id, "u3")
    last = _open(eng, case.id, "last")
    # after the subprocess: the steps of the outer process (the subprocess's inner steps are another scope)
    assert [t.activity_id for t in eng.tasks.return_targets(last.id, include_refused=True)] == ["first"]
    eng.tasks.return_to(last.id, "first", "全部重办", "u4")
    first = _open(eng, case.id)
    assert first.task_definition_key == "first" and first.assignee == "u1"
    for key, user in (("first", "u1"), ("a", "u2"), ("b", "u3"), ("last", "u4")):
        eng.tasks.complete(_open(eng, case.id, key).id, user)
    assert eng.runtime.instance(case.id).state == "COMPLETED"
