"""The bell (通知) through the Flask test client on a real database: urges, warning/overdue jobs and assignments
reach the bell of the people concerned only; the list page; mark read / mark all read (own notifications only);
CSRF refused; one COUNT query for the bell per page."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import event

from tests.web.conftest import login, post, start_case

BELL = re.compile(r'id="bell-count">(\d+)<')


def _bell(client) -> int:  # type: ignore[no-untyped-def]
    found = BELL.search(client.get("/inbox").get_data(as_text=True))
    assert found, "no bell on the page"
    return int(found.group(1))


def _clients(app, *users: str) -> dict:  # type: ignore[no-untyped-def]
    out = {}
    for u in users:
        c = app.test_client()
        login(c, u)
        out[u] = c
    return out


def _task(web, case, key: str):  # type: ignore[no-untyped-def]
    (t,) = [t for t in web.tasks.list(instance_id=case.id) if t.task_definition_key == key]
    return t


def test_an_urge_from_the_case_page_rings_the_department_only(app, web, clock):
    case = start_case(web, clock, "BELL-1")
    users = _clients(app, "boss", "m1", "m2", "f1", "lead", "c1")
    assert {u: _bell(c) for u, c in users.items()} == {u: 0 for u in users}
    market = _task(web, case, "market_review")
    r = post(users["boss"], "/cases/BELL-1/urge", {"task_id": market.id, "message": "请今天内办结"},
             page="/cases/BELL-1")
    assert r.status_code == 303
    assert {u: _bell(c) for u, c in users.items()} == {"boss": 0, "m1": 1, "m2": 1, "f1": 0, "lead": 1, "c1": 0}
    page = users["m1"].get("/notifications").get_data(as_text=True)
    assert "催办" in page and "请今天内办结" in page and "BELL-1" in page and 'class="unread"' in page
    assert "请今天内办结" not in users["f1"].get("/notifications").get_data(as_text=True)


def test_warning_and_overdue_jobs_ring_the_holder_the_leader_and_the_supervisor(app, web, clock):
    case = start_case(web, clock, "BELL-2", due_in=timedelta(days=3), follow_up_in=timedelta(days=2))
    market = _task(web, case, "market_review")
    web.tasks.claim(market.id, "m1")
    clock.set(clock.now() + timedelta(days=4))
    web.jobs.execute_due()
    users = _clients(app, "m1", "m2", "lead", "boss", "f1")
    counts = {u: _bell(c) for u, c in users.items()}
    # m1 holds it: warning + overdue; lead (market's leader) and boss (supervisor) the overdue notice only
    assert counts == {"m1": 2, "m2": 0, "lead": 1, "boss": 1, "f1": 0}
    page = users["m1"].get("/notifications?show=unread").get_data(as_text=True)
    assert "【预警】" in page and "【超期】" in page
    assert "【超期】" in users["boss"].get("/notifications").get_data(as_text=True)


def test_a_transfer_on_the_task_page_rings_the_new_holder(app, web, clock):
    case = start_case(web, clock, "BELL-3")
    market = _task(web, case, "market_review")
    users = _clients(app, "m1", "m2")
    assert post(users["m1"], f"/tasks/{market.id}/claim", page=f"/tasks/{market.id}").status_code in (302, 303)
    assert _bell(users["m1"]) == 0  # claiming for oneself tells nobody
    r = post(users["m1"], f"/tasks/{market.id}/transfer", {"user": "m2"}, page=f"/tasks/{market.id}")
    assert r.status_code in (302, 303)
    assert (_bell(users["m1"]), _bell(users["m2"])) == (0, 1)
    page = users["m2"].get("/notifications").get_data(as_text=True)
    assert "【转办】" in page and "市场监管审查" in page and f"/tasks/{market.id}" in page


def test_mark_read_one_and_all_only_for_oneself(app, web, clock):
    case = start_case(web, clock, "BELL-4")
    market = _task(web, case, "market_review")
    for text in ("第一次", "第二次", "第三次"):
        clock.set(clock.now() + timedelta(minutes=1))
        web.cases.urge(case.id, market.id, text, actor="boss")
    users = _clients(app, "m1", "m2")
    first = web.notifications.for_user("m1")[-1]  # newest first: the last one is 第一次
    assert "第一次" in first.body
    # one message, one row per person: m1 marking it read leaves m2's unread
    r = post(users["m1"], "/notifications/read", {"id": first.message_id, "next": "/notifications"},
             page="/notifications")
    assert r.status_code == 303 and r.headers["Location"].endswith("/notifications")
    assert (_bell(users["m1"]), _bell(users["m2"])) == (2, 3)
    # "查看" marks read and goes to the task
    second = web.notifications.for_user("m1", unread_only=True)[-1]
    r = post(users["m1"], "/notifications/read", {"id": second.message_id, "next": f"/tasks/{market.id}"},
             page="/notifications")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/tasks/{market.id}")
    assert _bell(users["m1"]) == 1
    # an outside redirect target is not followed
    r = post(users["m1"], "/notifications/read", {"id": second.message_id, "next": "https://evil.example/"},
             page="/notifications")
    assert r.headers["Location"].endswith("/notifications")
    assert post(users["m2"], "/notifications/read-all", page="/notifications").status_code == 303
    assert (_bell(users["m1"]), _bell(users["m2"])) == (1, 0)
    page = users["m1"].get("/notifications?show=unread").get_data(as_text=True)
    assert page.count('class="unread"') == 1 and "第三次" in page and "第一次" not in page


def test_csrf_is_required_to_mark_read(app, web, clock):
    case = start_case(web, clock, "BELL-5")
    web.cases.urge(case.id, _task(web, case, "market_review").id, "催一下", actor="boss")
    (m1,) = _clients(app, "m1").values()
    (note,) = web.notifications.for_user("m1")
    assert m1.post("/notifications/read", data={"id": note.message_id}).status_code == 400
    assert m1.post("/notifications/read-all", data={"csrf_token": "forged"}).status_code == 400
    assert web.notifications.unread_count("m1") == 1


def test_the_bell_costs_one_query_and_anonymous_pages_none(app, web, clock):
    case = start_case(web, clock, "BELL-6")
    for i in range(5):
        web.cases.urge(case.id, _task(web, case, "market_review").id, f"催办 {i}", actor="boss")
    (m1,) = _clients(app, "m1").values()
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "notification" in statement.lower():
            seen.append(statement)

    event.listen(web.db, "before_cursor_execute", count)
    try:
        assert BELL.search(m1.get("/inbox").get_data(as_text=True)).group(1) == "5"
        assert len(seen) == 1 and "count" in seen[0].lower()
        seen.clear()
        anon = app.test_client()
        assert anon.get("/login").status_code == 200
        assert seen == []
    finally:
        event.remove(web.db, "before_cursor_execute", count)
    assert m1.get("/notifications").status_code == 200
    anon = app.test_client()
    r = anon.get("/notifications")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_the_bell_menu_lists_my_latest_unread_only_and_opens_them(app, web, clock):
    case = start_case(web, clock, "BELL-7")
    for i in range(10):
        web.cases.urge(case.id, _task(web, case, "market_review").id, f"第{i}次催办", actor="boss")
    users = _clients(app, "m1", "f1")
    menu = users["m1"].get("/notifications/menu")
    html = menu.get_data(as_text=True)
    assert menu.status_code == 200 and html.count("data-note=") == 8 and "还有更多未读通知" in html
    assert 'name="csrf_token"' in html
    assert "data-note=" not in users["f1"].get("/notifications/menu").get_data(as_text=True)  # another department
    assert "没有未读通知" in users["f1"].get("/notifications/menu").get_data(as_text=True)
    page = users["m1"].get("/inbox").get_data(as_text=True)
    assert 'id="bell-menu"' in page and "/notifications/menu" in page and 'id="bell-all"' in page
    assert app.test_client().get("/notifications/menu").status_code == 302  # anonymous: to the login page
