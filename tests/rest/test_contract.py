"""Contract of the Camunda resources over real HTTP: status codes, error bodies, and every key of Camunda's
shapes (null where unknown), dates as 2026-03-02T09:30:00.000+0800."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
DIAGRAM = (ROOT / "bpmn" / "sample" / "sample_parallel_approval.bpmn").read_bytes()
MESSAGES = (ROOT / "tests" / "fixtures" / "engine" / "message_wait.bpmn").read_bytes()
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")

TASK_KEYS = {"id", "name", "assignee", "owner", "created", "lastUpdated", "due", "followUp", "delegationState",
             "description", "executionId", "parentTaskId", "priority", "processDefinitionId", "processInstanceId",
             "taskDefinitionKey", "caseExecutionId", "caseInstanceId", "caseDefinitionId", "suspended", "formKey",
             "camundaFormRef", "tenantId", "taskState"}
DEFINITION_KEYS = {"id", "key", "category", "description", "name", "version", "resource", "deploymentId", "diagram",
                   "suspended", "tenantId", "versionTag", "historyTimeToLive", "startableInTasklist"}
INSTANCE_KEYS = {"links", "id", "definitionId", "businessKey", "caseInstanceId", "ended", "suspended", "tenantId"}
DEPLOYMENT_KEYS = {"links", "id", "name", "source", "deploymentTime", "tenantId"}
HISTORIC_PI_KEYS = {"id", "rootProcessInstanceId", "superProcessInstanceId", "superCaseInstanceId", "caseInstanceId",
                    "processDefinitionName", "processDefinitionKey", "processDefinitionVersion",
                    "processDefinitionId", "businessKey", "startTime", "endTime", "removalTime", "durationInMillis",
                    "startUserId", "startActivityId", "deleteReason", "tenantId", "state"}
HISTORIC_TASK_KEYS = {"id", "processDefinitionKey", "processDefinitionId", "processInstanceId", "executionId",
                      "caseDefinitionKey", "caseDefinitionId", "caseInstanceId", "caseExecutionId",
                      "activityInstanceId", "name", "description", "deleteReason", "owner", "assignee", "startTime",
                      "endTime", "duration", "taskDefinitionKey", "priority", "due", "parentTaskId", "followUp",
                      "tenantId", "removalTime", "rootProcessInstanceId"}
HISTORIC_ACT_KEYS = {"id", "parentActivityInstanceId", "activityId", "activityName", "activityType",
                     "processDefinitionKey", "processDefinitionId", "processInstanceId", "executionId", "taskId",
                     "calledProcessInstanceId", "calledCaseInstanceId", "assignee", "startTime", "endTime",
                     "durationInMillis", "canceled", "completeScope", "tenantId", "removalTime",
                     "rootProcessInstanceId"}
COMMENT_KEYS = {"id", "userId", "taskId", "processInstanceId", "time", "message", "removalTime",
                "rootProcessInstanceId"}


def _error(response: requests.Response, status: int, type_: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == type_ and isinstance(body["message"], str) and body["message"], body
    return body["message"]


@pytest.fixture
def rest(live):  # type: ignore[no-untyped-def]
    files = {"data": ("sample_parallel_approval.bpmn", DIAGRAM), "more": ("message_wait.bpmn", MESSAGES)}
    r = requests.post(f"{live.rest}/deployment/create", files=files, data={"deployment-name": "contract"},
                      timeout=10)
    assert r.status_code == 200, r.text
    return live.rest


def _start(rest: str, key: str = "CT-1", **variables: object) -> dict:
    body = {"businessKey": key, "variables": {k: {"value": v} for k, v in variables.items()}}
    r = requests.post(f"{rest}/process-definition/key/sample_parallel_approval/start", json=body, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _task(rest: str, key: str, group: str) -> dict:
    [task] = requests.get(f"{rest}/task", params={"processInstanceBusinessKey": key, "candidateGroup": group},
                          timeout=10).json()
    return task


def test_deployment_shapes_several_files_and_cascade_delete(rest):
    [dep] = requests.get(f"{rest}/deployment", timeout=10).json()
    assert set(dep) >= DEPLOYMENT_KEYS and DATE.match(dep["deploymentTime"])
    names = sorted(r["name"] for r in requests.get(f"{rest}/deployment/{dep['id']}/resources", timeout=10).json())
    assert names == ["message_wait.bpmn", "sample_parallel_approval.bpmn"]
    defs = requests.get(f"{rest}/process-definition", params={"latestVersion": "true"}, timeout=10).json()
    assert len(defs) == 3 and all(set(d) >= DEFINITION_KEYS for d in defs)  # message_wait.bpmn holds two
    xml = requests.get(f"{rest}/process-definition/key/sample_parallel_approval/xml", timeout=10).json()
    assert set(xml) == {"id", "bpmn20Xml"} and "camunda:candidateGroups" in xml["bpmn20Xml"]
    _start(rest, "CT-DEL")
    _error(requests.delete(f"{rest}/deployment/{dep['id']}", timeout=10), 500, "ProcessEngineException")
    assert requests.delete(f"{rest}/deployment/{dep['id']}", params={"cascade": "true"}, timeout=10).status_code == 204
    _error(requests.get(f"{rest}/deployment/{dep['id']}", timeout=10), 404, "InvalidRequestException")
    assert requests.get(f"{rest}/process-instance", timeout=10).json() == []
    assert requests.get(f"{rest}/process-definition/count", timeout=10).json() == {"count": 0}


def test_deploy_changed_only_and_bad_xml(rest):
    changed = DIAGRAM.replace(b"\xe5\x8f\x97\xe7\x90\x86", b"\xe6\x8e\xa5\xe4\xbb\xb6", 1)  # 受理 -> 接件 somewhere
    assert changed != DIAGRAM
    files = {"a": ("sample_parallel_approval.bpmn", changed), "b": ("message_wait.bpmn", MESSAGES)}
    r = requests.post(f"{rest}/deployment/create", files=files, timeout=10,
                      data={"deployment-name": "contract", "deploy-changed-only": "true"})
    assert r.status_code == 200 and set(r.json()) >= DEPLOYMENT_KEYS | {"deployedProcessDefinitions"}
    assert [d["key"] for d in r.json()["deployedProcessDefinitions"].values()] == ["sample_parallel_approval"]
    r = requests.post(f"{rest}/deployment/create", files={"a": ("broken.bpmn", b"<definitions><unclosed>")},
                      timeout=10)
    message = _error(r, 400, "ParseException")
    assert "broken.bpmn" in message and r.json()["details"]["problems"]
    _error(requests.post(f"{rest}/deployment/create", data={"deployment-name": "x"}, timeout=10), 400,
           "InvalidRequestException")


def test_unknown_ids_are_404(rest):
    for path in ("/process-definition/nope", "/process-definition/key/nope", "/process-definition/key/nope/xml",
                 "/process-instance/nope", "/process-instance/nope/variables", "/task/nope", "/task/nope/variables",
                 "/deployment/nope", "/history/process-instance/nope", "/incident/nope",
                 "/process-instance/nope/activity-instances"):
        r = requests.get(f"{rest}{path}", timeout=10)
        assert r.status_code == 404, (path, r.text)
        assert set(r.json()) >= {"type", "message"}
    _error(requests.post(f"{rest}/task/nope/claim", json={"userId": "u"}, timeout=10), 404, "InvalidRequestException")
    _error(requests.post(f"{rest}/process-definition/key/nope/start", json={}, timeout=10), 404,
           "InvalidRequestException")


def test_bad_input_is_400(rest):
    url = f"{rest}/process-definition/key/sample_parallel_approval/start"
    _error(requests.post(url, json={"variables": {"x": {"value": 1, "type": "Weird"}}}, timeout=10), 400,
           "InvalidRequestException")
    _error(requests.post(url, json={"variables": {"x": {"value": "abc", "type": "Integer"}}}, timeout=10), 400,
           "InvalidRequestException")
    _error(requests.post(url, data="{not json", headers={"Content-Type": "application/json"}, timeout=10), 400,
           "InvalidRequestException")
    _error(requests.post(url, json=[1, 2], timeout=10), 400, "InvalidRequestException")
    _error(requests.get(f"{rest}/task", params={"sortBy": "created"}, timeout=10), 400, "InvalidRequestException")
    _error(requests.get(f"{rest}/task", params={"sortBy": "bogus", "sortOrder": "asc"}, timeout=10), 400,
           "InvalidRequestException")
    _error(requests.get(f"{rest}/task", params={"dueBefore": "tomorrow"}, timeout=10), 400,
           "InvalidRequestException")
    _error(requests.get(f"{rest}/task", params={"nameLike": "%x%"}, timeout=10), 400, "InvalidRequestException")
    assert requests.get(f"{rest}/no-such-resource", timeout=10).status_code == 404


def test_task_lifecycle_shapes_and_claim_conflict(rest):
    pi = _start(rest, "CT-T", applicant="李四")
    assert set(pi) >= INSTANCE_KEYS and pi["businessKey"] == "CT-T"
    task = _task(rest, "CT-T", "window")
    assert set(task) >= TASK_KEYS and DATE.match(task["created"]) and task["taskDefinitionKey"] == "intake"
    assert requests.get(f"{rest}/task/count", params={"candidateGroup": "window"}, timeout=10).json() == {"count": 1}
    assert requests.post(f"{rest}/task/count", json={"candidateGroups": ["window", "market"]},
                         timeout=10).json() == {"count": 1}
    form = requests.get(f"{rest}/task/{task['id']}/form-variables", timeout=10).json()
    assert form["applicant"] == {"type": "String", "value": "李四", "valueInfo": {}}
    assert form["accepted"]["type"] == "Boolean" and form["accepted"]["value"] is None
    links = requests.get(f"{rest}/task/{task['id']}/identity-links", timeout=10).json()
    assert {"userId": None, "groupId": "window", "type": "candidate"} in links
    assert requests.post(f"{rest}/task/{task['id']}/identity-links", json={"groupId": "leaders", "type": "candidate"},
                         timeout=10).status_code == 204
    assert _task(rest, "CT-T", "leaders")["id"] == task["id"]
    report = requests.get(f"{rest}/task/report/candidate-group-count", timeout=10).json()
    assert {"groupName": "leaders", "taskCount": 1} in report and {"groupName": "window", "taskCount": 1} in report

    assert requests.post(f"{rest}/task/{task['id']}/claim", json={"userId": "clerk1"}, timeout=10).status_code == 204
    assert requests.get(f"{rest}/task", params={"candidateGroup": "window"}, timeout=10).json() == []
    assert len(requests.get(f"{rest}/task", params={"candidateGroup": "window", "includeAssignedTasks": "true"},
                            timeout=10).json()) == 1
    message = _error(requests.post(f"{rest}/task/{task['id']}/claim", json={"userId": "clerk2"}, timeout=10), 500,
                     "TaskAlreadyClaimedException")
    assert "clerk1" in message
    c = requests.post(f"{rest}/task/{task['id']}/comment/create", json={"message": "材料齐全"}, timeout=10)
    assert c.status_code == 200 and set(c.json()) >= COMMENT_KEYS and DATE.match(c.json()["time"])
    assert [x["message"] for x in requests.get(f"{rest}/task/{task['id']}/comment", timeout=10).json()] == ["材料齐全"]

    r = requests.post(f"{rest}/task/{task['id']}/complete", timeout=10,
                      json={"variables": {"accepted": {"value": True}}, "withVariablesInReturn": True})
    assert r.status_code == 200 and r.json()["accepted"] == {"type": "Boolean", "value": True, "valueInfo": {}}
    _error(requests.post(f"{rest}/task/{task['id']}/complete", json={}, timeout=10), 404, "InvalidRequestException")
    tree = requests.get(f"{rest}/process-instance/{pi['id']}/activity-instances", timeout=10).json()
    assert sorted(c["activityId"] for c in tree["childActivityInstances"]) == ["review_env", "review_fire",
                                                                            "review_market"]
    assert tree["activityType"] == "processDefinition" and tree["childTransitionInstances"] == []

    market = _task(rest, "CT-T", "market")
    assert requests.post(f"{rest}/task/{market['id']}/delegate", json={"userId": "expert"},
                         timeout=10).status_code == 204
    delegated = requests.get(f"{rest}/task/{market['id']}", timeout=10).json()
    assert delegated["assignee"] == "expert" and delegated["delegationState"] == "PENDING"
    assert requests.post(f"{rest}/task/{market['id']}/resolve", json={}, timeout=10).status_code == 204
    assert requests.get(f"{rest}/task/{market['id']}", timeout=10).json()["delegationState"] == "RESOLVED"

    hist = requests.get(f"{rest}/history/task", params={"processInstanceId": pi["id"], "finished": "true"},
                        timeout=10).json()
    assert [h["taskDefinitionKey"] for h in hist] == ["intake"] and set(hist[0]) >= HISTORIC_TASK_KEYS
    assert hist[0]["deleteReason"] == "completed" and hist[0]["assignee"] == "clerk1"
    acts = requests.get(f"{rest}/history/activity-instance", params={"processInstanceId": pi["id"]},
                        timeout=10).json()
    assert all(set(a) >= HISTORIC_ACT_KEYS for a in acts)
    intake = [a for a in acts if a["activityId"] == "intake"]
    assert len(intake) == 1 and intake[0]["endTime"] and intake[0]["assignee"] == "clerk1"
    assert intake[0]["activityType"] == "userTask" and not intake[0]["canceled"]
    assert len([a for a in acts if a["endTime"] is None]) == 3


def test_instance_variables_suspension_delete_and_history(rest):
    pi = _start(rest, "CT-V", amount=10)
    base = f"{rest}/process-instance/{pi['id']}"
    assert requests.get(f"{base}/variables/amount", timeout=10).json() == {"type": "Integer", "value": 10,
                                                                            "valueInfo": {}}
    r = requests.post(f"{base}/variables", timeout=10,
                      json={"modifications": {"note": {"value": "{\"a\": 1}", "type": "Json"}}, "deletions": ["amount"]})
    assert r.status_code == 204
    values = requests.get(f"{base}/variables", timeout=10).json()
    assert "amount" not in values and values["note"]["type"] == "Json"
    assert requests.put(f"{base}/variables/when", json={"value": "2026-11-22T20:30:00.000+0800", "type": "Date"},
                        timeout=10).status_code == 204
    assert requests.get(f"{base}/variables/when", timeout=10).json()["value"] == "2026-11-22T20:30:00.000+0800"
    assert requests.delete(f"{base}/variables/when", timeout=10).status_code == 204
    _error(requests.get(f"{base}/variables/when", timeout=10), 404, "InvalidRequestException")
    _error(requests.put(f"{base}/variables/x", json={"value": "x", "type": "Long"}, timeout=10), 400,
           "InvalidRequestException")

    assert requests.put(f"{base}/suspended", json={"suspended": True}, timeout=10).status_code == 204
    assert requests.get(base, timeout=10).json()["suspended"] is True
    assert requests.get(f"{rest}/process-instance", params={"suspended": "true"}, timeout=10).json()[0]["id"] == pi["id"]
    assert requests.post(f"{rest}/process-instance/count", json={"active": True}, timeout=10).json() == {"count": 0}
    task = _task(rest, "CT-V", "window")
    _error(requests.post(f"{rest}/task/{task['id']}/claim", json={"userId": "u"}, timeout=10), 500,
           "SuspendedEntityInteractionException")
    assert requests.put(f"{base}/suspended", json={"suspended": False}, timeout=10).status_code == 204

    assert requests.delete(base, params={"deleteReason": "申请人撤回"}, timeout=10).status_code == 204
    _error(requests.get(base, timeout=10), 404, "InvalidRequestException")
    [h] = requests.get(f"{rest}/history/process-instance", params={"processInstanceBusinessKey": "CT-V"},
                       timeout=10).json()
    assert set(h) >= HISTORIC_PI_KEYS and h["state"] == "EXTERNALLY_TERMINATED" and h["deleteReason"] == "申请人撤回"
    assert DATE.match(h["startTime"]) and DATE.match(h["endTime"])
    assert requests.get(f"{rest}/history/process-instance/count", params={"finished": "true"},
                        timeout=10).json() == {"count": 1}


def test_message_correlation(rest):
    r = requests.post(f"{rest}/message", timeout=10, json={
        "messageName": "application_received", "businessKey": "CT-M", "resultEnabled": True,
        "processVariables": {"clerk": {"value": "wang", "type": "String"}}, "variablesInResultEnabled": True})
    assert r.status_code == 200, r.text
    [started] = r.json()
    assert started["resultType"] == "ProcessDefinition" and started["processInstance"]["businessKey"] == "CT-M"
    assert started["variables"]["clerk"]["value"] == "wang"
    waiting = requests.post(f"{rest}/process-definition/key/supplement_wait/start", json={"businessKey": "CT-W"},
                            timeout=10).json()
    r = requests.post(f"{rest}/message", timeout=10, json={
        "messageName": "materials_supplemented", "businessKey": "CT-W", "resultEnabled": True,
        "processVariables": {"clerk": {"value": "wang"}}})
    assert r.status_code == 200, r.text
    assert r.json()[0]["resultType"] == "Execution" and set(r.json()[0]["execution"]) == {
        "id", "processInstanceId", "ended", "tenantId"}
    assert r.json()[0]["execution"]["processInstanceId"] == waiting["id"]
    [review] = requests.get(f"{rest}/task", params={"processInstanceBusinessKey": "CT-W"}, timeout=10).json()
    assert review["taskDefinitionKey"] == "review" and review["assignee"] == "wang"
    _error(requests.post(f"{rest}/message", json={"messageName": "nobody_waits", "businessKey": "CT-M"}, timeout=10),
           400, "InvalidRequestException")
    _error(requests.post(f"{rest}/message", json={"businessKey": "CT-M"}, timeout=10), 400, "InvalidRequestException")
    assert requests.post(f"{rest}/message", json={"messageName": "application_received"},
                         timeout=10).status_code == 204


def test_jobs_list_and_retries(rest, engine):
    from tests.conftest import fixture_bytes

    engine.repository.deploy([("quick_timer.bpmn", fixture_bytes("jobs", "quick_timer.bpmn"))])
    key = "quick_timer"
    started = requests.post(f"{rest}/process-definition/key/{key}/start", json={"businessKey": "CT-J"}, timeout=10)
    assert started.status_code == 200, started.text
    jobs = requests.get(f"{rest}/job", params={"processInstanceId": started.json()["id"]}, timeout=10).json()
    assert len(jobs) == 1 and jobs[0]["retries"] == 3 and DATE.match(jobs[0]["dueDate"])
    assert set(jobs[0]) >= {"id", "jobDefinitionId", "processInstanceId", "processDefinitionId", "executionId",
                            "exceptionMessage", "retries", "dueDate", "suspended", "priority", "tenantId"}
    assert requests.put(f"{rest}/job/{jobs[0]['id']}/retries", json={"retries": 2}, timeout=10).status_code == 204
    _error(requests.put(f"{rest}/job/nope/retries", json={"retries": 1}, timeout=10), 404, "InvalidRequestException")
    _error(requests.put(f"{rest}/job/{jobs[0]['id']}/retries", json={}, timeout=10), 400, "InvalidRequestException")
