"""效能监察 in Chromium: a supervisor watches a case go overdue when time is moved, follows the number to the list
and the case, urges the market reviewer (who finds the 催办 under the bell), and exports the overdue list as CSV
(the downloaded file's content checked)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import start_case

pytestmark = pytest.mark.browser

BJ = ZoneInfo("Asia/Shanghai")
KEY = "GD-20260302-0042"


def _total(page, metric: str) -> str:  # type: ignore[no-untyped-def]
    return page.inner_text(f"#total-{metric}").strip()


def test_supervisor_sees_overdue_urges_and_exports_csv(ui, live, clock):  # type: ignore[no-untyped-def]
    engine = live.engine
    case = start_case(engine, KEY)  # Monday 03-02 09:30: reviews due Thursday 03-05, promised Monday 03-09 17:30
    market_task = next(t for t in engine.tasks.list(instance_id=case.id) if t.task_definition_key == "review_market")
    engine.tasks.claim(market_task.id, "m1")
    reviewer = ui.page("m1")
    assert reviewer.inner_text("#bell-count") == "0"

    boss = ui.page("boss")
    boss.goto("/supervision")
    assert (_total(boss, "open_cases"), _total(boss, "overdue_cases"), _total(boss, "overdue_tasks")) == ("1", "0", "0")

    # time passes: Tuesday 03-10 09:00, the promised date and both reviews' due dates are behind; the timers run
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=BJ))
    engine.jobs.execute_due()
    boss.reload()
    assert (_total(boss, "overdue_cases"), _total(boss, "overdue_tasks")) == ("1", "2")
    assert boss.locator("#chart-case").count() == 1
    ui.shot(boss, "supervision-dashboard")

    # the number leads to its list, the list to the case
    boss.click("#total-overdue_cases")
    boss.wait_for_url(re.compile(r"/supervision/list\?.*metric=overdue_cases"))
    assert boss.inner_text("#list-total") == "1"
    row = boss.locator(f"#supervision-list tr[data-key='{KEY}']")
    assert "超期" in row.inner_text()
    ui.shot(boss, "supervision-overdue-list")

    # the CSV export of that list: a real download, its content checked
    with boss.expect_download() as started:
        boss.click("#export-csv")
    download = started.value
    assert download.suggested_filename == "supervision-overdue_cases-20260310-0900.csv"
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel shows the Chinese text
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:7] == ["办件编号", "事项编码", "事项名称", "所在/经办部门", "当前环节", "状态", "期限信号"]
    assert len(rows) == 2
    assert rows[1][0] == KEY and rows[1][1] == "browser_parallel" and rows[1][6] == "超期"
    assert "市场监管审查" in rows[1][4] and "消防审查" in rows[1][4]

    row.locator(f"a[href='/cases/{KEY}']").first.click()
    boss.wait_for_url(re.compile(rf"/cases/{KEY}$"))
    boss.wait_for_selector("#ow-canvas svg g.djs-element[data-element-id=review_market].ow-overdue")
    assert "超期" in boss.inner_text("#clock-signal")

    # 催办 the market review (held by m1)
    urge = boss.locator("form[action$='/urge']")
    urge.locator("select[name=task_id]").select_option(market_task.id)
    urge.locator("textarea[name=message]").fill("已超期，请今日办结。")
    urge.locator("button[type=submit]").click()
    boss.wait_for_selector("#action-done")
    assert boss.inner_text("#action-done") == "已催办"
    assert "已超期，请今日办结。" in boss.inner_text("#timeline")
    assert ui.errors(boss) == []

    # the holder finds the urge under the bell
    reviewer.reload()
    assert int(reviewer.inner_text("#bell-count")) >= 1
    reviewer.click("#bell")  # the bell's menu lists the unread ones; its link opens them all
    reviewer.wait_for_selector("#bell-list li[data-note]")
    assert "催办" in reviewer.inner_text("#bell-list")
    reviewer.click("#bell-all")
    reviewer.wait_for_url(re.compile(r"/notifications"))
    assert "已超期，请今日办结。" in reviewer.inner_text("#notifications")
