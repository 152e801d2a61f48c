"""External tasks through the engine façade: at-most-once locking on the engine clock, the locking worker's
reports (complete, failure with retries and incident, BPMN error, extend lock), operator actions (unlock,
retries), queries, history. SQLite and PostgreSQL (ONEWINDOW_TEST_DB)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from engine.errors import ExternalTaskLockLost, InvalidInput, NotFound
from tests.conftest import deploy_fixture

VERIFY = "rest/external_verify.bpmn"
ARCHIVE = "rest/external_archive.bpmn"


@pytest.fixture
def deployed(engine):
    deploy_fixture(engine, VERIFY, ARCHIVE)
    return engine


def _start_verify(engine, key="ZW-1", priority=50, **variables):
    return engine.runtime.start("external_verify", business_key=key,
                                variables={"applicant": "张三", "priority": priority, **variables})


def _events(engine, instance_id, kind):
    return [e for e in engine.history.events(instance_id) if e.event_type == kind]


def test_locked_task_is_invisible_until_its_lock_expires_then_the_first_worker_is_refused(deployed, clock):
    engine = deployed
    case = _start_verify(engine)
    (task,) = engine.external_tasks.fetch_and_lock("w1", [("verify-identity", 10_000)])
    assert task.worker_id == "w1" and task.lock_expiration == clock.now() + timedelta(seconds=10)
    assert task.business_key == "ZW-1" and task.variables == {"applicant": "张三", "priority": 50}
    assert engine.external_tasks.fetch_and_lock("w2", [("verify-identity", 10_000)]) == []
    clock.advance(seconds=9)
    assert engine.external_tasks.fetch_and_lock("w2", [("verify-identity", 10_000)]) == []
    clock.advance(seconds=1)  # the lock expires at exactly now: fetchable
    (again,) = engine.external_tasks.fetch_and_lock("w2", [("verify-identity", 10_000)])
    assert again.id == task.id and again.worker_id == "w2"
    with pytest.raises(ExternalTaskLockLost, match="locked by worker 'w2'"):
        engine.external_tasks.complete(task.id, "w1", {"verified": True})
    assert "verify_identity" in engine.runtime.instance(case.id).active_activity_ids
    engine.external_tasks.complete(task.id, "w2", {"verified": True, "score": 98})
    view = engine.runtime.instance(case.id)
    assert view.active_activity_ids == ("approve",)
    assert engine.runtime.variables(case.id) == {"applicant": "张三", "priority": 50, "verified": True, "score": 98}
    with pytest.raises(NotFound):  # completed: gone from the runtime, as in Camunda
        engine.external_tasks.complete(task.id, "w2")
    locked = _events(engine, case.id, "ExternalTaskLocked")
    assert [e.actor for e in locked] == ["w1", "w2"]
    assert [e.actor for e in _events(engine, case.id, "ExternalTaskCompleted")] == ["w2"]
    assert all(r.ok for r in engine.history.verify(case.id))


def test_expired_lock_not_taken_by_anyone_may_still_be_completed_by_its_worker(deployed, clock):
    engine = deployed
    case = _start_verify(engine)
    (task,) = engine.external_tasks.fetch_and_lock("w1", [("verify-identity", 1_000)])
    clock.advance(minutes=5)
    engine.external_tasks.complete(task.id, "w1")  # Camunda's rule: the worker that most recently locked it
    assert engine.runtime.instance(case.id).active_activity_ids == ("approve",)


def test_unlocked_or_unknown_tasks_and_bad_input_are_refused(deployed):
    engine = deployed
    _start_verify(engine)
    (row,) = engine.external_tasks.query(topic_name="verify-identity")
    with pytest.raises(ExternalTaskLockLost, match="not locked"):
        engine.external_tasks.complete(row.id, "w1")
    with pytest.raises(ExternalTaskLockLost):
        engine.external_tasks.failure(row.id, "w1", error_message="x", retries=1)
    with pytest.raises(NotFound):
        engine.external_tasks.complete("no-such-task", "w1")
    with pytest.raises(NotFound):
        engine.external_tasks.get("no-such-task")
    with pytest.raises(InvalidInput):
        engine.external_tasks.fetch_and_lock("", [("verify-identity", 1000)])
    with pytest.raises(InvalidInput):
        engine.external_tasks.fetch_and_lock("w1", [("verify-identity", 0)])
    (task,) = engine.external_tasks.fetch_and_lock("w1", [("verify-identity", 1000)])
    with pytest.raises(InvalidInput):
        engine.external_tasks.failure(task.id, "w1", error_message="x", retries=-1)
    with pytest.raises(InvalidInput):
        engine.external_tasks.complete(task.id, "w1", {"1bad": 1})
    with pytest.raises(InvalidInput):
        engine.external_tasks.bpm_error(task.id, "w1", "")


def test_failure_counts_retries_down_waits_retry_timeout_then_incident_resolved_by_retries(deployed, clock):
    engine = deployed
    case = engine.runtime.start("external_archive", business_key="ZW-A")
    topics = [("archive", 60_000)]
    (task,) = engine.external_tasks.fetch_and_lock("w1", topics)
    assert task.retries is None
    engine.external_tasks.failure(task.id, "w1", error_message="档案系统不可用", error_details="trace 1",
                                  retries=2, retry_timeout=5_000)
    assert engine.external_tasks.fetch_and_lock("w2", topics) == []  # not before the retry timeout
    clock.advance(seconds=5)
    (task,) = engine.external_tasks.fetch_and_lock("w2", topics)
    assert (task.retries, task.error_message, task.error_details) == (2, "档案系统不可用", "trace 1")
    engine.external_tasks.failure(task.id, "w2", error_message="still down", error_details="trace 2", retries=0,
                                  retry_timeout=0)
    view = engine.runtime.instance(case.id)
    assert view.has_incident and view.state == "ACTIVE"
    (incident,) = view.incidents
    assert (incident.incident_type, incident.activity_id, incident.message) == \
        ("failedExternalTask", "archive", "still down")
    assert engine.external_tasks.fetch_and_lock("w3", topics) == []  # no retries left: not fetchable
    assert [t.id for t in engine.external_tasks.query(no_retries_left=True)] == [task.id]
    assert engine.external_tasks.query(with_retries_left=True) == []
    assert engine.external_tasks.error_details(task.id) == "trace 2"
    engine.external_tasks.set_retries(task.id, 1, actor="admin")
    view = engine.runtime.instance(case.id)
    assert not view.has_incident and view.incidents == ()
    (task,) = engine.external_tasks.fetch_and_lock("w3", topics)
    engine.external_tasks.complete(task.id, "w3", {"archived": True}, local_variables={"receipt": "DA-001"})
    # the local variable reaches the case only through the activity's output mapping
    assert engine.runtime.variables(case.id) == {"archived": True, "archiveReceipt": "DA-001"}
    kinds = [e.event_type for e in engine.history.events(case.id)]
    assert kinds.count("ExternalTaskFailed") == 2 and "IncidentCreated" in kinds and "IncidentResolved" in kinds
    assert "ExternalTaskRetriesSet" in kinds


def test_bpmn_error_is_caught_by_the_error_boundary_event(deployed):
    engine = deployed
    case = _start_verify(engine)
    (task,) = engine.external_tasks.fetch_and_lock("w1", [("verify-identity", 60_000)])
    caught = engine.external_tasks.bpm_error(task.id, "w1", "ID_INVALID", "证件已过期", {"reason": "expired"})
    assert caught == "id_invalid"
    view = engine.runtime.instance(case.id)
    assert view.active_activity_ids == ("notify_rejection",) and not view.has_incident
    assert engine.runtime.variables(case.id)["reason"] == "expired"
    assert engine.external_tasks.query(process_instance_id=case.id) == []
    (event,) = _events(engine, case.id, "ExternalTaskBpmnError")
    assert event.payload["errorCode"] == "ID_INVALID" and event.payload["caughtBy"] == "id_invalid"


def test_bpmn_error_with_another_code_or_without_boundary_becomes_an_incident(deployed):
    engine = deployed
    case = _start_verify(engine)
    (task,) = engine.external_tasks.fetch_and_lock("w1", [("verify-identity", 60_000)])
    assert engine.external_tasks.bpm_error(task.id, "w1", "OTHER_CODE", "unexpected") is None
    view = engine.runtime.instance(case.id)
    assert view.has_incident and "verify_identity" in view.active_activity_ids
    (incident,) = view.incidents
    assert "BPMN error 'OTHER_CODE'" in incident.message and "was not caught" in incident.message
    assert engine.external_tasks.get(task.id).retries == 0
    archive = engine.runtime.start("external_archive")
    (task,) = engine.external_tasks.fetch_and_lock("w1", [("archive", 60_000)])
    engine.external_tasks.bpm_error(task.id, "w1", "ANY")
    assert engine.runtime.instance(archive.id).has_incident


def test_extend_lock_and_unlock(deployed, clock):
    engine = deployed
    _start_verify(engine)
    topics = [("verify-identity", 1_000)]
    (task,) = engine.external_tasks.fetch_and_lock("w1", topics)
    with pytest.raises(ExternalTaskLockLost):
        engine.external_tasks.extend_lock(task.id, "w2", 60_000)
    engine.external_tasks.extend_lock(task.id, "w1", 60_000)
    clock.advance(seconds=30)
    assert engine.external_tasks.fetch_and_lock("w2", topics) == []
    assert engine.external_tasks.get(task.id).lock_expiration == clock.now() + timedelta(seconds=30)
    clock.advance(seconds=31)
    with pytest.raises(ExternalTaskLockLost, match="expired"):
        engine.external_tasks.extend_lock(task.id, "w1", 60_000)
    (task,) = engine.external_tasks.fetch_and_lock("w1", [("verify-identity", 60_000)])
    engine.external_tasks.unlock(task.id, actor="admin")
    assert engine.external_tasks.get(task.id).worker_id is None
    (again,) = engine.external_tasks.fetch_and_lock("w2", topics)
    assert again.id == task.id


def test_priority_filters_and_queries(deployed, clock):
    engine = deployed
    low = _start_verify(engine, "ZW-L", priority=1)
    clock.advance(seconds=1)  # created later
    high = _start_verify(engine, "ZW-H", priority=90)
    engine.runtime.start("external_archive", business_key="ZW-A")
    # without usePriority: oldest first; with it: highest priority first
    (first,) = engine.external_tasks.fetch_and_lock("w1", [("verify-identity", 1_000)], use_priority=True)
    assert first.instance_id == high.id and first.priority == 90
    engine.external_tasks.unlock(first.id)
    (first,) = engine.external_tasks.fetch_and_lock("w1", [("verify-identity", 1_000)])
    assert first.instance_id == low.id
    # topic filters: business key, definition key, process variables, variable names
    topic = engine.external_tasks.TopicRequest("verify-identity", 1_000, business_key="ZW-H",
                                               variables=("applicant",), include_extension_properties=True)
    (h,) = engine.external_tasks.fetch_and_lock("w2", [topic])
    assert h.instance_id == high.id and h.variables == {"applicant": "张三"}
    assert h.extension_properties == {"registry": "公安人口库"} and h.definition_version_tag == "v1"
    nothing = engine.external_tasks.TopicRequest("archive", 1_000, process_variables={"missing": 1})
    assert engine.external_tasks.fetch_and_lock("w2", [nothing]) == []
    q = engine.external_tasks
    assert q.count() == 3 and q.count(locked=True) == 2 and q.count(not_locked=True) == 1
    assert {t.worker_id for t in q.query(topic_name="verify-identity")} == {"w1", "w2"}
    assert [t.instance_id for t in q.query(worker_id="w2")] == [high.id]
    assert q.count(activity_id="archive") == 1 and q.count(process_instance_id=low.id) == 1
    assert [t.priority for t in q.query(sort_by="priority", sort_order="desc")] == [90, 1, 0]
    assert q.count(priority_higher_than_or_equals=50) == 1
    engine.runtime.suspend(low.id)
    assert q.count(suspended=True) == 1 and q.get(first.id).suspended
    clock.advance(seconds=2)  # every lock expired; the suspended case's task is not fetched
    fetched = engine.external_tasks.fetch_and_lock("w3", [("verify-identity", 1_000)], max_tasks=10)
    assert [t.instance_id for t in fetched] == [high.id]


def test_concurrent_fetches_never_lock_one_task_twice(deployed):
    engine = deployed
    cases = [engine.runtime.start("external_archive", business_key=f"ZW-{i}").id for i in range(24)]
    got: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def worker(name: str) -> None:
        try:
            barrier.wait()
            mine: list[str] = []
            while True:
                batch = engine.external_tasks.fetch_and_lock(name, [("archive", 60_000)], max_tasks=3)
                if not batch:
                    break
                mine.extend(t.id for t in batch)
            got[name] = mine
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    ids = [tid for mine in got.values() for tid in mine]
    assert len(ids) == len(set(ids)) == 24
    assert sum(1 for mine in got.values() if mine) >= 2  # they really competed
    owners = {t.id: t.worker_id for t in engine.external_tasks.query()}
    assert all(owners[tid] == name for name, mine in got.items() for tid in mine)
    assert sum(len(_events(engine, c, "ExternalTaskLocked")) for c in cases) == 24


def test_bpmn_error_inside_a_subprocess_is_caught_by_the_subprocess_boundary_event(engine):
    deploy_fixture(engine, "rest/external_in_subprocess.bpmn")
    case = engine.runtime.start("external_in_subprocess", business_key="ZW-FEE")
    (task,) = engine.external_tasks.fetch_and_lock("payer", [("charge-fee", 60_000)])
    assert engine.external_tasks.bpm_error(task.id, "payer", "FEE_FAILED", "余额不足",
                                           {"feeError": "余额不足"}) == "fee_failed"
    view = engine.runtime.instance(case.id)
    assert view.active_activity_ids == ("manual_payment",) and not view.has_incident
    assert engine.runtime.variables(case.id)["feeError"] == "余额不足"
    assert [t.task_definition_key for t in engine.tasks.list(instance_id=case.id)] == ["manual_payment"]
