"""The user guides' screenshots (docs/guide-*.md), taken on a believable service centre: the demo's departments and
users (engine.demo), the diagrams of bpmn/, and three weeks of work simulated through the engine on a moved clock
(processes.demo.Simulation, as `onewindow demo` does on a smaller scale). Then each role walks its pages in
Chromium: the window clerk (一窗受理 with 一次性告知 → 补正 → 受理, 容缺受理, 不予受理, the printed documents, 出件),
a department reviewer (inbox, task form, 要求补正, notifications), the supervisor (效能监察, a list, an overdue
case with its diagram, 催办), the public status page and the admin pages.

Every step asserts what the guide says the page shows; with ONEWINDOW_SCREENSHOTS=1 ``ui.shot`` also writes
docs/screenshots/<name>.png (install a CJK font first, e.g. Debian's fonts-noto-cjk)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine import demo as seeding
from engine.tasks.queries import TaskQuery
from processes import SAMPLE_ITEM
from processes.demo import Simulation
from tests.browser.conftest import Live

pytestmark = pytest.mark.browser

BJ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 9, 0, tzinfo=BJ)  # Monday
END = datetime(2026, 3, 20, 10, 0, tzinfo=BJ)  # Friday of the third week
CASES = 45
# the departments of bpmn/ that engine.demo does not create (the simulation would name them by their ids)
MORE_DEPARTMENTS = {"delivery": "出件窗口", "housing": "住建局", "housing_fire": "住建局（消防设计审查）",
                    "civil_defense": "人防办", "meteorology": "气象局", "supervisor": "中心督办",
                    "police": "公安局", "tax": "税务局", "social": "人社局", "housing_fund": "公积金中心",
                    "registry": "不动产登记中心"}
# chance per office hour to take up a task: these departments run late
SLOW = {"housing": 0.02, "environment": 0.04, "delivery": 0.05}
PW = seeding.DEMO_PASSWORD
ITEM = SAMPLE_ITEM.key
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture
def live(engine, clock, tmp_path) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    """Overrides conftest's ``live``: the demo's people and diagrams and three simulated weeks of work."""
    from web.app import create_app

    seeding.seed_identity(engine)
    for group_id, name in MORE_DEPARTMENTS.items():
        engine.identity.add_group(group_id, name)
    seeding.deploy(engine)
    clock.set(START)
    simulation = Simulation(engine, clock, password=PW)
    simulation.speed.update(SLOW)
    simulation.run(start=START, end=END, cases=CASES)
    app = create_app(engine, config={"SECRET_KEY": "browser-test-secret-" + "x" * 32,
                                     "DATA_DIR": str(tmp_path / "data")})
    server = Live(app, engine, clock)
    yield server
    server.stop()


def _page(ui: Any, user: str | None = None) -> Any:
    page = ui.page(user, password=PW) if user else ui.page()
    page.set_viewport_size(VIEWPORT)
    return page


def _print_page(ui: Any, page: Any, link: str, name: str) -> str:
    with page.context.expect_page() as opened:
        page.click(link)
    doc = opened.value
    doc.wait_for_load_state()
    doc.set_viewport_size(VIEWPORT)
    text = doc.inner_text("article.document")
    ui.shot(doc, name)
    doc.close()
    return text


def _fill_applicant(page: Any, name: str, phone: str) -> None:
    page.fill("#applicant_name", name)
    page.fill("#applicant_id_number", "91330106MA2H7Q8X3K")
    page.fill("#applicant_phone", phone)
    page.fill("#applicant_contact", "李四")


def test_guide_screenshots(ui, live, clock):  # type: ignore[no-untyped-def]
    engine = live.engine
    assert clock.now() == END

    # --- login ----------------------------------------------------------------------------------------------
    anon = _page(ui)
    anon.goto("/login")
    assert anon.inner_text("section.login h1") == "登录"
    ui.shot(anon, "login")

    # --- window clerk: 一窗受理 --------------------------------------------------------------------------------
    clerk = _page(ui, "clerk1")
    clerk.click("#nav-intake")
    clerk.wait_for_url(re.compile(r"/intake"))
    assert clerk.locator("table.items tr[data-item]").count() >= 5
    ui.shot(clerk, "intake-items", full_page=False)

    # a new application with 营业执照复印件 missing → 一次性告知
    clerk.click(f"#start-{ITEM}")
    clerk.wait_for_url(re.compile(rf"/intake/new/{ITEM}$"))
    for key in SAMPLE_ITEM.material_keys():
        if key not in ("business_license", "other"):
            clerk.check(f"#status-{key}-received")
    _fill_applicant(clerk, "杭州西湖示例餐饮有限公司", "13905718866")
    clerk.check("#delivery-pickup")
    ui.shot(clerk, "intake-form")
    clerk.click("#btn-notify")
    clerk.wait_for_url(re.compile(r"/intake/a/[^/?]+\?done=notify$"))
    number = clerk.inner_text("#application-number").strip()
    assert re.fullmatch(r"330100-20260320-\d{4}", number)
    notice = _print_page(ui, clerk, "#print-notice", "intake-notice")
    assert "营业执照复印件" in notice and "补正材料一次性告知书" in notice

    # the applicant comes back: 待补正 → 登记补正材料 → 受理 → 受理回执
    clerk.goto("/intake?tab=pending")
    assert clerk.locator(f"#supplement-{number}").count() == 1
    ui.shot(clerk, "intake-pending", full_page=False)
    clerk.click(f"#supplement-{number}")
    clerk.check("#status-business_license-received")
    clerk.click("#btn-supplement")
    clerk.wait_for_url(re.compile(r"\?done=supplement$"))
    clerk.click("#btn-accept")
    clerk.wait_for_url(re.compile(r"\?done=accept$"))
    assert clerk.inner_text("#application-state") == "已受理"
    ui.shot(clerk, "intake-accepted", full_page=False)
    receipt = _print_page(ui, clerk, "#print-receipt", "intake-receipt")
    assert "受理回执" in receipt and "承诺办结日期" in receipt and number in receipt

    # 容缺受理: 场地证明 to follow by a committed date
    clerk.goto(f"/intake/new/{ITEM}")
    for key in SAMPLE_ITEM.material_keys():
        if key not in ("site_proof", "other"):
            clerk.check(f"#status-{key}-received")
    _fill_applicant(clerk, "杭州拱墅示例商贸有限公司", "13905717711")
    clerk.fill("#commitment_due", "2026-03-27")
    clerk.fill("#commitment_note", "租赁合同正在办理备案，承诺一周内补交")
    clerk.click("#btn-gap")
    clerk.wait_for_url(re.compile(r"\?done=gap$"))
    assert "场地证明" in clerk.inner_text("#commitment")
    ui.shot(clerk, "intake-gap")
    # the follow-up task 容缺材料核验 waits in the window's 部门待认领
    clerk.goto("/inbox?tab=group")
    assert "容缺材料核验：场地证明" in clerk.inner_text("table.inbox")
    ui.shot(clerk, "clerk-inbox", full_page=False)

    # 不予受理 with its notice
    clerk.goto(f"/intake/new/{ITEM}")
    _fill_applicant(clerk, "某某投资咨询有限公司", "13905719900")
    clerk.fill("#reason", "申请事项不属于本中心受理范围，请向有权机关申请。")
    clerk.click("#btn-reject")
    clerk.wait_for_url(re.compile(r"\?done=reject$"))
    refusal = _print_page(ui, clerk, "#print-refusal", "intake-refusal")
    assert "不予受理通知书" in refusal and "不属于本中心受理范围" in refusal

    # 出件: a delivery step (综合窗口 or 出件窗口, as the diagram says), opened by a member of its department
    delivery = next((t for t in engine.tasks.list(TaskQuery(max_results=500))
                     if "出件" in (t.name or "") and t.candidate_groups), None)
    if delivery is not None:
        group = delivery.candidate_groups[0]
        holder = "clerk1" if group == "window" else engine.identity.users(group=group, active=True)[0].id
        desk = clerk if holder == "clerk1" else _page(ui, holder)
        desk.goto(f"/tasks/{delivery.id}")
        assert "出件" in desk.inner_text("h1")
        ui.shot(desk, "clerk-delivery-task", full_page=False)

    # --- department reviewer ------------------------------------------------------------------------------
    reviewer = _page(ui, "market1")
    reviewer.goto("/inbox?tab=group")
    rows = reviewer.locator("table.inbox tbody tr")
    assert rows.count() >= 1
    ui.shot(reviewer, "reviewer-inbox", full_page=False)

    # the case accepted above reaches 市场监管审查 (部门待认领): claim it and open the form
    review = next(t for t in engine.tasks.list(TaskQuery(business_key=number))
                  if t.task_definition_key == "review_market")
    reviewer.goto(f"/tasks/{review.id}")
    reviewer.click("form[action$='/claim'] button")
    reviewer.wait_for_selector("div.alert-success")
    assert reviewer.locator("#task-form button.primary").inner_text() == "提交办结"
    ui.shot(reviewer, "reviewer-task")

    # 要求补正: the case clock stops; the page says so and offers 补正已收到
    reviewer.fill("#f-materials", "食品经营场所平面布局图（加盖公章）")
    reviewer.fill("#f-correction_reason", "平面布局图与现场核查情况不一致")
    reviewer.fill("#f-expected_days", "5")
    reviewer.click("#correction-form button[type=submit]")
    reviewer.wait_for_selector("#correction-pending")
    assert "等待补正期间不能提交办结" in reviewer.inner_text("#task-form")
    ui.shot(reviewer, "reviewer-task-correction")
    clock.advance(days=3)  # Monday 03-23: the materials come
    reviewer.fill("#correction-received-form input[name=note]", "申请人已补交平面布局图")
    reviewer.click("#correction-received-form button[type=submit]")
    reviewer.wait_for_selector("div.alert-success")
    assert "恢复计时" in reviewer.inner_text("div.alert-success")

    # --- supervisor ---------------------------------------------------------------------------------------
    boss = _page(ui, "super1")
    boss.click("#nav-supervision")
    boss.wait_for_url(re.compile(r"/supervision"))
    assert int(boss.inner_text("#total-received")) >= 20
    assert int(boss.inner_text("#total-overdue_all")) >= 1
    ui.shot(boss, "supervision-dashboard", full_page=False)
    boss.click("#total-overdue_all")
    boss.wait_for_url(re.compile(r"metric=overdue_all"))
    assert boss.locator("#supervision-list tr[data-key]").count() >= 1
    ui.shot(boss, "supervision-list", full_page=False)

    # an open overdue case: its page with the diagram, the clock and the supervisor's actions
    key = None
    for query in ("metric=overdue_cases&item=construction_permit", "metric=overdue_cases"):
        boss.goto(f"/supervision/list?{query}")
        if boss.locator("#supervision-list tr[data-key]").count():
            key = boss.locator("#supervision-list tr[data-key]").first.get_attribute("data-key")
            break
    assert key is not None, "no open overdue case after the simulated weeks"
    boss.goto(f"/cases/{key}")
    boss.wait_for_selector("#ow-canvas svg g.djs-shape")
    assert "超期" in boss.inner_text("#clock-signal")
    assert boss.locator("#ow-canvas .ow-overdue, #ow-canvas .ow-active").count() >= 1
    ui.shot(boss, "case-view", full_page=False)
    boss.evaluate("document.getElementById('clock').scrollIntoView()")
    ui.shot(boss, "case-clock", full_page=False)
    boss.evaluate("document.getElementById('actions').scrollIntoView()")
    ui.shot(boss, "case-actions", full_page=False)

    # 催办 the review held by the reviewer: it reaches their bell
    boss.goto(f"/cases/{number}")
    urge = boss.locator("form[action$='/urge']")
    urge.locator("select[name=task_id]").select_option(review.id)
    urge.locator("textarea[name=message]").fill("请于今日办结并反馈。")
    urge.locator("button[type=submit]").click()
    boss.wait_for_selector("#action-done")
    assert boss.inner_text("#action-done") == "已催办"
    boss.evaluate("document.getElementById('timeline').scrollIntoView()")
    ui.shot(boss, "case-timeline", full_page=False)

    reviewer.goto("/inbox")
    assert int(reviewer.inner_text("#bell-count")) >= 1
    reviewer.click("#bell")  # the bell's menu lists the unread ones; its link opens them all
    reviewer.wait_for_selector("#bell-list li[data-note]")
    reviewer.click("#bell-all")
    reviewer.wait_for_url(re.compile(r"/notifications"))
    assert "请于今日办结并反馈。" in reviewer.inner_text("#notifications")
    ui.shot(reviewer, "notifications", full_page=False)

    # --- the applicant: public status page ----------------------------------------------------------------
    applicant = _page(ui)
    applicant.goto("/status")
    applicant.fill("input[name=business_key]", number)
    applicant.fill("input[name=phone_last4]", "8866")
    applicant.click("main form button[type=submit]")
    applicant.wait_for_selector("#status-result")
    assert applicant.inner_text("#status-delivery") == "窗口领取"
    ui.shot(applicant, "status-result")

    # --- admin --------------------------------------------------------------------------------------------
    admin = _page(ui, "admin")
    admin.goto("/admin/users")
    assert admin.locator("#users tr[data-user=clerk1]").count() == 1
    ui.shot(admin, "admin-users", full_page=False)
    admin.goto("/admin/calendar?year=2026")
    assert admin.locator("#official tr").count() > 10
    ui.shot(admin, "admin-calendar", full_page=False)

    for page in (anon, clerk, reviewer, boss, applicant, admin):
        assert ui.errors(page) == [], ui.errors(page)
