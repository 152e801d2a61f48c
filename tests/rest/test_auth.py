"""HTTP Basic authentication on /engine-rest (REST_AUTH on, the default) and authorization by role and department:
a reviewer of one department cannot list, count, read, claim or complete another department's tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.rest.conftest import LiveServer

DIAGRAM = (Path(__file__).resolve().parents[2] / "bpmn" / "sample" / "sample_parallel_approval.bpmn").read_bytes()
PASSWORD = "correct-horse-9"


@pytest.fixture
def secured(engine):  # type: ignore[no-untyped-def]
    from web.app import create_app

    for user, groups, roles in (("admin1", (), ("admin",)), ("clerk1", ("window",), ("clerk",)),
                                ("m1", ("market",), ("reviewer",)), ("f1", ("fire",), ("reviewer",)),
                                ("designer1", (), ("designer",))):
        engine.identity.add_user(user, PASSWORD, groups=groups, roles=roles, create_groups=True)
    with LiveServer(create_app(engine)) as server:
        yield server


def _as(user: str) -> tuple[str, str]:
    return (user, PASSWORD)


def _tasks(rest: str, user: str, **params: str) -> list[dict]:
    r = requests.get(f"{rest}/task", params=params, auth=_as(user), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_credentials_are_required(secured):
    rest = secured.rest
    for auth in (None, ("clerk1", "wrong-password"), ("nobody", PASSWORD)):
        r = requests.get(f"{rest}/task", auth=auth, timeout=10)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Basic realm="engine-rest"'
        assert r.json()["type"] == "AuthenticationException"
    assert requests.get(f"{rest}/openapi.json", timeout=10).status_code == 200
    assert requests.get(f"{rest}/engine", auth=_as("clerk1"), timeout=10).status_code == 200


def test_departments_see_and_act_on_their_own_tasks_only(secured):
    rest = secured.rest
    r = requests.post(f"{rest}/deployment/create", files={"d": ("a.bpmn", DIAGRAM)}, auth=_as("clerk1"), timeout=10)
    assert r.status_code == 403 and r.json()["type"] == "AuthorizationException"
    r = requests.post(f"{rest}/deployment/create", files={"d": ("a.bpmn", DIAGRAM)}, auth=_as("designer1"),
                      timeout=10)
    assert r.status_code == 200, r.text
    start = f"{rest}/process-definition/key/sample_parallel_approval/start"
    assert requests.post(start, json={"businessKey": "A-1"}, auth=_as("m1"), timeout=10).status_code == 403
    pi = requests.post(start, json={"businessKey": "A-1"}, auth=_as("clerk1"), timeout=10).json()

    [intake] = _tasks(rest, "clerk1")
    assert _tasks(rest, "m1") == [] and _tasks(rest, "m1", candidateGroup="window") == []
    r = requests.post(f"{rest}/task/{intake['id']}/complete", auth=_as("clerk1"), timeout=10,
                      json={"variables": {"accepted": {"value": True}}})
    assert r.status_code == 204, r.text

    [market] = _tasks(rest, "m1")
    [fire] = _tasks(rest, "f1")
    assert market["taskDefinitionKey"] == "review_market" and fire["taskDefinitionKey"] == "review_fire"
    assert requests.get(f"{rest}/task/count", auth=_as("m1"), timeout=10).json() == {"count": 1}
    assert requests.post(f"{rest}/task/count", json={"candidateGroup": "fire"}, auth=_as("m1"),
                         timeout=10).json() == {"count": 0}
    assert len(_tasks(rest, "admin1")) == 3
    for method, path, body in (("get", "", None), ("post", "/claim", {"userId": "m1"}),
                               ("post", "/complete", {}), ("get", "/variables", None)):
        r = getattr(requests, method)(f"{rest}/task/{fire['id']}{path}", json=body, auth=_as("m1"), timeout=10)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["type"] == "AuthorizationException" and "fire" in r.json()["message"]
    assert [t["id"] for t in _tasks(rest, "f1")] == [fire["id"]]  # the refused completion changed nothing
    assert requests.post(f"{rest}/task/{market['id']}/claim", json={"userId": "m1"}, auth=_as("m1"),
                         timeout=10).status_code == 204
    assert requests.post(f"{rest}/task/{market['id']}/complete", auth=_as("m1"), timeout=10,
                         json={"variables": {"marketApproved": {"value": True}}}).status_code == 204
    hist = requests.get(f"{rest}/history/task", auth=_as("m1"), timeout=10).json()
    assert [h["taskDefinitionKey"] for h in hist] == ["review_market"]  # their department's only
    assert requests.get(f"{rest}/process-instance/{pi['id']}", auth=_as("m1"), timeout=10).status_code == 200
    assert requests.get(f"{rest}/process-instance", auth=_as("m1"), timeout=10).status_code == 403
    assert requests.delete(f"{rest}/process-instance/{pi['id']}", auth=_as("m1"), timeout=10).status_code == 403
    assert requests.get(f"{rest}/incident", auth=_as("m1"), timeout=10).status_code == 403
    assert requests.get(f"{rest}/incident", auth=_as("admin1"), timeout=10).status_code == 200
    report = requests.get(f"{rest}/task/report/candidate-group-count", auth=_as("f1"), timeout=10).json()
    assert report == [{"groupName": "fire", "taskCount": 1}]


def test_rest_requests_set_no_session_cookie(secured):
    r = requests.get(f"{secured.rest}/task", auth=_as("m1"), timeout=10)
    assert r.status_code == 200
    assert "Set-Cookie" not in r.headers  # stateless: nothing to keep between requests
