"""External tasks with authentication on (REST_AUTH, the default): the real camunda-external-task-client-python3
worker authenticates with HTTP Basic (its ``auth_basic`` config) as a technical account with the ``external_work``
capability (role admin); without credentials fetchAndLock is a 401, and a person without the capability (a clerk,
a reviewer) may neither fetch nor report (403), nor unlock or set retries (operate)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conftest import deploy_fixture
from tests.rest.conftest import LiveServer
from tests.rest.test_external_tasks_client import running_worker, wait_until

PASSWORD = "worker-secret-9"
FETCH = {"workerId": "w1", "maxTasks": 1, "topics": [{"topicName": "verify-identity", "lockDuration": 10_000}]}


@pytest.fixture
def secured(engine):  # type: ignore[no-untyped-def]
    from web.app import create_app

    deploy_fixture(engine, "rest/external_verify.bpmn")
    engine.identity.add_user("svc-verify", PASSWORD, roles=("admin",))  # the technical account of the worker
    engine.identity.add_user("clerk1", PASSWORD, groups=("window",), roles=("clerk",), create_groups=True)
    engine.identity.add_user("sup1", PASSWORD, roles=("supervisor",))
    with LiveServer(create_app(engine)) as server:
        yield server


def test_the_real_client_works_with_http_basic_credentials(engine, secured):
    case = engine.runtime.start("external_verify", business_key="AUTH-1",
                                variables={"applicant": "张三", "idNumber": "110101199001011234", "priority": 50})

    def verify(task: Any) -> Any:
        return task.complete({"verified": True, "score": 97})

    with running_worker(secured, "id-checker", "verify-identity", verify,
                        auth_basic={"username": "svc-verify", "password": PASSWORD}) as seen:
        wait_until(lambda: "approve" in engine.runtime.instance(case.id).active_activity_ids)
    assert len(seen) == 1 and seen[0].get_variable("applicant") == "张三"
    assert engine.runtime.variables(case.id)["verified"] is True
    completed = [e for e in engine.history.events(case.id) if e.event_type == "ExternalTaskCompleted"]
    assert [e.actor for e in completed] == ["id-checker"]


def test_a_client_with_wrong_credentials_locks_nothing(engine, secured):
    case = engine.runtime.start("external_verify", business_key="AUTH-2", variables={"priority": 50})
    with running_worker(secured, "intruder", "verify-identity", lambda t: t.complete({}),
                        auth_basic={"username": "svc-verify", "password": "wrong-password"}) as seen:
        r = requests.post(f"{secured.rest}/external-task/fetchAndLock", json=FETCH, timeout=10,
                          auth=("svc-verify", "wrong-password"))
        assert r.status_code == 401
    assert seen == []
    (task,) = engine.external_tasks.query(process_instance_id=case.id)
    assert task.worker_id is None and task.lock_expiration is None


def test_fetch_and_lock_needs_credentials_and_the_worker_capability(engine, secured):
    rest = secured.rest
    case = engine.runtime.start("external_verify", business_key="AUTH-3", variables={"priority": 50})
    r = requests.post(f"{rest}/external-task/fetchAndLock", json=FETCH, timeout=10)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Basic realm="engine-rest"'
    assert r.json()["type"] == "AuthenticationException"
    for user in ("clerk1", "sup1"):
        r = requests.post(f"{rest}/external-task/fetchAndLock", json=FETCH, auth=(user, PASSWORD), timeout=10)
        assert r.status_code == 403 and r.json()["type"] == "AuthorizationException", r.text
        assert "external work" in r.json()["message"]
    (task,) = engine.external_tasks.query(process_instance_id=case.id)
    assert task.worker_id is None  # nothing was locked by the refused calls

    r = requests.post(f"{rest}/external-task/fetchAndLock", json=FETCH, auth=("svc-verify", PASSWORD), timeout=10)
    assert r.status_code == 200 and [t["id"] for t in r.json()] == [task.id], r.text
    for path, body in (("complete", {"workerId": "w1"}), ("failure", {"workerId": "w1", "retries": 0}),
                       ("bpmnError", {"workerId": "w1", "errorCode": "ID_INVALID"}),
                       ("extendLock", {"workerId": "w1", "newDuration": 1000})):
        r = requests.post(f"{rest}/external-task/{task.id}/{path}", json=body, auth=("clerk1", PASSWORD), timeout=10)
        assert r.status_code == 403, (path, r.text)
    for method, path, body in (("post", "unlock", None), ("put", "retries", {"retries": 1})):
        for user in ("clerk1", "sup1"):
            r = requests.request(method, f"{rest}/external-task/{task.id}/{path}", json=body,
                                 auth=(user, PASSWORD), timeout=10)
            assert r.status_code == 403, (path, user, r.text)
    # queries: a worker or whoever sees every case
    assert requests.get(f"{rest}/external-task", auth=("clerk1", PASSWORD), timeout=10).status_code == 403
    (row,) = requests.get(f"{rest}/external-task", auth=("sup1", PASSWORD), timeout=10).json()
    assert row["workerId"] == "w1"
    assert requests.get(f"{rest}/external-task/count", auth=("svc-verify", PASSWORD), timeout=10).json() == \
        {"count": 1}
    r = requests.post(f"{rest}/external-task/{task.id}/complete", json={"workerId": "w1"},
                      auth=("svc-verify", PASSWORD), timeout=10)
    assert r.status_code == 204, r.text
    assert "approve" in engine.runtime.instance(case.id).active_activity_ids
