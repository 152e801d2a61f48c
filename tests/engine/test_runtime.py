"""Running cases through the façade on a real database: every call loads from the database and saves back."""

from __future__ import annotations

import pytest

from engine.errors import Conflict, InvalidInput, NotFound, SuspendedEntity, TaskAlreadyClaimed, TaskNotActive
from tests.conftest import deploy_fixture

SAMPLE = "engine/sample_parallel_approval.bpmn"


@pytest.fixture
def sample(engine):
    deploy_fixture(engine, SAMPLE)
    return engine


def _one(engine, **query):
    tasks = engine.tasks.list(**query)
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_parallel_approval_end_to_end(sample):
    engine = sample
    case = engine.runtime.start("sample_parallel_approval", business_key="ZW-001", variables={"applicant": "张三"})
    assert case.state == "ACTIVE" and case.active_activity_ids == ("intake",)
    intake = _one(engine, candidate_group="window")
    assert intake.candidate_groups == ("window",) and intake.priority == 60
    assert intake.due is not None and (intake.due - intake.created).days == 1
    engine.tasks.claim(intake.id, "clerk1")
    engine.tasks.complete(intake.id, "clerk1", {"accepted": True})
    reviews = engine.tasks.list(instance_id=case.id)
    assert sorted(t.task_definition_key for t in reviews) == ["review_env", "review_fire", "review_market"]
    assert {t.candidate_groups for t in reviews} == {("market",), ("fire",), ("environment",)}
    for key, var in (("review_market", "marketApproved"), ("review_fire", "fireApproved"), ("review_env", "envApproved")):
        t = _one(engine, instance_id=case.id, task_definition_key=key)
        engine.tasks.complete(t.id, f"{key}-user", {var: True})
    deliver = _one(engine, instance_id=case.id)
    assert deliver.task_definition_key == "deliver"
    engine.tasks.complete(deliver.id, "clerk1")
    done = engine.runtime.instance(case.id)
    assert done.state == "COMPLETED" and done.ended
    assert done.variables["applicant"]["value"] == "张三"
    assert engine.tasks.list(instance_id=case.id) == []
    completed = engine.tasks.list(state="COMPLETED", instance_id=case.id)
    assert {t.completed_by for t in completed} >= {"clerk1", "review_fire-user"}
    assert all(r.ok for r in engine.history.verify(case.id))


def test_juel_condition_routes_refusal(sample):
    engine = sample
    case = engine.runtime.start("sample_parallel_approval", business_key="ZW-002")
    engine.tasks.complete(_one(engine, instance_id=case.id).id, "clerk1", {"accepted": True})
    for t in engine.tasks.list(instance_id=case.id):
        engine.tasks.complete(t.id, "u", {"marketApproved": True, "fireApproved": False, "envApproved": True})
    assert _one(engine, instance_id=case.id).task_definition_key == "notify_refusal"
    case2 = engine.runtime.start("sample_parallel_approval")
    engine.tasks.complete(_one(engine, instance_id=case2.id).id, "clerk1", {"accepted": False})
    assert engine.runtime.instance(case2.id).state == "COMPLETED"


def test_claim_rules(sample):
    engine = sample
    engine.runtime.start("sample_parallel_approval")
    t = _one(engine, candidate_group="window")
    engine.tasks.claim(t.id, "alice")
    engine.tasks.claim(t.id, "alice")  # claiming one's own task again is a no-op
    with pytest.raises(TaskAlreadyClaimed) as err:
        engine.tasks.claim(t.id, "bob")
    assert "alice" in str(err.value)
    with pytest.raises(TaskAlreadyClaimed):
        engine.tasks.complete(t.id, "bob", {"accepted": True})
    assert engine.tasks.task(t.id).assignee == "alice"
    engine.tasks.unclaim(t.id, "alice")
    assert engine.tasks.task(t.id).assignee is None
    assert _one(engine, candidate_group="window", unassigned=True).id == t.id
    with pytest.raises(NotFound):
        engine.tasks.claim("no-such-task", "bob")
    with pytest.raises(InvalidInput):
        engine.tasks.claim(t.id, "")


def test_set_assignee_reassigns_and_is_recorded(sample):
    """A supervisor (改派) may hand a task to someone else, claimed or not; the inbox and history follow."""
    engine = sample
    engine.runtime.start("sample_parallel_approval")
    t = _one(engine, candidate_group="window")
    engine.tasks.claim(t.id, "alice")
    moved = engine.tasks.set_assignee(t.id, "bob", actor="supervisor")
    assert moved.assignee == "bob"
    assert _one(engine, assignee="bob").id == t.id and engine.tasks.list(assignee="alice") == []
    with pytest.raises(TaskAlreadyClaimed):
        engine.tasks.complete(t.id, "alice", {"accepted": True})
    assert engine.tasks.set_assignee(t.id, None, actor="supervisor").assignee is None
    (event, cleared) = [e for e in engine.history.events(t.instance_id) if e.event_type == "TaskAssigned"]
    assert (event.actor, event.payload["assignee"], event.payload["previousAssignee"]) == ("supervisor", "bob", "alice")
    assert cleared.payload["assignee"] is None
    engine.tasks.complete(t.id, "carol", {"accepted": True})
    with pytest.raises(TaskNotActive):
        engine.tasks.set_assignee(t.id, "dave")
    with pytest.raises(NotFound):
        engine.tasks.set_assignee("no-such-task", "dave")


def test_unclaimed_task_can_be_completed_and_records_the_user(sample):
    engine = sample
    engine.runtime.start("sample_parallel_approval")
    t = _one(engine, candidate_group="window")
    done = engine.tasks.complete(t.id, "carol", {"accepted": False})
    assert done.state == "COMPLETED" and done.completed_by == "carol"
    with pytest.raises(TaskNotActive) as err:
        engine.tasks.complete(t.id, "carol", {"accepted": True})
    assert "completed" in str(err.value)


def test_cancelled_task_cannot_be_completed(sample):
    engine = sample
    case = engine.runtime.start("sample_parallel_approval")
    t = _one(engine, candidate_group="window")
    engine.runtime.terminate(case.id, reason="withdrawn by applicant")
    assert engine.tasks.task(t.id).state == "CANCELLED"
    with pytest.raises(TaskNotActive):
        engine.tasks.complete(t.id, "clerk1", {"accepted": True})
    with pytest.raises(Conflict):
        engine.runtime.terminate(case.id)


def test_delegate_and_resolve(sample):
    engine = sample
    engine.runtime.start("sample_parallel_approval")
    t = _one(engine, candidate_group="window")
    engine.tasks.claim(t.id, "leader")
    delegated = engine.tasks.delegate(t.id, "expert", actor="leader")
    assert (delegated.owner, delegated.assignee, delegated.delegation_state) == ("leader", "expert", "PENDING")
    with pytest.raises(Conflict):
        engine.tasks.complete(t.id, "expert", {"accepted": True})
    resolved = engine.tasks.resolve(t.id, "expert", {"expertOpinion": "同意"})
    assert (resolved.assignee, resolved.delegation_state) == ("leader", "RESOLVED")
    engine.tasks.complete(t.id, "leader", {"accepted": False})
    events = [e.event_type for e in engine.history.events(t.instance_id)]
    assert events.index("TaskDelegated") < events.index("TaskResolved") < events.index("TaskCompleted")


def test_suspend_and_resume(sample):
    engine = sample
    case = engine.runtime.start("sample_parallel_approval")
    t = _one(engine, candidate_group="window")
    engine.runtime.suspend(case.id, actor="supervisor")
    assert engine.runtime.instance(case.id).suspended
    with pytest.raises(SuspendedEntity):
        engine.tasks.complete(t.id, "clerk1", {"accepted": True})
    with pytest.raises(SuspendedEntity):
        engine.tasks.claim(t.id, "clerk1")
    engine.runtime.resume(case.id)
    engine.tasks.complete(t.id, "clerk1", {"accepted": False})
    assert engine.runtime.instance(case.id).state == "COMPLETED"


def test_bad_variables_are_refused_and_change_nothing(sample):
    engine = sample
    engine.runtime.start("sample_parallel_approval")
    t = _one(engine, candidate_group="window")
    with pytest.raises(InvalidInput):
        engine.tasks.complete(t.id, "clerk1", {"not a name": 1})
    with pytest.raises(InvalidInput):
        engine.tasks.complete(t.id, "clerk1", {"__class__": 1})
    assert engine.tasks.task(t.id).state == "ACTIVE"
    with pytest.raises(NotFound):
        engine.runtime.start("no_such_process")


def test_messages_resume_a_waiting_case_and_start_cases(engine):
    deploy_fixture(engine, "engine/message_wait.bpmn")
    case = engine.runtime.start("supplement_wait", business_key="BZ-7")
    assert case.active_activity_ids == ("wait_supplement",)
    other = engine.runtime.start("supplement_wait", business_key="BZ-8")
    engine.runtime.correlate("materials_supplemented", business_key="BZ-7", variables={"clerk": "wang"})
    t = _one(engine, instance_id=case.id)
    assert t.assignee == "wang" and t.task_definition_key == "review"
    assert engine.runtime.instance(other.id).active_activity_ids == ("wait_supplement",)
    from engine.runtime.instances import MessageCorrelationError

    with pytest.raises(MessageCorrelationError):
        engine.runtime.correlate("materials_supplemented", business_key="BZ-404")
    engine.runtime.start("supplement_wait", business_key="BZ-9")
    with pytest.raises(MessageCorrelationError) as err:
        engine.runtime.correlate("materials_supplemented")  # BZ-8 and BZ-9 both wait: ambiguous
    assert "2" in str(err.value)
    assert len(engine.runtime.correlate("materials_supplemented", all_matches=True, variables={"clerk": "li"})) == 2
    started = engine.runtime.correlate("application_received", business_key="SQ-1", variables={"x": 1})
    assert started[0].definition_key == "message_started" and started[0].business_key == "SQ-1"
    assert _one(engine, instance_id=started[0].id).task_definition_key == "handle"
