"""/tasks/<id>: generated form, validation messages and kept values, 不同意 needs a comment, completing, the
"completed meanwhile" message, transfer/delegate/resolve, every page x role."""

from __future__ import annotations

import io
import re

import pytest

from engine.tasks.queries import TaskQuery
from tests.web.conftest import login, post, start_case


@pytest.fixture
def case(web, clock):  # type: ignore[no-untyped-def]
    start_case(web, clock, "WEB-1", "示例企业")
    market = web.tasks.list(TaskQuery(task_definition_key="market_review"))[0]
    fire = web.tasks.list(TaskQuery(task_definition_key="fire_review"))[0]
    return market, fire


def _error(page: str, field: str) -> str | None:
    block = re.search(rf'<div class="field[^"]*" data-field="{field}">(.*?)</div>', page, re.S)
    assert block, field
    found = re.search(r'class="error-text" role="alert">([^<]+)<', block.group(1))
    return found.group(1) if found else None


def test_the_form_is_generated_from_the_form_fields(client, case):
    market, _fire = case
    login(client, "m1")
    page = client.get(f"/tasks/{market.id}").get_data(as_text=True)
    assert 'type="radio" name="approved" value="true"' in page
    assert 'name="amount" type="number"' in page and 'min="1"' in page and 'max="1000"' in page
    assert '<textarea id="f-summary" name="summary"' in page
    assert 'name="visitDate" type="date"' in page
    assert '<option value="high">高</option>' in page
    assert 'name="licence" type="file"' in page
    assert "示例企业" in page and "WEB-1" in page  # case data
    assert "办件受理" in page  # the timeline


def test_validation_messages_next_to_the_fields_and_values_kept(web, client, case):
    market, _fire = case
    login(client, "m1")
    r = post(client, f"/tasks/{market.id}/complete", {
        "amount": "5000", "licenceNo": "ab12", "summary": "x", "visitDate": "2026-02-30", "level": "medium",
        "_comment": "我的意见"}, page=f"/tasks/{market.id}")
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert _error(page, "approved") == "此项为必填项。"
    assert _error(page, "amount") == "不能大于 1000。"
    assert _error(page, "licenceNo") == "格式不正确。"
    assert _error(page, "summary") == "至少填写 2 个字符。"
    assert _error(page, "visitDate") == "请输入有效日期（年-月-日）。"
    assert _error(page, "level") == "请选择列表中的一项。"
    assert 'value="5000"' in page and 'value="ab12"' in page and ">x</textarea>" in page and "我的意见" in page
    assert web.tasks.task(market.id).state == "ACTIVE"
    r = post(client, f"/tasks/{market.id}/complete", {"approved": "true", "amount": "abc"}, page=f"/tasks/{market.id}")
    assert _error(r.get_data(as_text=True), "amount") == "请输入整数。"


def test_completing_with_typed_variables_a_comment_and_a_material(web, client, case, tmp_path):
    market, _fire = case
    login(client, "m1")
    r = post(client, f"/tasks/{market.id}/complete", {
        "approved": "true", "amount": "300", "licenceNo": "AB1234", "summary": "材料齐全", "visitDate": "2026-03-03",
        "level": "low", "_comment": "同意", "licence": (io.BytesIO(b"%PDF-1.4 scan"), "许可证.pdf")},
        page=f"/tasks/{market.id}", content_type="multipart/form-data")
    assert r.status_code == 302 and r.headers["Location"] == "/inbox", r.get_data(as_text=True)
    done = web.tasks.task(market.id)
    assert done.state == "COMPLETED" and done.completed_by == "m1"
    data = next(e.payload["variables"] for e in web.history.events(market.instance_id)
                if e.event_type == "TaskCompleted" and e.task_id == market.id)
    assert data["approved"] is True and data["amount"] == 300 and data["visitDate"] == "2026-03-03"
    assert data["licence"]["name"] == "许可证.pdf" and data["licence"]["size"] == len(b"%PDF-1.4 scan")
    assert (tmp_path / "materials" / data["licence"]["sha256"]).read_bytes() == b"%PDF-1.4 scan"
    assert [c.message for c in web.tasks.comments(market.id)] == ["同意"]
    assert "已办结" in client.get("/inbox").get_data(as_text=True)


def test_disagreeing_needs_a_comment(web, client, case):
    market, fire = case
    login(client, "f1")
    r = post(client, f"/tasks/{fire.id}/complete", {"decision": "reject"}, page=f"/tasks/{fire.id}")
    assert r.status_code == 422 and _error(r.get_data(as_text=True), "_comment") == "选择不同意时，必须填写审批意见。"
    r = post(client, f"/tasks/{fire.id}/complete", {"decision": "reject", "_comment": "消防通道不达标"},
             page=f"/tasks/{fire.id}")
    assert r.status_code == 302 and web.tasks.task(fire.id).state == "COMPLETED"
    post(client, "/logout")
    login(client, "m1")
    r = post(client, f"/tasks/{market.id}/complete", {"approved": "false"}, page=f"/tasks/{market.id}")
    assert _error(r.get_data(as_text=True), "_comment") == "选择不同意时，必须填写审批意见。"


def test_completed_meanwhile_keeps_the_input(web, client, case):
    market, _fire = case
    login(client, "m1")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"/tasks/{market.id}").get_data(as_text=True))
    web.tasks.complete(market.id, "m2", {"approved": True})  # a colleague was quicker
    r = client.post(f"/tasks/{market.id}/complete", data={"csrf_token": csrf.group(1), "approved": "false",
                                                          "summary": "我写了很久的审查摘要", "_comment": "不同意的理由"})
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert "此任务已由 m2 办结" in page and "我写了很久的审查摘要" in page and "不同意的理由" in page


def test_claimed_by_someone_else_meanwhile_keeps_the_input(web, client, case):
    market, _fire = case
    login(client, "m1")
    web.tasks.claim(market.id, "m2")
    r = post(client, f"/tasks/{market.id}/complete", {"approved": "true", "summary": "保留我"}, page="/inbox")
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert "此任务已由 m2 办理" in page and "保留我" in page
    assert web.tasks.task(market.id).state == "ACTIVE"


def test_transfer_delegate_and_resolve(web, client, case):
    market, _fire = case
    login(client, "m1")
    post(client, f"/tasks/{market.id}/claim")
    r = post(client, f"/tasks/{market.id}/transfer", {"user": "nosuchuser", "next": "/inbox"})
    assert web.tasks.task(market.id).assignee == "m1"
    assert "用户 nosuchuser 不存在" in client.get("/inbox").get_data(as_text=True)
    r = post(client, f"/tasks/{market.id}/delegate", {"user": "m2", "next": "/inbox"})
    assert r.status_code == 302
    t = web.tasks.task(market.id)
    assert (t.assignee, t.owner, t.delegation_state) == ("m2", "m1", "PENDING")
    post(client, "/logout")
    login(client, "m2")
    page = client.get(f"/tasks/{market.id}").get_data(as_text=True)
    assert f"/tasks/{market.id}/resolve" in page
    r = post(client, f"/tasks/{market.id}/resolve", {"approved": "true", "summary": "已核实"}, page="/inbox")
    assert r.status_code == 302
    t = web.tasks.task(market.id)
    assert (t.assignee, t.delegation_state, t.state) == ("m1", "RESOLVED", "ACTIVE")
    post(client, "/logout")
    login(client, "m1")
    r = post(client, f"/tasks/{market.id}/transfer", {"user": "lead", "next": "/inbox"})
    assert web.tasks.task(market.id).assignee == "lead"


def test_supervisor_may_reassign_but_not_complete_other_departments_tasks(web, client, case):
    _market, fire = case
    login(client, "boss")
    assert post(client, f"/tasks/{fire.id}/transfer", {"user": "f1"}).status_code == 302
    assert web.tasks.task(fire.id).assignee == "f1"
    assert post(client, f"/tasks/{fire.id}/complete", {"decision": "agree"}).status_code == 403


def test_unknown_task_is_404(client, case):
    login(client, "m1")
    assert client.get("/tasks/no-such-task").status_code == 404


ROLES = {"c1": "clerk", "m1": "reviewer", "lead": "leader", "boss": "supervisor", "root": "admin", "nobody": None}


@pytest.mark.parametrize("user", sorted(ROLES))
def test_every_page_by_role(client, case, user):
    market, fire = case
    anonymous = {"/inbox": 302, f"/tasks/{market.id}": 302, "/login": 200}
    for path, status in anonymous.items():
        assert client.get(path).status_code == status, path
    login(client, user)
    expected = {
        "/inbox": 200, "/login": 302,
        f"/tasks/{market.id}": 200 if user in ("m1", "lead", "boss", "root") else 403,
        f"/tasks/{fire.id}": 200 if user in ("boss", "root") else 403,
    }
    for path, status in expected.items():
        assert client.get(path).status_code == status, (user, path)
