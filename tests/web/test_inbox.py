"""/inbox: tabs, counts, filters, paging, claim/unclaim from the list, data scope, markers."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import event

from engine.tasks.queries import TaskQuery
from tests.web.conftest import login, post, start_case


def _count(page: str, tab: str) -> int:
    return int(re.search(rf'data-count="{tab}">(\d+)<', page).group(1))


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr class="signal-\w+" data-task="([^"]+)"', page)


def _market(web, key: str):  # type: ignore[no-untyped-def]
    return web.tasks.list(TaskQuery(business_key=key, task_definition_key="market_review"))[0]


def test_tabs_counts_and_claim_from_the_list(web, clock, client):
    for i in range(3):
        start_case(web, clock, f"WEB-{i}")
    login(client, "m1")
    page = client.get("/inbox?tab=group").get_data(as_text=True)
    assert (_count(page, "mine"), _count(page, "group"), _count(page, "delegated"), _count(page, "done")) == (0, 3, 0, 0)
    assert len(_rows(page)) == 3 and "消防审查" not in page
    task = _market(web, "WEB-1")
    r = post(client, f"/tasks/{task.id}/claim", {"next": "/inbox?tab=group"}, page="/inbox?tab=group")
    assert r.status_code == 302 and r.headers["Location"] == "/inbox?tab=group"
    assert web.tasks.task(task.id).assignee == "m1"
    page = client.get("/inbox").get_data(as_text=True)
    assert (_count(page, "mine"), _count(page, "group")) == (1, 2)
    assert _rows(page) == [task.id]
    post(client, f"/tasks/{task.id}/unclaim", {"next": "/inbox"})
    assert web.tasks.task(task.id).assignee is None


def test_claim_of_a_task_someone_else_claimed_meanwhile(web, clock, client):
    start_case(web, clock, "WEB-1")
    task = _market(web, "WEB-1")
    login(client, "m1")
    web.tasks.claim(task.id, "m2")
    r = post(client, f"/tasks/{task.id}/claim", {"next": "/inbox?tab=group"})
    assert r.status_code == 302
    assert "此任务已由 m2 认领" in client.get("/inbox?tab=group").get_data(as_text=True)


def test_data_scope_reviewer_sees_only_their_department(web, clock, client):
    start_case(web, clock, "WEB-1")
    fire = web.tasks.list(TaskQuery(task_definition_key="fire_review"))[0]
    login(client, "m1")
    page = client.get("/inbox?tab=group").get_data(as_text=True)
    assert fire.id not in page
    assert client.get(f"/tasks/{fire.id}").status_code == 403
    r = post(client, f"/tasks/{fire.id}/claim")
    assert r.status_code == 403 and web.tasks.task(fire.id).assignee is None
    r = post(client, f"/tasks/{fire.id}/complete", {"decision": "agree"})
    assert r.status_code == 403 and web.tasks.task(fire.id).state == "ACTIVE"


def test_filters_signal_item_search_and_paging(web, clock, client):
    start_case(web, clock, "WEB-LATE", "迟到公司", due_in=timedelta(hours=-1), follow_up_in=timedelta(hours=-3))
    start_case(web, clock, "WEB-WARN", "预警公司", due_in=timedelta(days=1), follow_up_in=timedelta(hours=-1))
    start_case(web, clock, "WEB-SOON", "将到期公司", due_in=timedelta(days=2), follow_up_in=timedelta(days=1))
    start_case(web, clock, "WEB-FAR", "远期公司", due_in=timedelta(days=30), follow_up_in=timedelta(days=25))
    login(client, "m1")

    def keys(query: str) -> list[str]:
        page = client.get("/inbox?tab=group&" + query).get_data(as_text=True)
        return re.findall(r"<td>(WEB-[A-Z]+)</td>", page)

    assert keys("") == ["WEB-LATE", "WEB-WARN", "WEB-SOON", "WEB-FAR"]  # by due date
    assert keys("order=desc") == ["WEB-FAR", "WEB-SOON", "WEB-WARN", "WEB-LATE"]
    assert keys("signal=overdue") == ["WEB-LATE"]
    assert keys("signal=warning") == ["WEB-WARN"]
    assert keys("signal=soon") == ["WEB-WARN", "WEB-SOON"]
    assert keys("q=将到期") == ["WEB-SOON"]
    assert keys("q=web-far") == ["WEB-FAR"]
    assert keys("q=100%25") == []
    assert keys("item=web_review") == ["WEB-LATE", "WEB-WARN", "WEB-SOON", "WEB-FAR"]
    assert keys("item=other") == []
    page = client.get("/inbox?tab=group").get_data(as_text=True)
    assert 'class="signal-overdue"' in page and 'class="signal-warning"' in page
    assert "超期 1 个工作日" in page
    page = client.get("/inbox?tab=group&signal=overdue").get_data(as_text=True)
    assert _count(page, "group") == 1


def test_paging(web, clock, client):
    for i in range(23):
        start_case(web, clock, f"P-{i:02d}", due_in=timedelta(days=10, minutes=i))
    login(client, "m1")
    first = client.get("/inbox?tab=group").get_data(as_text=True)
    second = client.get("/inbox?tab=group&page=2").get_data(as_text=True)
    assert len(_rows(first)) == 20 and len(_rows(second)) == 3
    assert not set(_rows(first)) & set(_rows(second))
    assert "共 23 条，第 2 / 2 页" in second and 'rel="next"' in first


def test_delegated_and_done_tabs(web, clock, client):
    start_case(web, clock, "WEB-1", "张三公司")
    start_case(web, clock, "WEB-2", "李四公司")
    t1, t2 = _market(web, "WEB-1"), _market(web, "WEB-2")
    web.tasks.claim(t1.id, "m1")
    web.tasks.delegate(t1.id, "m2", actor="m1")
    web.tasks.complete(t2.id, "m1", {"approved": True})
    login(client, "m1")
    page = client.get("/inbox?tab=delegated").get_data(as_text=True)
    assert _rows(page) == [t1.id] and _count(page, "done") == 1
    page = client.get("/inbox?tab=done").get_data(as_text=True)
    assert _rows(page) == [t2.id]
    assert _rows(client.get("/inbox?tab=done&q=李四").get_data(as_text=True)) == [t2.id]
    assert _rows(client.get("/inbox?tab=done&q=张三").get_data(as_text=True)) == []


def test_no_query_per_row(web, clock, client):
    for i in range(5):
        start_case(web, clock, f"N-{i}")
    login(client, "m1")
    client.get("/inbox?tab=group")

    def statements(path: str) -> int:
        seen: list[str] = []
        listener = lambda *a: seen.append(a[2])  # noqa: E731
        event.listen(web.db, "before_cursor_execute", listener)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(web.db, "before_cursor_execute", listener)
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    few = statements("/inbox?tab=group&page=1")
    for i in range(5, 15):
        start_case(web, clock, f"N-{i}")
    assert statements("/inbox?tab=group&page=1") == few


def test_supervisor_and_admin_see_every_department(web, clock, client):
    start_case(web, clock, "WEB-1")
    fire = web.tasks.list(TaskQuery(task_definition_key="fire_review"))[0]
    for user in ("boss", "root"):
        login(client, user)
        assert client.get(f"/tasks/{fire.id}").status_code == 200
        post(client, "/logout")
