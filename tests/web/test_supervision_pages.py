"""/supervision (效能监察): numbers and their lists from cases driven through the engine on a moved clock, SVG charts,
CSV export (UTF-8 BOM), access per role, filters, a fixed number of statements per page."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from sqlalchemy import event

from tests.engine.test_supervision import PARALLEL, SIMPLE, at, drive

PASSWORD = "password-1"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def client(engine, tmp_path):  # type: ignore[no-untyped-def]
    from web.app import create_app

    engine.repository.deploy([(p.name, p.read_bytes()) for p in (SIMPLE, PARALLEL)])
    ident = engine.identity
    for gid, name in (("window", "综合窗口"), ("market", "市场监管局"), ("fire", "消防救援大队"),
                      ("civil", "人防办")):
        ident.add_group(gid, name)
    for uid, groups, roles in (("boss", [], ["supervisor"]), ("root", [], ["admin"]),
                               ("chief", ["market"], ["leader"]), ("rev", ["market"], ["reviewer"]),
                               ("c1", ["window"], ["clerk"]), ("nobody", [], [])):
        ident.add_user(uid, PASSWORD, groups=groups, roles=roles)
    app = create_app(engine, config={"TESTING": True, "SECRET_KEY": "test-secret-key-" + "x" * 32,
                                     "DATA_DIR": str(tmp_path)})
    return app.test_client()


def login(client, user: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login").get_data(as_text=True)
    r = client.post("/login", data={"username": user, "password": PASSWORD,
                                    "csrf_token": TOKEN.search(page).group(1)})
    assert r.status_code in (302, 303)


def total(page: str, metric: str) -> tuple[str, str]:
    """(number shown, link) of a total on the dashboard."""
    found = re.search(rf'<a id="total-{metric}" data-metric="[a-z_]+" href="([^"]+)">([^<]+)</a>', page)
    assert found, f"no total {metric}"
    return found.group(2), html.unescape(found.group(1))


def keys(page: str) -> list[str]:
    return re.findall(r'<tr class="signal-\w+" data-key="([^"]+)"', page)


def cell(page: str, metric: str, attr: str, value: str) -> str:
    found = re.search(rf'<a data-metric="{metric}" data-{attr}="{value}" href="[^"]+">([^<]+)</a>', page)
    assert found, (metric, attr, value)
    return found.group(1)


def test_access_per_role(engine, clock, client):
    paths = ("/supervision", "/supervision/list?metric=open_cases", "/supervision/export.csv?metric=open_cases")
    for path in paths:
        r = client.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"]
    for user, allowed in (("boss", True), ("root", True), ("chief", True), ("rev", False), ("c1", False),
                          ("nobody", False)):
        login(client, user)
        for path in paths:
            r = client.get(path)
            assert r.status_code == (200 if allowed else 403), (user, path, r.status_code)
            if not allowed:
                assert "may not see the supervision dashboard" in r.get_data(as_text=True)
        nav = client.get("/inbox").get_data(as_text=True)
        assert ('id="nav-supervision"' in nav) is allowed, user
        client.post("/logout", data={"csrf_token": TOKEN.search(nav).group(1)})


def test_dashboard_numbers_link_to_their_lists(engine, clock, client):
    drive(engine, clock)
    login(client, "boss")
    page = client.get("/supervision").get_data(as_text=True)
    assert [total(page, m)[0] for m in ("open_cases", "warning_cases", "overdue_cases", "open_tasks",
                                         "overdue_tasks", "received", "closed", "closed_late")] == \
        ["3", "0", "1", "5", "2", "6", "3", "1"]
    assert total(page, "on_time_rate")[0] == "66.7%" and total(page, "supplement_rate")[0] == "16.7%"
    assert total(page, "durations")[0] == "4.0 / 4.0 / 6"
    assert cell(page, "overdue_cases", "dept", "window") == "1"
    assert cell(page, "overdue_tasks", "dept", "fire") == "1"
    assert cell(page, "open_cases", "item", "case_view") == "1"
    # the definitions are on the page, the charts are inline SVG with a link per segment
    assert 'id="definitions"' in page and "办结时间 ≤ 办结期限" in page
    assert page.count('<svg class="sv-chart"') == 2 and "<script" not in page.split("<main", 1)[1]
    assert '<a href="/supervision/list?from=2026-03-01&to=2026-03-11&dept=window&metric=overdue_cases"><rect' in \
        html.unescape(page)  # the period defaults to the current month

    link = total(page, "overdue_cases")[1]
    listed = client.get(link).get_data(as_text=True)
    assert keys(listed) == ["S-3"] and 'id="list-total">1<' in listed
    assert 'href="/cases/S-3"' in listed and 'id="export-csv"' in listed
    late = client.get(total(page, "closed_late")[1]).get_data(as_text=True)
    assert keys(late) == ["S-4"] and '<td class="num">6</td>' in late
    fire = client.get("/supervision/list?metric=overdue_tasks&dept=fire").get_data(as_text=True)
    assert keys(fire) == ["V-1"] and "消防内部审查" in fire and "消防救援大队" in fire
    assert keys(client.get("/supervision/list?metric=overdue").get_data(as_text=True)) == ["S-3"]


def test_overdue_appears_when_time_is_moved_and_exports(engine, clock, client):
    clock.set(at(2026, 3, 2, 9, 30))
    engine.runtime.start("clock_simple", business_key="GD-001")  # due Mon 03-09 17:30
    login(client, "boss")
    assert total(client.get("/supervision").get_data(as_text=True), "overdue_cases")[0] == "0"
    clock.set(at(2026, 3, 9, 9, 0))
    page = client.get("/supervision").get_data(as_text=True)
    assert total(page, "warning_cases")[0] == "1" and total(page, "overdue_cases")[0] == "0"
    clock.set(at(2026, 3, 10, 9, 0))
    page = client.get("/supervision").get_data(as_text=True)
    assert total(page, "overdue_cases")[0] == "1" and total(page, "warning_cases")[0] == "0"
    listed = client.get(total(page, "overdue_cases")[1]).get_data(as_text=True)
    assert keys(listed) == ["GD-001"]
    export = html.unescape(re.search(r'<a id="export-csv" class="button-link" href="([^"]+)"', listed).group(1))
    r = client.get(export)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.headers["Content-Disposition"] == 'attachment; filename="supervision-overdue_cases-20260310-0900.csv"'
    assert r.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:7] == ["办件编号", "事项编码", "事项名称", "所在/经办部门", "当前环节", "状态", "期限信号"]
    assert rows[1][:10] == ["GD-001", "clock_simple", "即来即办（承诺 5 个工作日）", "综合窗口", "办理", "在办", "超期",
                            "2026-03-02 09:30", "2026-03-02 09:30", "2026-03-09 17:30"]
    assert len(rows) == 2


def test_csv_of_every_list(engine, clock, client):
    drive(engine, clock)
    engine.runtime.start("clock_simple", business_key="=1+2")  # a formula-looking value stays text in Excel
    login(client, "boss")
    received = list(csv.reader(io.StringIO(
        client.get("/supervision/export.csv?metric=received").data.decode("utf-8-sig"))))
    assert sorted(r[0] for r in received[1:]) == sorted(["S-1", "S-2", "S-3", "S-4", "S-5", "V-1", "'=1+2"])
    by_key = {r[0]: r for r in received[1:]}
    assert by_key["S-2"][11:] == ["4", "是"] and by_key["S-4"][6] == "超期" and by_key["S-4"][11] == "6"
    tasks = list(csv.reader(io.StringIO(
        client.get("/supervision/export.csv?metric=overdue_tasks").data.decode("utf-8-sig"))))
    assert tasks[0] == ["办件编号", "任务", "事项编码", "事项名称", "部门", "办理人", "创建时间", "到期时间", "提醒时间", "期限信号"]
    assert sorted(r[1] for r in tasks[1:]) == ["市场监管内部审查", "消防内部审查"]
    assert all(r[9] == "超期" and r[7] == "2026-03-05 17:30" for r in tasks[1:])
    week = list(csv.reader(io.StringIO(client.get(
        "/supervision/export.csv?metric=closed&from=2026-03-04&to=2026-03-10").data.decode("utf-8-sig"))))
    assert sorted(r[0] for r in week[1:]) == ["S-1", "S-4"]


def test_leader_sees_own_departments(engine, clock, client):
    drive(engine, clock)
    login(client, "chief")
    page = client.get("/supervision").get_data(as_text=True)
    assert re.findall(r'<tr data-dept="([^"]+)">', page) == ["market"]
    assert re.findall(r'<option value="([^"]+)"', page.split('name="dept"')[1].split("</select>")[0]) == ["market"]
    assert total(page, "received")[0] == "1" and total(page, "open_tasks")[0] == "1"
    assert keys(client.get("/supervision/list?metric=received").get_data(as_text=True)) == ["V-1"]
    other = client.get("/supervision/list?metric=open_tasks&dept=window").get_data(as_text=True)
    assert keys(other) == [] and 'id="list-total">0<' in other
    assert client.get("/cases/V-1").status_code == 200  # the list's link opens the case


def test_bad_filters_are_refused_with_a_sentence(engine, clock, client):
    login(client, "boss")
    r = client.get("/supervision?from=2026-13-01")
    assert r.status_code == 400 and "开始日期 “2026-13-01” 不是日期" in r.get_data(as_text=True)
    r = client.get("/supervision?from=2026-03-10&to=2026-03-01")
    assert r.status_code == 400 and "after it ends on 2026-03-01" in r.get_data(as_text=True)
    r = client.get("/supervision/list?metric=nope")
    assert r.status_code == 400 and "unknown supervision metric" in r.get_data(as_text=True)
    assert client.get("/supervision/export.csv?metric=closed&to=x").status_code == 400


def test_no_query_per_row(engine, clock, client):
    engine.supervision.cache_seconds = 0  # every request computes (the reuse is tested in tests/engine)
    drive(engine, clock)
    login(client, "boss")
    client.get("/supervision")

    def statements(path: str) -> int:
        seen: list[str] = []
        listener = lambda *a: seen.append(a[2])  # noqa: E731
        event.listen(engine.db, "before_cursor_execute", listener)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(engine.db, "before_cursor_execute", listener)
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    paths = ("/supervision", "/supervision/list?metric=received", "/supervision/list?metric=open_tasks",
             "/supervision/export.csv?metric=received")
    few = [statements(p) for p in paths]
    for i in range(12):
        engine.runtime.start("case_view", business_key=f"N-{i}")
        engine.runtime.start("clock_simple", business_key=f"M-{i}")
    assert [statements(p) for p in paths] == few
