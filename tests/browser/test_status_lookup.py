"""办件查询 /status in Chromium, without logging in: 办件编号 + last 4 phone digits give the stage, the promised
date and the delivery method; wrong digits give the one not-found sentence and no facts."""

from __future__ import annotations

import pytest

from tests.browser.conftest import start_case
from web.ui.status import NOT_FOUND

pytestmark = pytest.mark.browser

KEY = "GD-20260302-0007"


def _look_up(page, key: str, last4: str) -> int:  # type: ignore[no-untyped-def]
    page.fill("input[name=business_key]", key)
    page.fill("input[name=phone_last4]", last4)
    with page.expect_response(lambda r: r.url.endswith("/status") and r.request.method == "POST") as answer:
        page.click("form[action$='/status'] button[type=submit]")
    page.wait_for_load_state()
    return answer.value.status


def test_applicant_looks_up_the_case_with_number_and_phone_digits(ui, live):  # type: ignore[no-untyped-def]
    start_case(live.engine, KEY, phone="138-0013-5678", delivery="mail")
    page = ui.page()  # an applicant: no account
    page.goto("/status")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.inner_text("h1") == "办件查询"
    assert page.locator("header .user").count() == 0

    assert _look_up(page, KEY, "1234") == 404
    assert page.inner_text("#status-message") == NOT_FOUND
    assert page.locator("#status-result").count() == 0
    assert page.input_value("input[name=business_key]") == KEY  # the number is kept for a retry

    assert _look_up(page, KEY, "5678") == 200
    ui.shot(page, "status-lookup")
    assert page.inner_text("#status-stage") == "部门审查"
    assert page.inner_text("#status-promised") == "2026年03月09日"  # 5 working days from Monday 2026-03-02
    assert page.inner_text("#status-delivery") == "邮寄送达"
    shown = page.inner_text("main")
    for secret in ("市场监管审查", "消防审查", "market", "示例餐饮有限公司", "13800135678", "browser_parallel"):
        assert secret not in shown, secret
    assert page.locator("#status-message").count() == 0
    assert ui.errors(page) == []
