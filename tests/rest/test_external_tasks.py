"""/engine-rest/external-task over real HTTP: Camunda's shapes and status codes, at-most-once locking between
concurrent workers, lock expiry on the engine clock, long polling (asyncResponseTimeout)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from tests.conftest import deploy_fixture

LOCKED_KEYS = {"activityId", "activityInstanceId", "errorMessage", "errorDetails", "executionId", "id",
               "lockExpirationTime", "processDefinitionId", "processDefinitionKey", "processDefinitionVersionTag",
               "processInstanceId", "retries", "suspended", "workerId", "topicName", "tenantId", "variables",
               "priority", "businessKey", "extensionProperties"}
TASK_KEYS = {"activityId", "activityInstanceId", "errorMessage", "executionId", "id", "lockExpirationTime",
             "createTime", "processDefinitionId", "processDefinitionKey", "processDefinitionVersionTag",
             "processInstanceId", "tenantId", "retries", "suspended", "workerId", "priority", "topicName",
             "businessKey"}


@pytest.fixture
def deployed(engine):
    deploy_fixture(engine, "rest/external_verify.bpmn", "rest/external_archive.bpmn")
    return engine


def fetch(live: Any, worker: str, topic: str = "verify-identity", lock: int = 10_000, **extra: Any) -> Any:
    body = {"workerId": worker, "maxTasks": extra.pop("maxTasks", 1),
            "topics": [{"topicName": topic, "lockDuration": lock, **extra.pop("topic_options", {})}], **extra}
    return requests.post(f"{live.rest}/external-task/fetchAndLock", json=body, timeout=30)


def post(live: Any, task_id: str, action: str, **body: Any) -> Any:
    return requests.post(f"{live.rest}/external-task/{task_id}/{action}", json=body, timeout=10)


def test_fetch_and_lock_shape_and_queries(deployed, live, clock):
    engine = deployed
    case = engine.runtime.start("external_verify", business_key="ZW-9",
                                variables={"applicant": "张三", "amount": 1200, "priority": 20})
    r = fetch(live, "w1", topic_options={"variables": ["applicant", "amount"], "includeExtensionProperties": True})
    assert r.status_code == 200
    (task,) = r.json()
    assert set(task) == LOCKED_KEYS
    assert task["variables"] == {"applicant": {"type": "String", "value": "张三", "valueInfo": {}},
                                 "amount": {"type": "Integer", "value": 1200, "valueInfo": {}}}
    assert (task["workerId"], task["topicName"], task["activityId"], task["businessKey"], task["priority"]) == \
        ("w1", "verify-identity", "verify_identity", "ZW-9", 20)
    assert task["processInstanceId"] == case.id and task["processDefinitionKey"] == "external_verify"
    assert task["processDefinitionVersionTag"] == "v1" and task["retries"] is None and task["suspended"] is False
    assert task["extensionProperties"] == {"registry": "公安人口库"}
    assert task["lockExpirationTime"] == "2026-03-02T09:30:10.000+0800"  # the engine clock + 10 s, Beijing time
    got = requests.get(f"{live.rest}/external-task/{task['id']}", timeout=5).json()
    assert set(got) == TASK_KEYS and got["workerId"] == "w1"
    listed = requests.get(f"{live.rest}/external-task", params={"topicName": "verify-identity", "locked": "true"},
                          timeout=5).json()
    assert [t["id"] for t in listed] == [task["id"]]
    assert requests.get(f"{live.rest}/external-task", params={"notLocked": "true"}, timeout=5).json() == []
    count = requests.get(f"{live.rest}/external-task/count", params={"workerId": "w1"}, timeout=5).json()
    assert count == {"count": 1}
    posted = requests.post(f"{live.rest}/external-task", json={"processInstanceId": case.id}, timeout=5).json()
    assert [t["id"] for t in posted] == [task["id"]]
    assert requests.get(f"{live.rest}/external-task/{task['id']}/errorDetails", timeout=5).status_code == 204
    r = post(live, task["id"], "complete", workerId="w1", variables={"verified": {"value": True, "type": "Boolean"}})
    assert r.status_code == 204 and r.content == b""
    assert engine.runtime.variables(case.id)["verified"] is True
    assert requests.get(f"{live.rest}/external-task/{task['id']}", timeout=5).status_code == 404


def test_status_codes_and_error_bodies(deployed, live):
    engine = deployed
    engine.runtime.start("external_verify", variables={"priority": 1})
    for action, body in (("complete", {"workerId": "w"}), ("failure", {"workerId": "w", "retries": 1}),
                         ("bpmnError", {"workerId": "w", "errorCode": "X"}),
                         ("extendLock", {"workerId": "w", "newDuration": 1000}), ("unlock", {})):
        r = post(live, "no-such-id", action, **body)
        assert r.status_code == 404 and r.json()["type"] == "InvalidRequestException", action
    assert requests.get(f"{live.rest}/external-task/no-such-id", timeout=5).status_code == 404
    assert requests.put(f"{live.rest}/external-task/no-such-id/retries", json={"retries": 1},
                        timeout=5).status_code == 404
    (task,) = fetch(live, "w1").json()
    r = post(live, task["id"], "complete", workerId="w2")
    assert r.status_code == 400 and r.json()["type"] == "InvalidRequestException"
    assert "cannot be completed by worker 'w2'" in r.json()["message"] and "'w1'" in r.json()["message"]
    assert post(live, task["id"], "failure", workerId="w2", retries=1).status_code == 400
    assert post(live, task["id"], "bpmnError", workerId="w2", errorCode="ID_INVALID").status_code == 400
    assert post(live, task["id"], "extendLock", workerId="w2", newDuration=1000).status_code == 400
    assert post(live, task["id"], "complete").status_code == 400  # no workerId
    assert post(live, task["id"], "failure", workerId="w1", retries=-1).status_code == 400
    assert post(live, task["id"], "extendLock", workerId="w1", newDuration=0).status_code == 400
    assert post(live, task["id"], "complete", workerId="w1",
                variables={"x": {"value": 1, "type": "NoSuchType"}}).status_code == 400
    assert requests.put(f"{live.rest}/external-task/{task['id']}/retries", json={"retries": -1},
                        timeout=5).status_code == 400
    assert fetch(live, "").status_code == 400
    assert fetch(live, "w1", lock=0).status_code == 400
    assert fetch(live, "w1", asyncResponseTimeout=1_800_001).status_code == 400
    r = requests.post(f"{live.rest}/external-task/fetchAndLock", data="[1", timeout=5,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and set(r.json()) >= {"type", "message"}
    assert requests.get(f"{live.rest}/external-task", params={"sortBy": "id"}, timeout=5).status_code == 400
    assert requests.get(f"{live.rest}/external-task", params={"locked": "maybe"}, timeout=5).status_code == 400
    # the right worker still holds it
    assert post(live, task["id"], "extendLock", workerId="w1", newDuration=60_000).status_code == 204
    assert post(live, task["id"], "unlock").status_code == 204
    assert post(live, task["id"], "complete", workerId="w1").status_code == 400  # unlocked: nobody holds it


def test_lock_expires_another_worker_takes_it_and_the_first_is_refused(deployed, live, clock):
    engine = deployed
    case = engine.runtime.start("external_verify", variables={"priority": 1})
    (first,) = fetch(live, "w1", lock=5_000).json()
    assert fetch(live, "w2", lock=5_000).json() == []
    clock.advance(seconds=6)
    (second,) = fetch(live, "w2", lock=5_000).json()
    assert second["id"] == first["id"] and second["workerId"] == "w2"
    r = post(live, first["id"], "complete", workerId="w1")
    assert r.status_code == 400 and "locked by worker 'w2'" in r.json()["message"]
    assert post(live, first["id"], "complete", workerId="w2").status_code == 204
    assert "approve" in engine.runtime.instance(case.id).active_activity_ids


def test_concurrent_http_workers_never_get_the_same_task(deployed, live):
    engine = deployed
    for i in range(20):
        engine.runtime.start("external_archive", business_key=f"ZW-{i}")
    got: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(5)

    def worker(name: str) -> None:
        try:
            barrier.wait()
            mine: list[str] = []
            while True:
                r = fetch(live, name, topic="archive", lock=60_000, maxTasks=2)
                assert r.status_code == 200, r.text
                if not r.json():
                    break
                mine.extend(t["id"] for t in r.json())
            got[name] = mine
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    ids = [i for mine in got.values() for i in mine]
    assert len(ids) == len(set(ids)) == 20
    for name, mine in got.items():
        for task_id in mine:
            assert post(live, task_id, "complete", workerId=name,
                        localVariables={"receipt": {"value": task_id}}).status_code == 204
    assert engine.external_tasks.count() == 0


def test_long_polling_returns_as_soon_as_a_task_appears(deployed, live):
    engine = deployed
    result: dict[str, Any] = {}

    def poll() -> None:
        started = time.monotonic()
        result["response"] = fetch(live, "waiter", topic="archive", asyncResponseTimeout=20_000)
        result["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive()  # waiting for work
    created = time.monotonic()
    case = engine.runtime.start("external_archive", business_key="ZW-LP")
    thread.join(20)
    woke_after = time.monotonic() - created
    (task,) = result["response"].json()
    assert task["processInstanceId"] == case.id and task["workerId"] == "waiter"
    assert result["elapsed"] >= 0.5 and woke_after < 1.5


def test_long_polling_without_work_returns_an_empty_list_after_the_timeout(deployed, live):
    started = time.monotonic()
    r = fetch(live, "waiter", topic="archive", asyncResponseTimeout=700)
    elapsed = time.monotonic() - started
    assert r.status_code == 200 and r.json() == []
    assert 0.65 <= elapsed < 3


def test_long_polling_sees_a_task_made_fetchable_by_the_clock(deployed, live, clock):
    """A lock expiring is no event anyone notifies: the wait re-checks the database a few times a second."""
    engine = deployed
    engine.runtime.start("external_archive")
    (task,) = fetch(live, "w1", topic="archive", lock=1_000).json()
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(
        r=fetch(live, "w2", topic="archive", asyncResponseTimeout=20_000)))
    thread.start()
    time.sleep(0.4)
    assert thread.is_alive()
    clock.advance(seconds=2)
    thread.join(5)
    assert not thread.is_alive()
    assert [t["id"] for t in result["r"].json()] == [task["id"]]
