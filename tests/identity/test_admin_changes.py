"""The identity changes behind the admin pages: update_user (details and departments at once), search,
rename_group; refusals change nothing; each change is one history event with its actor and no personal data."""

from __future__ import annotations

import pytest

from engine.errors import InvalidInput, NotFound


@pytest.fixture
def ident(engine):  # type: ignore[no-untyped-def]
    engine.identity.add_group("market", "市场监管局")
    engine.identity.add_group("fire", "消防救援大队")
    engine.identity.add_user("wang", "password-1", name="王五", groups=["market"], roles=["reviewer"])
    engine.identity.add_user("li", "password-1", name="李四", email="li@example.test")
    engine.identity.add_user("Zhao_1", "password-1")
    return engine.identity


def _events(engine, kind):  # type: ignore[no-untyped-def]
    return [e for e in engine.history.events() if e.event_type == kind]


def test_update_user_replaces_details_and_departments_in_one_event(engine, ident):
    view = ident.update_user("wang", name="王老五", email="w@example.test", phone="0571-88889999",
                             groups=["fire"], actor="root")
    assert (view.name, view.email, view.phone, view.groups, view.roles) == (
        "王老五", "w@example.test", "0571-88889999", ("fire",), ("reviewer",))
    (ev,) = _events(engine, "UserUpdated")
    assert ev.actor == "root" and ev.payload == {
        "userId": "wang", "nameBefore": "王五", "name": "王老五", "emailChanged": True, "phoneChanged": True,
        "groupsBefore": ["market"], "groups": ["fire"]}
    ident.update_user("wang", name="王老五", email="w@example.test", phone="0571-88889999", groups=["fire"])
    assert len(_events(engine, "UserUpdated")) == 1  # nothing changed, nothing recorded


def test_update_user_refusals_change_nothing(engine, ident):
    before = ident.user("wang")
    with pytest.raises(InvalidInput, match="unknown group nosuch"):
        ident.update_user("wang", name="x", groups=["fire", "nosuch"])
    with pytest.raises(InvalidInput):
        ident.update_user("wang", name="x", email="not-an-address", groups=["fire"])
    with pytest.raises(NotFound):
        ident.update_user("nobody", name="x", groups=[])
    assert ident.user("wang") == before and not _events(engine, "UserUpdated")


def test_search_by_login_or_display_name(ident):
    assert [u.id for u in ident.search("王")] == ["wang"]
    assert [u.id for u in ident.search("zhao")] == ["Zhao_1"]  # case-insensitive
    assert [u.id for u in ident.search("_")] == ["Zhao_1"]  # LIKE wildcards are literal
    assert sorted(u.id for u in ident.search("")) == ["Zhao_1", "li", "wang"]  # (the order is the database's)
    assert [u.id for u in ident.search(None, group="market")] == ["wang"]
    assert [u.id for u in ident.search("i", role="reviewer")] == []
    ident.deactivate("li")
    assert [u.id for u in ident.search("li", active=False)] == ["li"]


def test_rename_group(engine, ident):
    assert ident.rename_group("market", "市场监督管理局", actor="root").name == "市场监督管理局"
    (ev,) = _events(engine, "GroupRenamed")
    assert ev.actor == "root" and ev.payload["nameBefore"] == "市场监管局"
    with pytest.raises(InvalidInput):
        ident.rename_group("market", "  ")
    with pytest.raises(NotFound):
        ident.rename_group("nosuch", "x")
    assert ident.group("market").name == "市场监督管理局" and len(_events(engine, "GroupRenamed")) == 1


def test_engine_wide_events_by_type_and_last(engine, ident):
    ident.rename_group("market", "一")
    ident.rename_group("market", "二")
    ident.rename_group("market", "三")
    last_two = engine.history.events(types=("GroupRenamed",), last=2)
    assert [e.payload["name"] for e in last_two] == ["二", "三"]
    assert {e.event_type for e in engine.history.events(types=["UserCreated"])} == {"UserCreated"}
    assert len(engine.history.events(types=["UserCreated"])) == 3
