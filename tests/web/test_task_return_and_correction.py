"""The task page's 退回 (return to an earlier step) and 要求补正 / 补正已收到 (the case clock stops and runs again):
forms, permissions, CSRF, kept input on conflicts, the timeline (tests/fixtures/engine/return_flow.bpmn)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.tasks.queries import TaskQuery
from tests.web.conftest import login, post

CST = timezone(timedelta(hours=8))
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "engine" / "return_flow.bpmn"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


@pytest.fixture
def flows(web, clock):  # type: ignore[no-untyped-def]
    clock.set(at(2026, 4, 1, 9, 0))  # Wednesday
    web.repository.deploy([(FIXTURE.name, FIXTURE.read_bytes())])
    return web


def _open(eng, case_id, key=None):  # type: ignore[no-untyped-def]
    tasks = [t for t in eng.tasks.list(TaskQuery(instance_id=case_id)) if key is None or t.task_definition_key == key]
    assert len(tasks) == 1, tasks
    return tasks[0]


@pytest.fixture
def at_approve(flows):  # type: ignore[no-untyped-def]
    case = flows.runtime.start("return_flow", business_key="RT-1", variables={"applicant": "示例企业"})
    flows.tasks.complete(_open(flows, case.id, "intake").id, "c1")
    flows.tasks.complete(_open(flows, case.id, "review").id, "m1", {"opinion": "同意"})
    flows.tasks.complete(_open(flows, case.id, "check").id, "m2")
    return case, _open(flows, case.id, "approve")


def _alert(page: str) -> str:
    found = re.search(r'id="form-error">([^<]+)<', page)
    return found.group(1) if found else ""


def _field_error(page: str, field: str) -> str | None:
    block = re.search(rf'data-field="{field}">(.*?)</div>', page, re.S)
    assert block, field
    found = re.search(r'class="error-text" role="alert">([^<]+)<', block.group(1))
    return found.group(1) if found else None


def test_the_page_offers_the_allowed_targets_and_returns_to_the_previous_completer(flows, app, client, at_approve):
    case, approve = at_approve
    login(client, "lead")
    page = client.get(f"/tasks/{approve.id}").get_data(as_text=True)
    assert 'id="return-form"' in page
    assert re.findall(r'<option value="(\w+)"', page.split('id="return-form"')[1].split("</select>")[0]) == ["review"]
    assert "退回给 m1" in page
    assert "不能退回到“科室审核”</p>" not in page and "流程图不允许退回到此环节。" in page  # check, intake: refused
    r = post(client, f"/tasks/{approve.id}/return", {"target": "review", "reason": "核定依据不完整"},
             page=f"/tasks/{approve.id}")
    assert r.status_code == 302 and r.headers["Location"] == "/inbox"
    assert "“领导审批”已退回。" in client.get("/inbox").get_data(as_text=True)
    assert approve.id in client.get("/inbox?tab=done").get_data(as_text=True)  # in the returner's 已办
    ended = client.get(f"/tasks/{approve.id}").get_data(as_text=True)
    assert '<span class="tag">已退回</span>' in ended and "<dt>退回人</dt><dd>lead" in ended
    assert flows.tasks.task(approve.id).state == "CANCELLED"
    again = _open(flows, case.id)
    assert again.task_definition_key == "review" and again.assignee == "m1"
    assert [c.message for c in flows.tasks.comments(approve.id)] == ["退回至“部门审查”：核定依据不完整"]
    # the reviewer finds it in their inbox; its timeline says who returned it, where, why
    client = app.test_client()
    login(client, "m1")
    assert again.id in client.get("/inbox").get_data(as_text=True)
    page = client.get(f"/tasks/{again.id}").get_data(as_text=True)
    assert re.search(r"退回 · 领导审批 → 部门审查 · 核定依据不完整 · lead</li>", page), page
    # and the case page's timeline too
    case_page = client.get("/cases/RT-1").get_data(as_text=True)
    assert "退回" in case_page and "核定依据不完整" in case_page


def test_missing_target_or_reason_keeps_the_input_and_changes_nothing(flows, client, at_approve):
    case, approve = at_approve
    login(client, "lead")
    r = post(client, f"/tasks/{approve.id}/return", {"target": "review", "reason": "  "}, page=f"/tasks/{approve.id}")
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert _field_error(page, "reason") == "请填写退回理由。"
    assert '<option value="review" selected>' in page
    r = post(client, f"/tasks/{approve.id}/return", {"target": "check", "reason": "理由保留"},
             page=f"/tasks/{approve.id}")
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert _alert(page) == "不能退回到“科室审核”：流程图不允许退回到此环节。"
    assert ">理由保留</textarea>" in page
    assert flows.tasks.task(approve.id).state == "ACTIVE" and flows.tasks.comments(approve.id) == []


def test_a_task_returned_meanwhile_gives_a_409_with_the_reason_kept(flows, client, at_approve):
    _case, approve = at_approve
    login(client, "lead")
    page = client.get(f"/tasks/{approve.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    flows.tasks.return_to(approve.id, "review", "先退回了", "m2")  # someone else, between page and submit
    r = client.post(f"/tasks/{approve.id}/return",
                    data={"csrf_token": token, "target": "review", "reason": "我的退回理由"})
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert _alert(page) == "此任务已被 m2 退回。您填写的内容保留在下方，尚未提交。"
    assert 'id="return-form"' not in page  # nothing to return any more
    assert 'readonly>我的退回理由</textarea>' in page
    # completing the returned task: the same sentence, the form kept
    r = client.post(f"/tasks/{approve.id}/complete", data={"csrf_token": token, "_comment": "同意"})
    assert r.status_code == 409 and "此任务已被 m2 退回" in r.get_data(as_text=True)
    assert ">同意</textarea>" in r.get_data(as_text=True)


def test_returning_out_of_a_running_parallel_branch_is_refused_with_a_sentence(flows, client):
    case = flows.runtime.start("return_parallel", business_key="RT-P")
    flows.tasks.complete(_open(flows, case.id, "p_intake").id, "c1")
    market = _open(flows, case.id, "p_market")
    login(client, "m1")
    page = client.get(f"/tasks/{market.id}").get_data(as_text=True)
    assert 'id="return-form"' not in page
    assert "不能退回到“窗口受理”：并行分支“消防审查”尚在办理，退回会取消它们。" in page
    r = post(client, f"/tasks/{market.id}/return", {"target": "p_intake", "reason": "材料不全"},
             page=f"/tasks/{market.id}")
    assert r.status_code == 409
    assert _alert(r.get_data(as_text=True)) == "不能退回到“窗口受理”：并行分支“消防审查”尚在办理，退回会取消它们。"
    assert 'readonly>材料不全</textarea>' in r.get_data(as_text=True)  # the reason typed is shown, not lost
    assert {t.task_definition_key for t in flows.tasks.list(TaskQuery(instance_id=case.id))} == {"p_market", "p_fire"}


def test_who_may_return_and_request_correction(flows, app, client, at_approve):
    case, approve = at_approve
    data = {"target": "review", "reason": "理由"}
    login(client, "f1")  # another department
    assert client.get(f"/tasks/{approve.id}").status_code == 403
    assert post(client, f"/tasks/{approve.id}/return", data).status_code == 403
    assert post(client, f"/tasks/{approve.id}/correction", {"materials": "x"}).status_code == 403
    assert post(client, f"/tasks/{approve.id}/correction-received").status_code == 403
    client = app.test_client()
    login(client, "lead")
    assert client.post(f"/tasks/{approve.id}/return", data=data).status_code == 400  # no CSRF token
    flows.tasks.claim(approve.id, "m2")  # claimed by a colleague: theirs to return
    page = client.get(f"/tasks/{approve.id}").get_data(as_text=True)
    assert 'id="return-form"' not in page and 'id="correction-form"' not in page
    r = post(client, f"/tasks/{approve.id}/return", data, page=f"/tasks/{approve.id}")
    assert r.status_code == 409 and "此任务已由 m2 办理" in _alert(r.get_data(as_text=True))
    assert flows.tasks.task(approve.id).state == "ACTIVE"
    # a supervisor may act on a task outside their departments once it is not claimed by someone else
    flows.tasks.unclaim(approve.id)
    client = app.test_client()
    login(client, "boss")
    page = client.get(f"/tasks/{approve.id}").get_data(as_text=True)
    assert 'id="return-form"' in page and 'id="correction-form"' in page
    r = post(client, f"/tasks/{approve.id}/return", data, page=f"/tasks/{approve.id}")
    assert r.status_code == 302 and _open(flows, case.id).assignee == "m1"


def test_correction_stops_the_clock_blocks_completion_and_resumes(flows, client, clock):
    case = flows.runtime.start("return_flow", business_key="BZ-1")
    flows.tasks.complete(_open(flows, case.id, "intake").id, "c1")
    review = _open(flows, case.id, "review")
    login(client, "m1")
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert 'id="correction-form"' in page and 'id="correction-pending"' not in page
    r = post(client, f"/tasks/{review.id}/correction", {"materials": "", "correction_reason": "",
                                                          "expected_days": "abc"}, page=f"/tasks/{review.id}")
    assert r.status_code == 422 and _field_error(r.get_data(as_text=True), "expected_days") == \
        "预计天数请填写 0 到 365 之间的整数。"
    r = post(client, f"/tasks/{review.id}/correction", {"materials": "", "correction_reason": ""},
             page=f"/tasks/{review.id}")
    assert r.status_code == 422
    assert _field_error(r.get_data(as_text=True), "materials") == "请列出需补正的材料或填写补正原因。"
    assert flows.cases.clock(case.id).state == "RUNNING"

    clock.set(at(2026, 4, 2, 10, 0))
    r = post(client, f"/tasks/{review.id}/correction",
             {"materials": "营业执照副本\n场地租赁合同", "correction_reason": "复印件不清晰", "expected_days": "5"},
             page=f"/tasks/{review.id}")
    assert r.status_code == 302 and r.headers["Location"] == f"/tasks/{review.id}"
    view = flows.cases.clock(case.id)
    assert view.state == "SUSPENDED" and view.suspensions[0]["kind"] == "supplement"
    assert view.suspensions[0]["reason"] == "需补正材料：营业执照副本、场地租赁合同；复印件不清晰"
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert "已要求补正，办件暂停计时。" in page
    assert 'id="correction-pending"' in page and "需补正材料：营业执照副本、场地租赁合同；复印件不清晰" in page
    assert 'id="correction-received-form"' in page and 'id="correction-form"' not in page
    assert "等待补正期间不能提交办结。" in page and "提交办结</button>" not in page
    assert 'id="return-form"' not in page
    assert "要求补正 · 需补正材料" in page  # the timeline
    # a completion posted anyway (an old page): refused with a sentence, input kept
    r = post(client, f"/tasks/{review.id}/complete", {"_comment": "我的意见"}, page="/inbox")
    assert r.status_code == 409
    assert _alert(r.get_data(as_text=True)) == "办件正在等待补正，补正材料收到后才能办理。您填写的内容保留在下方，尚未提交。"
    assert ">我的意见</textarea>" in r.get_data(as_text=True)
    r = post(client, f"/tasks/{review.id}/correction", {"materials": "再来一份"}, page="/inbox")
    assert r.status_code == 409 and _alert(r.get_data(as_text=True)) == "办件已在等待补正，不能重复要求。"

    clock.set(at(2026, 4, 8, 9, 0))  # 2, 3, 7, 8 April: 4 working days stood still
    r = post(client, f"/tasks/{review.id}/correction-received", {"note": "申请人窗口提交"}, page=f"/tasks/{review.id}")
    assert r.status_code == 302
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert "补正材料已收到，恢复计时（暂停 4 个工作日）。" in page
    view = flows.cases.clock(case.id)
    assert view.state == "RUNNING" and view.promised_due == at(2026, 4, 22, 17, 30)  # 16 April + 4 wd
    assert "补正已收到" in page and 'id="correction-pending"' not in page
    r = post(client, f"/tasks/{review.id}/correction-received", {}, page=f"/tasks/{review.id}")
    assert r.status_code == 409 and _alert(r.get_data(as_text=True)) == "办件没有在等待补正（可能已由他人登记收到）。"
    case_page = client.get("/cases/BZ-1").get_data(as_text=True)
    assert "要求补正" in case_page and "补正已收到" in case_page
    r = post(client, f"/tasks/{review.id}/complete", {"_comment": "同意"}, page=f"/tasks/{review.id}")
    assert r.status_code == 302 and flows.tasks.task(review.id).state == "COMPLETED"


# --- the REST extension endpoints ------------------------------------------------------------------------------
def _basic(user: str) -> dict[str, str]:
    import base64

    from tests.web.conftest import PASSWORD

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()}


def test_rest_return_and_correction(flows, client, at_approve, clock):
    case, approve = at_approve
    r = client.get(f"/engine-rest/task/{approve.id}/return-targets?includeRefused=true", headers=_basic("lead"))
    assert r.status_code == 200, r.text
    assert [(t["activityId"], t["allowed"], t["why"]) for t in r.json] == [
        ("check", False, "returnTargets"), ("review", True, None), ("intake", False, "returnTargets")]
    assert client.post(f"/engine-rest/task/{approve.id}/return", json={"targetActivityId": "review",
                                                                       "reason": "x"},
                       headers=_basic("f1")).status_code == 403
    r = client.post(f"/engine-rest/task/{approve.id}/return", json={"targetActivityId": "review"},
                    headers=_basic("lead"))
    assert r.status_code == 400 and "reason" in r.json["message"]
    r = client.post(f"/engine-rest/task/{approve.id}/return", json={"targetActivityId": "check", "reason": "x"},
                    headers=_basic("lead"))
    assert r.status_code == 500 and "returnTargets" in r.json["message"]
    r = client.post(f"/engine-rest/task/{approve.id}/return", json={"targetActivityId": "review",
                                                                    "reason": "REST 退回"}, headers=_basic("lead"))
    assert r.status_code == 204, r.text
    review = _open(flows, case.id)
    assert review.task_definition_key == "review" and review.assignee == "m1"
    r = client.post(f"/engine-rest/task/{approve.id}/return", json={"targetActivityId": "review", "reason": "again"},
                    headers=_basic("lead"))
    assert r.status_code == 404  # an ended task, as for Camunda's other task actions

    r = client.post(f"/engine-rest/task/{review.id}/correction", json={"materials": ["身份证复印件"], "expectedDays": 2},
                    headers=_basic("m1"))
    assert r.status_code == 200 and r.json["state"] == "SUSPENDED", r.text
    assert r.json["suspensions"][0]["reason"] == "需补正材料：身份证复印件"
    r = client.post(f"/engine-rest/task/{review.id}/complete", json={}, headers=_basic("m1"))
    assert r.status_code == 500 and "waits for 补正" in r.json["message"]
    r = client.post(f"/engine-rest/task/{review.id}/correction-received", json={"note": "已收"},
                    headers=_basic("m1"))
    assert r.status_code == 200 and r.json["state"] == "RUNNING"
    assert client.post(f"/engine-rest/task/{review.id}/complete", json={}, headers=_basic("m1")).status_code == 204
