"""流程跟踪 /cases/<business key>: diagram highlights computed on the server, timeline, clock, variables, open
tasks; data scope (a reviewer of another department gets 403); supervisor actions through the engine façade."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

from tests.web.case_support import at, login, start_case, web_app  # noqa: F401 - fixtures

KEY = "GD-20260401-0001"


def _highlights(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="ow-highlights">(.*?)</script>', html, re.S)
    assert m, "no highlight JSON on the page"
    return json.loads(m.group(1))


def _section(html: str, name: str) -> str:
    m = re.search(rf'<section id="{name}">(.*?)</section>', html, re.S)
    assert m, f"no section {name}"
    return unescape(re.sub(r"<[^>]+>", " ", m.group(1)))


@pytest.fixture
def case(engine, clock, web_app):  # type: ignore[no-untyped-def]
    return start_case(engine, clock, KEY)


def test_case_page_shows_highlights_timeline_clock_tasks_and_variables(engine, web_app, case):
    client = login(web_app.test_client(), "boss")
    r = client.get(f"/cases/{KEY}")
    assert r.status_code == 200, r.text
    html = r.text
    marks = _highlights(html)
    assert marks["completed"] == ["intake", "review_market", "start"]
    assert marks["active"] == ["review_civil", "review_fire"]
    assert marks["overdue"] == ["review_fire"] and marks["warning"] == []
    assert {(o["element"], o["signal"]) for o in marks["overlays"]} == {("review_fire", "OVERDUE"),
                                                                        ("review_civil", "ON_TIME")}
    timeline = _section(html, "timeline")
    for label in ("办件创建", "生成任务", "完成任务", "受理，开始计时"):
        assert label in timeline
    assert "2026-04-01 09:00:00" in timeline and "rev_market" in timeline and "市场监管内部审查" in timeline
    clock = _section(html, "clock")
    assert "2026-04-01 09:00" in clock  # accepted
    assert "2026-04-16 17:30" in clock  # promised: 10 wd after Wed 04-01 (Qingming 04-04..06 skipped)
    assert "2026-04-30 17:30" in clock  # legal: 20 wd
    assert "计时中" in clock and "正常" in clock
    tasks = _section(html, "tasks")
    assert "消防内部审查" in tasks and "超期" in tasks and "fire" in tasks and "2026-04-07 17:30" in tasks
    assert "市场监管内部审查" not in tasks
    variables = _section(html, "variables")
    assert "deliveryMethod" in variables and "张三" in variables
    # the diagram is the engine's definition XML, served to the page under the same access rule
    d = client.get(f"/cases/{KEY}/diagram.bpmn")
    assert d.status_code == 200 and b"bpmndi:BPMNDiagram" in d.data
    assert 'src="/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js' in html
    assert "督办操作" in html  # the supervisor sees the action forms


def test_data_scope_reviewer_of_the_department_reads_other_department_gets_403(engine, web_app, case):
    client = web_app.test_client()
    r = login(client, "rev_fire").get(f"/cases/{KEY}")
    assert r.status_code == 200 and "督办操作" not in r.text  # no supervisor forms for a reviewer
    assert login(client, "rev_tax").get(f"/cases/{KEY}").status_code == 403
    assert login(client, "rev_tax").get(f"/cases/{KEY}/diagram.bpmn").status_code == 403
    assert login(client, "rev_tax").post(f"/cases/{KEY}/urge", data={"message": "x"}).status_code == 403
    # a reviewer who may read the case still may not act on it as a supervisor
    assert login(client, "rev_fire").post(f"/cases/{KEY}/terminate", data={"reason": "x"}).status_code == 403
    assert engine.runtime.instance(case[0].id).state == "ACTIVE"
    assert login(client, "root").get(f"/cases/{KEY}").status_code == 200
    assert login(client, "boss").get("/cases/NO-SUCH-CASE").status_code == 404


def test_anonymous_is_not_let_in(web_app, case):
    r = web_app.test_client().get(f"/cases/{KEY}")
    assert r.status_code in (302, 401)
    if r.status_code == 302:
        assert "login" in r.headers["Location"]


def test_supervisor_actions_go_through_the_engine_and_into_the_history(engine, clock, web_app, case):
    instance, tasks = case
    clock.set(at(2026, 4, 2, 10, 0))  # before the fire review's deadline
    client = login(web_app.test_client(), "boss")

    def post(action: str, **data: str):  # type: ignore[no-untyped-def]
        r = client.post(f"/cases/{KEY}/{action}", data=data)
        assert r.status_code == 303, r.text
        assert r.headers["Location"].endswith(f"/cases/{KEY}?done={action}#actions")
        return r

    post("suspend", kind="expert-review", reason="组织专家评审", expected_days="3")
    assert engine.cases.clock(instance.id).state == "SUSPENDED"
    assert "已挂起计时" in client.get(f"/cases/{KEY}?done=suspend").text
    clock.set(at(2026, 4, 3, 10, 0))
    post("resume")
    post("extend", days="5", reason="情况复杂", approver="李局长")
    post("reassign", task_id=tasks["review_fire"].id, assignee="rev_fire")
    assert engine.tasks.task(tasks["review_fire"].id).assignee == "rev_fire"
    post("urge", task_id=tasks["review_fire"].id, message="请今天办结")
    (note,) = [n for n in engine.notifications.list(instance_id=instance.id) if n["channel"] == "urge"]
    assert note["recipients"] == ["user:rev_fire"]
    kinds = [(e.event_type, e.actor) for e in engine.history.events(instance.id)]
    for kind in ("CaseClockSuspended", "CaseClockResumed", "CaseClockExtended", "TaskAssigned", "TaskUrged"):
        assert (kind, "boss") in kinds
    page = client.get(f"/cases/{KEY}").text
    timeline = _section(page, "timeline")
    for text in ("挂起（暂停计时）", "专家评审", "组织专家评审", "恢复计时", "延期", "李局长", "指派/改派", "催办", "请今天办结"):
        assert text in timeline, text
    assert "李局长" in _section(page, "clock") and "组织专家评审" in _section(page, "clock")
    post("terminate", reason="申请人撤回申请")
    assert engine.runtime.instance(instance.id).state == "TERMINATED"
    assert ("ProcessInstanceTerminated", "boss") in [(e.event_type, e.actor) for e in engine.history.events(instance.id)]


def test_refused_actions_show_a_clear_message_and_change_nothing(engine, web_app, case):
    instance, tasks = case  # the clock now is past the fire review's due, but the case's promise still runs
    client = login(web_app.test_client(), "boss")
    before = len(engine.history.events(instance.id))
    r = client.post(f"/cases/{KEY}/suspend", data={"kind": "other", "reason": "  "})
    assert r.status_code == 400 and "挂起未完成" in r.text and "原因" in r.text
    r = client.post(f"/cases/{KEY}/extend", data={"days": "abc", "reason": "x", "approver": "y"})
    assert r.status_code == 400 and "延期工作日数必须是整数" in r.text
    r = client.post(f"/cases/{KEY}/extend", data={"days": "61", "reason": "x", "approver": "y"})
    assert r.status_code == 400 and "1 to 60" in r.text
    assert 'value="61"' in r.text  # the form keeps what was typed
    r = client.post(f"/cases/{KEY}/resume")
    assert r.status_code == 409 and "恢复计时未完成" in r.text
    r = client.post(f"/cases/{KEY}/urge", data={"task_id": "nope", "message": "x"})
    assert r.status_code == 404 and "催办未完成" in r.text
    r = client.post(f"/cases/{KEY}/urge", data={"task_id": tasks["review_market"].id, "message": "x"})
    assert r.status_code == 409  # completed already
    assert len(engine.history.events(instance.id)) == before


def test_no_template_loads_anything_from_another_host():
    root = Path(__file__).parents[2] / "web" / "templates"
    offenders = [f"{p.relative_to(root)}: {m.group(0)}" for p in root.rglob("*.html")
                 for m in re.finditer(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//[^"'\s>]+|@import\s+url\(\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//""",
                                      p.read_text(encoding="utf-8"), re.I)]
    assert offenders == []


def test_vendored_viewer_is_served_from_static(web_app):
    client = web_app.test_client()
    for path in ("vendor/bpmn-js/bpmn-navigated-viewer.production.min.js", "vendor/bpmn-js/assets/diagram-js.css",
                 "vendor/bpmn-js/assets/bpmn-js.css", "vendor/bpmn-js/assets/bpmn-font/css/bpmn.css",
                 "vendor/bpmn-js/assets/bpmn-font/font/bpmn.woff2", "vendor/bpmn-js/LICENSE", "js/case-view.js"):
        r = client.get(f"/static/{path}")
        assert r.status_code == 200 and r.data, path
        r.close()


def test_ended_case_marks_the_end_event_it_reached(engine, web_app, case):
    instance, tasks = case
    for key in ("review_fire", "review_civil"):
        engine.tasks.complete(tasks[key].id, "reviewer")
    (decide,) = engine.tasks.list(instance_id=instance.id)
    client = login(web_app.test_client(), "boss")
    assert "end" not in _highlights(client.get(f"/cases/{KEY}").text)["completed"]
    engine.tasks.complete(decide.id, "lead1")
    (ended,) = [e for e in engine.history.events(instance.id) if e.event_type == "ProcessInstanceCompleted"]
    assert ended.payload["endEvents"] == ["end"]
    marks = _highlights(client.get(f"/cases/{KEY}").text)
    assert marks["active"] == [] and "end" in marks["completed"] and "decide" in marks["completed"]
