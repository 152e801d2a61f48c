"""Workers built on the real camunda-external-task-client-python3 (4.5.0) against the live HTTP server: one completes
the external service task, one raises a BPMN error caught by an error boundary event, one fails until an incident.
The client's own fetch-and-execute code runs in a thread (its ``subscribe`` never returns, so the loop is ours)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import warnings

import pytest
import requests

with warnings.catch_warnings():  # the client (4.5.0) still uses pydantic's V1-style validators
    warnings.simplefilter("ignore", DeprecationWarning)
    from camunda.external_task import external_task_worker as camunda_worker

from tests.conftest import deploy_fixture
from tests.serving import wait_until

CONFIG = {"maxTasks": 1, "lockDuration": 10_000, "asyncResponseTimeout": 500, "retries": 3, "retryTimeout": 0,
          "sleepSeconds": 0.05, "httpTimeoutMillis": 5_000, "timeoutDeltaMillis": 2_000}


@contextmanager
def running_worker(live: Any, worker_id: str, topic: str, handler: Callable[[Any], Any],
                   **config: Any) -> Iterator[list[Any]]:
    """An ExternalTaskWorker fetching and executing ``topic`` in a thread until the block ends; yields the tasks
    its handler saw."""
    worker = camunda_worker.ExternalTaskWorker(worker_id, base_url=live.rest, config={**CONFIG, **config})
    seen: list[Any] = []
    stop = threading.Event()

    def action(task: Any) -> Any:
        seen.append(task)
        return handler(task)

    def loop() -> None:
        while not stop.is_set():
            worker._fetch_and_execute_safe(topic, action)  # the client's fetch + execute + report, one round

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive()


@pytest.fixture
def deployed(engine):
    deploy_fixture(engine, "rest/external_verify.bpmn", "rest/external_archive.bpmn")
    return engine


def test_worker_completes_the_service_task_and_the_case_moves_on(deployed, live):
    engine = deployed
    case = engine.runtime.start("external_verify", business_key="ZW-2026-0001",
                                variables={"applicant": "张三", "idNumber": "110101199001011234", "priority": 50})

    def verify(task: Any) -> Any:
        assert task.get_variable("idNumber") == "110101199001011234"
        return task.complete({"verified": True, "score": 98})

    with running_worker(live, "id-checker", "verify-identity", verify) as seen:
        wait_until(lambda: "approve" in engine.runtime.instance(case.id).active_activity_ids)
    (task,) = seen
    assert task.get_business_key() == "ZW-2026-0001" and task.get_variable("applicant") == "张三"
    assert task.get_activity_id() == "verify_identity" and task.get_process_instance_id() == case.id
    assert task.get_extension_property("registry") == "公安人口库"
    variables = engine.runtime.variables(case.id)
    assert variables["verified"] is True and variables["score"] == 98
    (approve,) = engine.tasks.list(instance_id=case.id)
    assert approve.task_definition_key == "approve"
    assert engine.external_tasks.count(process_instance_id=case.id) == 0
    completed = [e for e in engine.history.events(case.id) if e.event_type == "ExternalTaskCompleted"]
    assert [e.actor for e in completed] == ["id-checker"]


def test_worker_bpmn_error_is_caught_by_the_boundary_event(deployed, live):
    engine = deployed
    case = engine.runtime.start("external_verify", business_key="ZW-2026-0002",
                                variables={"applicant": "李四", "priority": 50})

    def reject(task: Any) -> Any:
        return task.bpmn_error("ID_INVALID", "证件已过期", {"rejectionReason": "证件已过期"})

    with running_worker(live, "id-checker", "verify-identity", reject) as seen:
        wait_until(lambda: "notify_rejection" in engine.runtime.instance(case.id).active_activity_ids)
    assert len(seen) == 1
    view = engine.runtime.instance(case.id)
    assert view.active_activity_ids == ("notify_rejection",) and not view.has_incident
    assert engine.runtime.variables(case.id)["rejectionReason"] == "证件已过期"
    (notice,) = engine.tasks.list(instance_id=case.id)
    assert notice.task_definition_key == "notify_rejection"


def test_failing_worker_counts_retries_down_to_an_incident_then_retries_resolve_it(deployed, live):
    engine = deployed
    case = engine.runtime.start("external_archive", business_key="ZW-2026-0003")

    def fail(task: Any) -> Any:
        return task.failure("档案系统不可用", "ConnectionError: archive.gov.local:443", max_retries=2,
                            retry_timeout=0)

    with running_worker(live, "archiver", "archive", fail) as seen:
        wait_until(lambda: engine.runtime.instance(case.id).has_incident)
        time.sleep(0.3)  # nothing more is fetched once no retries are left
    assert [t._context["retries"] for t in seen] == [None, 2, 1]  # the client counts down from what it fetched
    view = engine.runtime.instance(case.id)
    (incident,) = view.incidents
    assert (incident.incident_type, incident.activity_id, incident.message) == \
        ("failedExternalTask", "archive", "档案系统不可用")
    (row,) = requests.get(f"{live.rest}/external-task", params={"noRetriesLeft": "true"}, timeout=5).json()
    assert row["retries"] == 0 and row["errorMessage"] == "档案系统不可用" and row["workerId"] == "archiver"
    details = requests.get(f"{live.rest}/external-task/{row['id']}/errorDetails", timeout=5)
    assert details.status_code == 200 and details.text == "ConnectionError: archive.gov.local:443"
    incidents = requests.get(f"{live.rest}/incident", params={"processInstanceId": case.id}, timeout=5)
    if incidents.status_code != 404 or incidents.json().get("type") != "NotFoundException":  # GET /incident exists
        assert [(i["incidentType"], i["activityId"]) for i in incidents.json()] == [("failedExternalTask", "archive")]
    # an operator sets retries again (Camunda: PUT /external-task/{id}/retries): the incident is resolved and a
    # healthy worker finishes the task
    r = requests.put(f"{live.rest}/external-task/{row['id']}/retries", json={"retries": 1}, timeout=5)
    assert r.status_code == 204
    assert not engine.runtime.instance(case.id).has_incident
    with running_worker(live, "archiver-2", "archive", lambda t: t.complete({}, {"receipt": "DA-2026-7"})):
        wait_until(lambda: "archived" in engine.runtime.instance(case.id).active_activity_ids)
    assert engine.runtime.variables(case.id)["archiveReceipt"] == "DA-2026-7"
