"""系统管理 /admin on a real database through the Flask test client: admins only (403 for every other role),
users (create → the new user logs in; edit, roles, password reset, deactivate/activate), departments (create,
rename, members) and calendar overrides (an added holiday moves a deadline); refusals shown next to the field
with nothing changed; CSRF refused; every change in the history with the admin as actor."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.web.conftest import PASSWORD, login, post, token

ADMIN_PAGES = ("/admin", "/admin/users", "/admin/users/m1", "/admin/groups", "/admin/groups/market",
               "/admin/calendar", "/admin/audit")


def _admin(client):  # type: ignore[no-untyped-def]
    r = login(client, "root")
    assert r.status_code in (302, 303)
    return client


def _events(engine, kind: str) -> list:  # type: ignore[no-untyped-def]
    return [e for e in engine.history.events() if e.event_type == kind]


@pytest.mark.parametrize("user", ["m1", "f1", "c1", "lead", "boss", "nobody"])
def test_every_role_but_admin_gets_403(client, user):
    login(client, user)
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 403, path
    r = post(client, "/admin/users", {"user_id": "x1", "password": "long-enough-1", "password2": "long-enough-1"})
    assert r.status_code == 403
    r = post(client, "/admin/calendar", {"day": "2026-03-04", "kind": "holiday"})
    assert r.status_code == 403
    assert 'id="nav-admin"' not in client.get("/inbox").get_data(as_text=True)


def test_anonymous_is_sent_to_login(client):
    r = client.get("/admin/users")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_admin_sees_every_page_and_the_nav_link(client):
    _admin(client)
    for path in ADMIN_PAGES:
        r = client.get(path)
        assert r.status_code == 200, path
    assert 'id="nav-admin"' in client.get("/inbox").get_data(as_text=True)
    assert client.get("/admin/users/nosuch").status_code == 404
    assert client.get("/admin/groups/nosuch").status_code == 404


def test_admin_creates_a_user_who_can_then_log_in(app, client, web):
    _admin(client)
    r = post(client, "/admin/users", {"user_id": "wang5", "name": "王五", "email": "wang5@example.test",
                                      "password": "new-user-pass-1", "password2": "new-user-pass-1",
                                      "groups": ["market", "fire"], "roles": ["reviewer", "leader"]},
             page="/admin/users")
    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/users/wang5?done=created")
    view = web.identity.user("wang5")
    assert (view.name, view.groups, view.roles, view.active) == ("王五", ("fire", "market"), ("reviewer", "leader"),
                                                                   True)
    (ev,) = [e for e in _events(web, "UserCreated") if e.payload["userId"] == "wang5"]
    assert ev.actor == "root" and "new-user-pass-1" not in str(ev.payload)
    page = client.get("/admin/users?q=王").get_data(as_text=True)
    assert 'data-user="wang5"' in page and 'data-user="m1"' not in page
    other = app.test_client()
    assert login(other, "wang5", "new-user-pass-1").status_code in (302, 303)
    assert other.get("/inbox").status_code == 200


@pytest.mark.parametrize("data, field, text", [
    ({"user_id": "m1", "password": "long-enough-1", "password2": "long-enough-1"}, "user_id", "已存在"),
    ({"user_id": "new1", "password": "short", "password2": "short"}, "password", "至少 8 个字符"),
    ({"user_id": "new1", "password": "", "password2": ""}, "password", "请填写密码"),
    ({"user_id": "new1", "password": "long-enough-1", "password2": "long-enough-2"}, "password2", "不一致"),
    ({"user_id": "new1", "password": "long-enough-1", "password2": "long-enough-1", "groups": ["nosuch"]},
     "groups", "nosuch"),
    ({"user_id": "bad id", "password": "long-enough-1", "password2": "long-enough-1"}, "user_id", "登录名无效"),
    ({"user_id": "new1", "password": "long-enough-1", "password2": "long-enough-1", "email": "not-mail"},
     "email", "电子邮箱"),
    ({"user_id": "", "password": "long-enough-1", "password2": "long-enough-1"}, "user_id", "请填写登录名"),
])
def test_refused_user_creation_changes_nothing_and_says_why_next_to_the_field(client, web, data, field, text):
    _admin(client)
    before = [u.id for u in web.identity.users()]
    events = len(web.history.events())
    r = post(client, "/admin/users", {"name": "保留的姓名", **data}, page="/admin/users")
    assert r.status_code in (400, 409)
    page = r.get_data(as_text=True)
    start = page.index(f'data-error="{field}"')
    assert text in page[start:start + 300]
    assert 'value="保留的姓名"' in page  # the input is kept
    assert data["password"] not in page or not data["password"]  # never echoed
    assert [u.id for u in web.identity.users()] == before and len(web.history.events()) == events


def test_edit_roles_password_and_deactivation(app, client, web):
    _admin(client)
    r = post(client, "/admin/users/m2", {"name": "市场二号", "phone": "0571-1234567", "groups": ["fire"]},
             page="/admin/users/m2")
    assert r.status_code == 303
    view = web.identity.user("m2")
    assert (view.name, view.phone, view.groups) == ("市场二号", "0571-1234567", ("fire",))
    (ev,) = _events(web, "UserUpdated")
    assert ev.actor == "root" and ev.payload["groups"] == ["fire"] and ev.payload["groupsBefore"] == ["market"]
    assert "0571" not in str(ev.payload)
    # an unknown department: refused, nothing changed
    r = post(client, "/admin/users/m2", {"name": "别的名字", "groups": ["fire", "nosuch"]}, page="/admin/users/m2")
    assert r.status_code == 400 and "nosuch" in r.get_data(as_text=True)
    assert web.identity.user("m2").name == "市场二号"
    # department members page follows
    assert 'data-user="m2"' in client.get("/admin/groups/fire").get_data(as_text=True)
    assert 'data-user="m2"' not in client.get("/admin/groups/market").get_data(as_text=True)

    assert post(client, "/admin/users/m2/roles", {"roles": ["leader", "supervisor"]},
                page="/admin/users/m2").status_code == 303
    assert web.identity.user("m2").roles == ("leader", "supervisor")
    assert _events(web, "UserRolesChanged")[-1].actor == "root"

    r = post(client, "/admin/users/m2/password", {"password": "short", "password2": "short"}, page="/admin/users/m2")
    assert r.status_code == 400 and "至少 8 个字符" in r.get_data(as_text=True)
    assert post(client, "/admin/users/m2/password", {"password": "reset-pass-99", "password2": "reset-pass-99"},
                page="/admin/users/m2").status_code == 303
    other = app.test_client()
    assert login(other, "m2", PASSWORD).status_code == 401  # the old password no longer works
    assert login(other, "m2", "reset-pass-99").status_code in (302, 303)

    assert post(client, "/admin/users/m2/active", {"active": "0"}, page="/admin/users/m2").status_code == 303
    assert web.identity.user("m2").active is False
    third = app.test_client()
    assert login(third, "m2", "reset-pass-99").status_code == 401  # refused: deactivated
    assert post(client, "/admin/users/m2/active", {"active": "1"}, page="/admin/users/m2").status_code == 303
    assert login(third, "m2", "reset-pass-99").status_code in (302, 303)
    kinds = [e.event_type for e in web.history.events() if e.payload.get("userId") == "m2"]
    assert kinds[-4:] == ["UserRolesChanged", "UserPasswordChanged", "UserDeactivated", "UserActivated"]


def test_the_last_admin_is_kept(client, web):
    _admin(client)
    page = "/admin/users/" + "root"  # the only admin of the fixture (tests/web/conftest.py)
    r = post(client, page + "/active", {"active": "0"}, page=page)
    assert r.status_code == 409 and "最后一位" in r.get_data(as_text=True)
    r = post(client, page + "/roles", {"roles": ["supervisor"]}, page=page)
    assert r.status_code == 409 and "最后一位" in r.get_data(as_text=True)
    assert web.identity.user("root").roles == ("admin",) and web.identity.user("root").active


def test_departments_create_rename_and_refusals(client, web):
    _admin(client)
    r = post(client, "/admin/groups", {"group_id": "tax", "name": "税务局"}, page="/admin/groups")
    assert r.status_code == 303 and web.identity.group("tax").name == "税务局"
    r = post(client, "/admin/groups", {"group_id": "tax", "name": "又一个"}, page="/admin/groups")
    assert r.status_code == 409 and "已存在" in r.get_data(as_text=True)
    r = post(client, "/admin/groups", {"group_id": "", "name": "没有编号"}, page="/admin/groups")
    assert r.status_code == 400 and "请填写部门编号" in r.get_data(as_text=True)
    r = post(client, "/admin/groups", {"group_id": "x", "name": ""}, page="/admin/groups")
    assert r.status_code == 400 and "请填写名称" in r.get_data(as_text=True)
    assert [g.id for g in web.identity.groups()] == ["fire", "market", "tax", "window"]
    assert post(client, "/admin/groups/tax", {"name": "国家税务局"}, page="/admin/groups/tax").status_code == 303
    assert web.identity.group("tax").name == "国家税务局"
    (ev,) = _events(web, "GroupRenamed")
    assert ev.actor == "root" and (ev.payload["nameBefore"], ev.payload["name"]) == ("税务局", "国家税务局")
    r = post(client, "/admin/groups/tax", {"name": "  "}, page="/admin/groups/tax")
    assert r.status_code == 400 and web.identity.group("tax").name == "国家税务局"
    page = client.get("/admin/groups/market").get_data(as_text=True)
    assert 'data-user="m1"' in page and 'data-user="lead"' in page and 'data-user="f1"' not in page


def test_a_calendar_override_moves_a_deadline(client, web, clock):
    _admin(client)
    start = datetime.fromisoformat("2026-03-02T09:30:00+08:00")  # Monday
    assert web.calendar.deadline(start, 3).date().isoformat() == "2026-03-05"
    r = post(client, "/admin/calendar", {"day": "2026-03-04", "kind": "holiday", "note": "地方性假日"},
             page="/admin/calendar")
    assert r.status_code == 303 and "year=2026" in r.headers["Location"]
    assert web.calendar.deadline(start, 3).date().isoformat() == "2026-03-06"
    page = client.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert 'data-day="2026-03-04"' in page and "地方性假日" in page
    (ev,) = _events(web, "CalendarDayAdded")
    assert ev.actor == "root" and ev.payload["day"] == "2026-03-04"
    # a working Saturday
    assert post(client, "/admin/calendar", {"day": "2026-03-07", "kind": "workday"},
                page="/admin/calendar").status_code == 303
    assert web.calendar.deadline(start, 3).date().isoformat() == "2026-03-06"
    assert web.calendar.deadline(start, 4).date().isoformat() == "2026-03-07"
    # removing the holiday brings the deadline back
    r = post(client, "/admin/calendar/remove", {"day": "2026-03-04", "region": ""}, page="/admin/calendar")
    assert r.status_code == 303
    assert web.calendar.deadline(start, 3).date().isoformat() == "2026-03-05"
    assert _events(web, "CalendarDayRemoved")[-1].actor == "root"


@pytest.mark.parametrize("data, field, text", [
    ({"day": "2026-13-01", "kind": "holiday"}, "day", "日期无效"),
    ({"day": "", "kind": "holiday"}, "day", "请填写日期"),
    ({"day": "2026-03-04", "kind": ""}, "kind", "请选择"),
    ({"day": "2026-03-07", "kind": "holiday"}, "day", "无需调整"),  # a Saturday already
    ({"day": "1990-03-05", "kind": "holiday"}, "day", "没有 1990 年"),
    ({"day": "2026-03-04", "kind": "holiday", "region": "bad region!"}, "region", "地区代码无效"),
])
def test_refused_calendar_changes_say_why_and_change_nothing(client, web, data, field, text):
    _admin(client)
    events = len(web.history.events())
    r = post(client, "/admin/calendar", {"note": "保留的说明", **data}, page="/admin/calendar")
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    start = page.index(f'data-error="{field}"')
    assert text in page[start:start + 300]
    assert 'value="保留的说明"' in page
    assert len(web.history.events()) == events
    assert web.calendar.show(2026) == web.calendar.show(2026)  # still readable
    assert not [d for d in web.calendar.show(2026) if d.source != "official"]


def test_unknown_calendar_year_and_missing_override(client):
    _admin(client)
    r = client.get("/admin/calendar?year=1990")
    assert r.status_code == 404 and "1990" in r.get_data(as_text=True)
    r = post(client, "/admin/calendar/remove", {"day": "2026-03-04"}, page="/admin/calendar")
    assert r.status_code == 404 and "没有调整记录" in r.get_data(as_text=True)


def test_csrf_is_required_on_every_admin_form(client, web):
    _admin(client)
    for path, data in (("/admin/users", {"user_id": "z1", "password": "long-enough-1",
                                         "password2": "long-enough-1"}),
                       ("/admin/users/m1", {"name": "改名"}), ("/admin/users/m1/roles", {"roles": ["admin"]}),
                       ("/admin/users/m1/password", {"password": "long-enough-1", "password2": "long-enough-1"}),
                       ("/admin/users/m1/active", {"active": "0"}), ("/admin/groups", {"group_id": "g9", "name": "g"}),
                       ("/admin/groups/market", {"name": "改名"}),
                       ("/admin/calendar", {"day": "2026-03-04", "kind": "holiday"}),
                       ("/admin/calendar/remove", {"day": "2026-03-04"})):
        r = client.post(path, data=data)
        assert r.status_code == 400, path
        r = client.post(path, data={**data, "csrf_token": "forged"})
        assert r.status_code == 400, path
    m1 = web.identity.user("m1")
    assert (m1.name, m1.roles, m1.active) == ("市场一", ("reviewer",), True)
    assert [g.id for g in web.identity.groups()] == ["fire", "market", "window"]
    assert web.identity.group("market").name == "市场监管局"
    assert not [d for d in web.calendar.show(2026) if d.source != "official"]
    assert token(client, "/admin/users")  # the pages carry the token


def test_audit_page_lists_admin_changes_with_the_actor(client):
    _admin(client)
    post(client, "/admin/groups", {"group_id": "tax", "name": "税务局"}, page="/admin/groups")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert 'data-event="GroupCreated"' in page and "root" in page and "tax" in page
