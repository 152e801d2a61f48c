"""``/engine-rest/supervision/report`` and ``/supervision/list``: the 效能监察 numbers over REST, the same read
model and data scope as the page (supervisor/admin all, leader own departments, others 403), on a moved clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from tests.rest.conftest import LiveServer
from tests.web.conftest import FIXTURE

PASSWORD = "correct-horse-9"


@pytest.fixture
def server(engine, clock):  # type: ignore[no-untyped-def]
    from web.app import create_app

    engine.repository.deploy([(FIXTURE.name, FIXTURE.read_bytes())])
    for user, groups, roles in (("boss", (), ("supervisor",)), ("lead", ("market",), ("leader",)),
                                ("m1", ("market",), ("reviewer",)), ("lead2", ("fire",), ("leader",))):
        engine.identity.add_user(user, PASSWORD, groups=groups, roles=roles, create_groups=True)
    now = clock.now()
    for key, due in (("SV-1", timedelta(days=2)), ("SV-2", timedelta(days=20))):
        engine.runtime.start("web_review", business_key=key, variables={
            "applicant": "示例", "marketDue": (now + due).isoformat(),
            "marketFollowUp": (now + due - timedelta(days=1)).isoformat()})
    with LiveServer(create_app(engine)) as live:
        yield live


def _get(server, path: str, user: str, **params: str):  # type: ignore[no-untyped-def]
    return requests.get(f"{server.rest}{path}", params=params, auth=(user, PASSWORD), timeout=10)


def test_report_and_list_follow_the_clock_and_the_scope(server, engine, clock):
    r = _get(server, "/supervision/report", "boss")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"]["open_tasks"] >= 2 and body["total"]["overdue_tasks"] == 0 and body["scope"] is None
    assert "market" in [d["key"] for d in body["departments"]]
    clock.advance(days=5)  # SV-1's market review is now overdue
    engine.jobs.execute_due()
    body = _get(server, "/supervision/report", "boss").json()
    assert body["total"]["overdue_tasks"] == 1
    rows = _get(server, "/supervision/list", "boss", metric="overdue_tasks").json()
    assert rows["kind"] == "task" and rows["count"] == 1 and rows["rows"][0]["businessKey"] == "SV-1"
    assert rows["rows"][0]["due"].endswith("+0800")  # Camunda's date format
    assert _get(server, "/supervision/report", "lead").json()["scope"] == ["market"]
    assert _get(server, "/supervision/list", "lead2", metric="overdue_tasks").json()["count"] == 0  # not theirs
    refused = _get(server, "/supervision/report", "m1")
    assert refused.status_code == 403 and refused.json()["type"] == "AuthorizationException"
    assert _get(server, "/supervision/report", "boss", **{"from": "2026-13-01"}).status_code == 400
    assert _get(server, "/supervision/list", "boss").status_code == 400  # no metric
    assert _get(server, "/supervision/list", "boss", metric="nonsense").status_code == 400
