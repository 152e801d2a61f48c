"""OneWindow's own REST resources over real HTTP with authentication on: ``/case/{id}/clock`` (read, suspend,
resume, extend; refused extension after expiry with Camunda's error body), ``/calendar``, and
``POST /job/{id}/execute`` (Camunda's: run a job now; twice is a 404; a failure is a 500 that counts the attempt)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from tests.conftest import deploy_fixture
from tests.rest.conftest import LiveServer

CST = timezone(timedelta(hours=8))
CLOCK_DIAGRAM = Path(__file__).resolve().parents[1] / "caseclock" / "fixtures" / "clock_simple.bpmn"
PASSWORD = "correct-horse-9"


@pytest.fixture
def secured(engine):  # type: ignore[no-untyped-def]
    from web.app import create_app

    for user, groups, roles in (("admin1", (), ("admin",)), ("sup1", (), ("supervisor",)),
                                ("clerk1", ("window",), ("clerk",))):
        engine.identity.add_user(user, PASSWORD, groups=groups, roles=roles, create_groups=True)
    with LiveServer(create_app(engine)) as server:
        yield server


def _call(method: str, url: str, user: str | None, **kw):  # type: ignore[no-untyped-def]
    return requests.request(method, url, auth=(user, PASSWORD) if user else None, timeout=10, **kw)


def _error(r, status: int, type_: str) -> str:  # type: ignore[no-untyped-def]
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) >= {"type", "message"} and body["type"] == type_, body
    return body["message"]


# --- /case/{id}/clock -------------------------------------------------------------------------------------------
def test_case_clock_read_suspend_resume_extend_over_http(engine, clock, secured):
    engine.repository.deploy([("clock_simple.bpmn", CLOCK_DIAGRAM.read_bytes())])
    clock.set(datetime(2026, 4, 3, 10, 0, tzinfo=CST))  # Friday before the Qingming holiday
    case = engine.runtime.start("clock_simple", business_key="QM-9")
    rest = secured.rest
    url = f"{rest}/case/QM-9/clock"

    assert _call("get", url, None).status_code == 401
    _error(_call("get", url, "clerk1"), 403, "AuthorizationException")
    r = _call("get", url, "sup1")
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["instanceId"] == case.id and c["businessKey"] == "QM-9" and c["state"] == "RUNNING"
    assert c["promisedDue"] == "2026-04-13T17:30:00.000+0800" and c["legalDue"] == "2026-05-07T17:30:00.000+0800"
    assert (c["signal"], c["workingDaysLeft"], c["provisional"]) == ("ON_TIME", 5, False)
    assert c["suspensions"] == [] and c["extensions"] == []
    assert _call("get", f"{rest}/case/{case.id}/clock", "admin1").json() == c  # by id or business key

    _error(_call("get", f"{rest}/case/NO-SUCH/clock", "sup1"), 404, "InvalidRequestException")
    _error(_call("post", f"{url}/suspend", "clerk1", json={"reason": "补正"}), 403, "AuthorizationException")
    _error(_call("post", f"{url}/suspend", "sup1", json={}), 400, "InvalidRequestException")
    _error(_call("post", f"{url}/suspend", "sup1", json={"reason": "x", "kind": "nap"}), 400,
           "InvalidRequestException")
    _error(_call("post", f"{url}/suspend", "sup1", data="not json"), 400, "InvalidRequestException")
    _error(_call("post", f"{url}/resume", "sup1"), 500, "ProcessEngineException")  # not suspended

    clock.set(datetime(2026, 4, 8, 9, 0, tzinfo=CST))
    r = _call("post", f"{url}/suspend", "sup1", json={"reason": "申请人补正材料", "kind": "supplement",
                                                      "expectedDays": 3})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "SUSPENDED" and len(r.json()["suspensions"]) == 1
    assert r.json()["suspensions"][0]["start"] == "2026-04-08T09:00:00.000+0800"
    clock.set(datetime(2026, 4, 10, 9, 0, tzinfo=CST))
    r = _call("post", f"{url}/resume", "admin1")
    assert r.status_code == 200 and r.json()["state"] == "RUNNING", r.text
    resumed = r.json()
    # 8, 9, 10 April: every working day the clock stood still (as tests/caseclock count them)
    assert resumed["suspendedWorkingDays"] == 3 and resumed["promisedDue"] == "2026-04-16T17:30:00.000+0800"

    _error(_call("post", f"{url}/extend", "sup1", json={"days": 3, "reason": "现场核查"}), 400,
           "InvalidRequestException")  # no approver
    _error(_call("post", f"{url}/extend", "sup1", json={"days": 0, "reason": "r", "approver": "a"}), 400,
           "InvalidRequestException")
    _error(_call("post", f"{url}/extend", "sup1", json={"days": 61, "reason": "r", "approver": "a"}), 400,
           "InvalidRequestException")
    r = _call("post", f"{url}/extend", "sup1", json={"days": 3, "reason": "现场核查", "approver": "局长 王某"})
    assert r.status_code == 200, r.text
    assert r.json()["extendedWorkingDays"] == 3 and r.json()["promisedDue"] == "2026-04-21T17:30:00.000+0800"
    assert r.json()["extensions"][0]["approver"] == "局长 王某"
    assert r.json()["extensions"][0]["approvedAt"] == "2026-04-10T09:00:00.000+0800"

    clock.set(datetime(2026, 4, 22, 9, 0, tzinfo=CST))  # the promised deadline has passed
    message = _error(_call("post", f"{url}/extend", "sup1", json={"days": 2, "reason": "太晚", "approver": "局长"}),
                     500, "ProcessEngineException")
    assert "before expiry" in message and "QM-9" in message
    assert _call("get", url, "sup1").json()["extendedWorkingDays"] == 3  # nothing changed


def test_case_without_a_clock(engine, secured):
    deploy_fixture(engine, "jobs/review_with_timers.bpmn")
    case = engine.runtime.start("review_with_timers", business_key="NC-1")
    rest = secured.rest
    message = _error(_call("get", f"{rest}/case/NC-1/clock", "admin1"), 404, "InvalidRequestException")
    assert "no deadline clock" in message
    _error(_call("post", f"{rest}/case/{case.id}/clock/suspend", "admin1", json={"reason": "x"}), 500,
           "ProcessEngineException")


# --- /calendar --------------------------------------------------------------------------------------------------
def test_calendar_year_and_deadline(secured):
    rest = secured.rest
    assert _call("get", f"{rest}/calendar/2026", None).status_code == 401
    r = _call("get", f"{rest}/calendar/2026", "clerk1")
    assert r.status_code == 200, r.text
    year = r.json()
    assert year["year"] == 2026 and year["region"] is None
    first = year["days"][0]
    assert set(first) >= {"date", "weekday", "kind", "source", "name", "region"}
    assert (first["date"], first["kind"]) == ("2026-01-01", "holiday")

    r = _call("get", f"{rest}/calendar/deadline", "clerk1",
              params={"start": "2026-04-03T10:00:00.000+0800", "workingDays": "5"})
    assert r.status_code == 200, r.text
    assert r.json() == {"start": "2026-04-03T10:00:00.000+0800", "workingDays": 5, "region": None,
                        "deadline": "2026-04-13T17:30:00.000+0800", "provisional": False}
    r = _call("get", f"{rest}/calendar/deadline", "clerk1", params={"start": "2031-04-03T10:00:00",
                                                                     "workingDays": "5"})
    assert r.status_code == 200 and r.json()["provisional"] is True  # no calendar data for 2031 yet
    for params in ({"start": "2026-04-03T10:00:00"}, {"workingDays": "5"},
                   {"start": "yesterday", "workingDays": "5"}, {"start": "2026-04-03T10:00:00", "workingDays": "x"},
                   {"start": "2026-04-03T10:00:00", "workingDays": "-1"}):
        _error(_call("get", f"{rest}/calendar/deadline", "clerk1", params=params), 400, "InvalidRequestException")
    _error(_call("get", f"{rest}/calendar/nineteen", "clerk1"), 404, "NotFoundException")


# --- POST /job/{id}/execute -----------------------------------------------------------------------------------
def test_job_execute_runs_a_timer_before_its_due_time_once(engine, clock, secured):
    deploy_fixture(engine, "jobs/review_with_timers.bpmn")
    case = engine.runtime.start("review_with_timers", business_key="JX-1")
    rest = secured.rest
    (job,) = _call("get", f"{rest}/job", "admin1", params={"processInstanceId": case.id}).json()
    assert job["dueDate"] > "2026-03-02T09:30:00.000+0800" and engine.tasks.list(instance_id=case.id) == []

    assert _call("post", f"{rest}/job/{job['id']}/execute", None).status_code == 401
    _error(_call("post", f"{rest}/job/{job['id']}/execute", "sup1"), 403, "AuthorizationException")
    _error(_call("post", f"{rest}/job/no-such-job/execute", "admin1"), 404, "InvalidRequestException")
    r = _call("post", f"{rest}/job/{job['id']}/execute", "admin1")
    assert r.status_code == 204 and r.content == b"", r.text
    (review,) = engine.tasks.list(instance_id=case.id)
    assert review.task_definition_key == "review"
    executed = [e for e in engine.history.events(case.id) if e.event_type == "JobExecuted"]
    assert [e.actor for e in executed] == ["admin1"]
    message = _error(_call("post", f"{rest}/job/{job['id']}/execute", "admin1"), 404, "InvalidRequestException")
    assert job["id"] in message
    assert len(engine.tasks.list(instance_id=case.id)) == 1
    (boundary,) = _call("get", f"{rest}/job", "admin1", params={"processInstanceId": case.id}).json()
    assert boundary["activityId"] == "review_timeout"


def test_job_execute_failure_is_a_500_and_counts_the_attempt(engine, clock, live):
    deploy_fixture(engine, "jobs/async_continuations.bpmn")
    case = engine.runtime.start("async_continuations", variables={"fail": True, "seq": 3})
    rest = live.rest  # authentication off: the operator is anonymous
    (job,) = requests.get(f"{rest}/job", params={"processInstanceId": case.id}, timeout=10).json()
    assert job["retries"] == 3
    for retries_left in (2, 1, 0):
        r = requests.post(f"{rest}/job/{job['id']}/execute", timeout=10)
        message = _error(r, 500, "ProcessEngineException")
        assert "numbering service unavailable" in message
        (row,) = requests.get(f"{rest}/job", params={"jobId": job["id"]}, timeout=10).json()
        assert row["retries"] == retries_left and "numbering service unavailable" in row["exceptionMessage"]
    assert row["state"] == "FAILED" and row["failedActivityId"] == "number"
    message = _error(requests.post(f"{rest}/job/{job['id']}/execute", timeout=10), 500, "ProcessEngineException")
    assert "retries" in message
    engine.runtime.set_variables(case.id, {"fail": False})
    assert requests.put(f"{rest}/job/{job['id']}/retries", json={"retries": 1}, timeout=10).status_code == 204
    assert requests.post(f"{rest}/job/{job['id']}/execute", timeout=10).status_code == 204
    assert engine.runtime.variables(case.id)["caseNumber"] == "GZ-3"
