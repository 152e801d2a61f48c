"""一窗受理 in Chromium: a window clerk takes an application with one material missing, is refused 受理 with the
message next to that material, gives the 一次性告知 (the notice lists the missing material), records the 补正 two
days later and accepts; the receipt shows the promised date, the case reaches the market reviewer's inbox and the
applicant finds it on the public status page."""

from __future__ import annotations

import re

import pytest

from processes import SAMPLE_ITEM
from tests.browser.conftest import ROOT

pytestmark = pytest.mark.browser

ITEM = SAMPLE_ITEM.key
MISSING = "business_license"  # 营业执照复印件


def test_notify_then_supplement_then_accept(ui, live, clock):  # type: ignore[no-untyped-def]
    engine = live.engine
    path = ROOT / "bpmn" / SAMPLE_ITEM.bpmn
    engine.repository.deploy([(path.name, path.read_bytes())])
    clerk = ui.page("c1")

    clerk.click("#nav-intake")
    clerk.wait_for_url(re.compile(r"/intake"))
    clerk.click(f"#start-{ITEM}")
    clerk.wait_for_url(re.compile(rf"/intake/new/{ITEM}$"))
    for key in SAMPLE_ITEM.material_keys():
        if key != MISSING:
            clerk.check(f"#status-{key}-received")
    assert clerk.is_checked(f"#status-{MISSING}-missing")  # 缺 is the default
    clerk.fill("#applicant_name", "杭州示例餐饮有限公司")
    clerk.fill("#applicant_id_number", "91330100MA2XXXXX1K")
    clerk.fill("#applicant_phone", "13800004321")
    clerk.fill("#applicant_contact", "李四")
    clerk.check("#delivery-pickup")
    ui.shot(clerk, "intake-form")

    # 受理 with a required material missing is refused: the message at that material, everything kept
    clerk.click("#btn-accept")
    clerk.wait_for_selector("#form-error")
    assert clerk.get_attribute(f"#material-{MISSING}", "class").split().count("has-error") == 1
    assert clerk.locator(f"#material-{MISSING} .error-text").count() == 1
    assert clerk.input_value("#applicant_name") == "杭州示例餐饮有限公司"
    assert clerk.is_checked("#status-application_form-received")
    assert engine.runtime.instances() == []

    # 一次性告知
    clerk.click("#btn-notify")
    clerk.wait_for_url(re.compile(r"/intake/a/[^/?]+\?done=notify$"))
    number = clerk.inner_text("#application-number").strip()
    assert "已一次性告知" in clerk.inner_text("#done")
    assert engine.runtime.instances(business_key=number) == []  # no case yet: the clock has not started
    with clerk.context.expect_page() as opened:
        clerk.click("#print-notice")
    notice = opened.value
    notice.wait_for_load_state()
    items = notice.inner_text("#notice-items")
    assert "营业执照复印件" in items and "申请表" not in items
    ui.shot(notice, "intake-notice")
    notice.close()

    # two days later the applicant brings the material: 补正, then 受理
    clock.advance(days=2)  # Wednesday 2026-03-04 09:30
    clerk.goto("/intake?tab=pending")
    clerk.click(f"#supplement-{number}")
    clerk.wait_for_url(re.compile(rf"/intake/a/{re.escape(number)}$"))
    assert "营业执照复印件" in clerk.inner_text("#pending-notice")
    clerk.check(f"#status-{MISSING}-received")
    clerk.click("#btn-supplement")
    clerk.wait_for_url(re.compile(r"\?done=supplement$"))
    assert clerk.inner_text("#done").strip().startswith("补正材料已登记。")
    assert clerk.is_checked(f"#status-{MISSING}-received")
    clerk.click("#btn-accept")
    clerk.wait_for_url(re.compile(r"\?done=accept$"))
    assert clerk.inner_text("#application-state") == "已受理"
    with clerk.context.expect_page() as opened:
        clerk.click("#print-receipt")
    receipt = opened.value
    receipt.wait_for_load_state()
    assert receipt.inner_text("#receipt-number") == number
    assert receipt.inner_text("#promised-due") == "2026年03月18日"  # 10 working days from Wednesday 03-04
    ui.shot(receipt, "intake-receipt")
    assert ui.errors(clerk) == [] and ui.errors(receipt) == []

    # the case runs: the market reviewer sees it in 部门待认领; the applicant finds it on the status page
    (case,) = engine.runtime.instances(business_key=number)
    assert engine.cases.clock(case.id).state == "RUNNING"
    reviewer = ui.page("m1")
    reviewer.goto("/inbox?tab=group")
    row = reviewer.locator("table.inbox tbody tr", has_text=number)
    assert "市场监管审查" in row.inner_text() and "杭州示例餐饮有限公司" in row.inner_text()
    applicant = ui.page()
    applicant.goto("/status")
    applicant.fill("input[name=business_key]", number)
    applicant.fill("input[name=phone_last4]", "4321")
    applicant.click("form[action$='/status'] button[type=submit]")
    applicant.wait_for_selector("#status-result")
    assert applicant.inner_text("#status-promised") == "2026年03月18日"
    assert applicant.inner_text("#status-delivery") == "窗口领取"
