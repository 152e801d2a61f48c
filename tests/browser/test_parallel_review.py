"""Two reviewers of different departments approve one case in parallel, each in their own browser: they claim
from 部门待认领, fill the generated form (a validation message first), submit; the case moves on to the window's
制证送达, whose clerk ends it. The case page draws the diagram with bpmn-js and marks what is done."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import start_case

pytestmark = pytest.mark.browser

KEY = "GD-20260302-0001"


def _claim_and_open(page, task_name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/inbox?tab=group")
    row = page.locator("table.inbox tbody tr", has_text=task_name)
    row.locator("button", has_text="认领").click()
    page.wait_for_url(re.compile(r"/inbox\?tab=group$"))
    assert page.inner_text(".alert-success") == "已认领。"
    assert page.locator("table.inbox tbody tr", has_text=task_name).count() == 0  # no longer unclaimed
    page.goto("/inbox?tab=mine")
    page.locator("table.inbox tbody tr", has_text=task_name).locator("a", has_text=task_name).click()
    page.wait_for_url(re.compile(r"/tasks/"))
    assert page.inner_text("h1").startswith(task_name)


def _marks(page, element: str) -> str:  # type: ignore[no-untyped-def]
    return page.get_attribute(f"#ow-canvas g.djs-element[data-element-id={element}]", "class") or ""


def test_two_departments_approve_in_parallel_and_the_case_ends(ui, live):  # type: ignore[no-untyped-def]
    engine = live.engine
    case = start_case(engine, KEY)
    market, fire = ui.page("m1"), ui.page("f1")

    # each reviewer sees only their own department's task among the unclaimed ones
    for page, own, other in ((market, "市场监管审查", "消防审查"), (fire, "消防审查", "市场监管审查")):
        page.goto("/inbox?tab=group")
        assert page.inner_text("[data-count=group]") == "1"
        rows = page.inner_text("table.inbox tbody")
        assert own in rows and KEY in rows and "示例餐饮有限公司" in rows and other not in rows
    ui.shot(market, "inbox-department-unclaimed")

    _claim_and_open(market, "市场监管审查")
    _claim_and_open(fire, "消防审查")
    assert {t.task_definition_key: t.assignee for t in engine.tasks.list(instance_id=case.id)} == {
        "review_market": "m1", "review_fire": "f1"}

    # both forms are open at the same time; the market reviewer first gets a validation message
    market.check("[data-field=marketApproved] input[value=true]")
    market.fill("#f-licenceNo", "ab12")
    market.fill("#f-_comment", "材料齐全，同意。")
    fire.select_option("#f-fireDecision", "agree")
    fire.fill("#f-inspectionDate", "2026-03-03")
    fire.fill("#f-_comment", "现场核查合格。")
    ui.shot(fire, "task-form")

    market.click("#task-form button[type=submit]")
    market.wait_for_selector("#form-error")
    assert market.inner_text("#form-error") == "请按提示修改后重新提交。"
    assert market.locator("[data-field=licenceNo] .error-text").count() == 1
    assert market.input_value("#f-licenceNo") == "ab12"  # the input is kept
    assert market.is_checked("[data-field=marketApproved] input[value=true]")
    assert market.input_value("#f-_comment") == "材料齐全，同意。"
    ui.shot(market, "task-form-validation")
    market.fill("#f-licenceNo", "SC1234")

    fire.click("#task-form button[type=submit]")
    fire.wait_for_url(re.compile(r"/inbox$"))
    assert "“消防审查”已办结。" in fire.inner_text(".alert-success")
    market.click("#task-form button[type=submit]")
    market.wait_for_url(re.compile(r"/inbox$"))
    assert "“市场监管审查”已办结。" in market.inner_text(".alert-success")

    (issue,) = engine.tasks.list(instance_id=case.id)
    assert issue.task_definition_key == "issue"
    variables = engine.runtime.variables(case.id)
    assert (variables["marketApproved"], variables["licenceNo"], variables["fireDecision"],
            variables["inspectionDate"]) == (True, "SC1234", "agree", "2026-03-03")

    # the case page: the diagram drawn by bpmn-js, both reviews completed, 制证送达 active
    market.goto(f"/cases/{KEY}")
    market.wait_for_selector("#ow-canvas svg g.djs-element[data-element-id=issue].ow-active")
    drawn = set(market.eval_on_selector_all("#ow-canvas svg g.djs-shape", "els => els.map(e => e.dataset.elementId)"))
    assert {"start", "fork", "review_market", "review_fire", "join", "issue", "end"} <= drawn
    assert "ow-completed" in _marks(market, "review_market")
    assert "ow-completed" in _marks(market, "review_fire")
    assert "ow-completed" in _marks(market, "start")
    assert "ow-active" not in _marks(market, "review_fire")
    assert "ow-completed" not in _marks(market, "end")
    assert "制证送达" in market.inner_text("#tasks")
    timeline = market.inner_text("#timeline")
    assert "m1" in timeline and "f1" in timeline
    assert market.inner_text("#case-state") == "办理中"
    ui.shot(market, "case-view")
    assert ui.errors(market) == []
    assert market.locator(".ow-canvas-message").count() == 0  # no "流程图加载失败"

    # the other department's reviewer may read the case too (one of its tasks was theirs)
    fire.goto(f"/cases/{KEY}")
    fire.wait_for_selector("#ow-canvas svg g.djs-element[data-element-id=review_fire].ow-completed")

    # the window clerk takes 制证送达 and ends the case
    clerk = ui.page("c1")
    _claim_and_open(clerk, "制证送达")
    clerk.click("#task-form button[type=submit]")
    clerk.wait_for_url(re.compile(r"/inbox$"))
    assert engine.runtime.instance(case.id).state == "COMPLETED"
    clerk.goto(f"/cases/{KEY}")
    clerk.wait_for_selector("#ow-canvas svg g.djs-element[data-element-id=issue].ow-completed")
    assert clerk.inner_text("#case-state") == "已办结"
    assert clerk.locator("#ow-canvas .ow-active").count() == 0
    assert ui.errors(clerk) == [] and ui.errors(fire) == []


def test_a_reviewer_of_another_department_gets_403_on_the_case_page(ui, live):  # type: ignore[no-untyped-def]
    start_case(live.engine, KEY)
    clerk = ui.page("c1")  # the window has no task of this case yet
    response = clerk.goto(f"/cases/{KEY}")
    assert response is not None and response.status == 403
    assert clerk.locator("#ow-canvas").count() == 0
