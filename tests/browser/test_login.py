"""Signing in and out in Chromium: Chinese by default, English and back, a wrong password, logout."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PASSWORD, login

pytestmark = pytest.mark.browser


def test_login_in_chinese_switch_language_and_logout(ui):  # type: ignore[no-untyped-def]
    page = ui.page()
    response = page.goto("/inbox")
    assert response is not None
    assert re.search(r"/login\?next=/inbox$", page.url)  # anonymous: to the login page, back to the inbox later
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.inner_text("section.login h1") == "登录"
    assert page.title().endswith("一窗通办")

    # a wrong password: the error on the page, the name kept, still on /login
    page.fill("#username", "m1")
    page.fill("#password", "not-the-password")
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as posted:
        page.click("section.login button[type=submit]")
    assert posted.value.status == 401
    assert page.inner_text("[role=alert]") == "用户名或密码错误。"
    assert page.input_value("#username") == "m1"
    assert page.input_value("#password") == ""

    page.fill("#password", PASSWORD)
    page.click("section.login button[type=submit]")
    page.wait_for_url(re.compile(r"/inbox$"))
    ui.shot(page, "inbox-zh")
    assert page.inner_text("header .user") == "市场审查员"
    assert "审批人员" in page.inner_text("header .who") and "市场监管局" in page.inner_text("header .who")
    assert page.inner_text("nav.tabs a[data-tab=group]").startswith("部门待认领")

    # English, and back to Chinese: the same page, its language remembered in the session
    page.click("header button[name=lang][value=en]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "en"
    assert page.url.endswith("/inbox")
    assert page.inner_text("nav.mainnav").strip().startswith("To do")
    assert page.inner_text("nav.tabs a[data-tab=group]").startswith("Department, unclaimed")
    page.goto("/inbox?tab=group")
    assert page.get_attribute("html", "lang") == "en"
    page.click("header button[name=lang][value=zh_CN]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.url.endswith("/inbox?tab=group")
    assert page.inner_text("nav.mainnav").strip() == "待办"

    # logout: back on /login with the message; the inbox asks for a login again
    page.click("header form[action$='/logout'] button")
    page.wait_for_url(re.compile(r"/login$"))
    assert "您已安全退出。" in page.inner_text("main")
    page.goto("/inbox")
    assert "/login?next=" in page.url
    assert ui.errors(page) == []


def test_a_second_login_in_another_context_is_independent(ui):  # type: ignore[no-untyped-def]
    market = ui.page("m1")
    fire = ui.page("f1")
    assert market.inner_text("header .user") == "市场审查员"
    assert fire.inner_text("header .user") == "消防审查员"
    fire.click("header form[action$='/logout'] button")
    fire.wait_for_url(re.compile(r"/login$"))
    market.reload()
    assert market.url.endswith("/inbox")  # the other browser's logout does not touch this session
    login(fire, "c1")
    assert fire.inner_text("header .user") == "窗口小王"
