"""engine.identity on a real database: hashing, logins, validation, memberships, roles, history."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.identity import ROLES, Access
from engine.persistence.models import User


@pytest.fixture
def ident(engine):  # type: ignore[no-untyped-def]
    engine.identity.add_group("market", "市场监管局")
    engine.identity.add_group("fire", "消防救援大队")
    return engine.identity


def _stored_hash(engine, user_id):  # type: ignore[no-untyped-def]
    return engine.executor.read(lambda s: s.scalar(select(User.password_hash).where(User.id == user_id)))


def test_the_password_is_stored_as_an_argon2id_hash(engine, ident):
    ident.add_user("wang", "correct horse", name="王五", groups=["market"], roles=["reviewer"], actor="admin")
    stored = _stored_hash(engine, "wang")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "correct horse" not in stored
    ident.set_password("wang", "battery staple", actor="admin")
    again = _stored_hash(engine, "wang")
    assert again != stored and again.startswith("$argon2id$")
    assert ident.authenticate("wang", "correct horse") is None
    assert ident.authenticate("wang", "battery staple").id == "wang"


def test_two_users_with_one_password_get_different_hashes(engine, ident):
    ident.add_user("a1", "same password")
    ident.add_user("a2", "same password")
    assert _stored_hash(engine, "a1") != _stored_hash(engine, "a2")


def test_authenticate_ok_wrong_unknown_inactive(ident):
    ident.add_user("li", "s3cret-pass", name="李四", email="li@example.gov.cn", groups=["fire"], roles=["leader"])
    view = ident.authenticate("li", "s3cret-pass")
    assert view is not None and (view.id, view.name, view.groups, view.roles, view.active) == \
        ("li", "李四", ("fire",), ("leader",), True)
    assert ident.authenticate("li", "s3cret-pass") == view  # remembered: same answer
    assert ident.authenticate("li", "S3cret-pass") is None
    assert ident.authenticate("li", "") is None
    assert ident.authenticate("nobody", "s3cret-pass") is None
    assert ident.authenticate("", "s3cret-pass") is None
    assert ident.authenticate(None, None) is None  # type: ignore[arg-type]
    assert ident.authenticate("li", "x" * 5000) is None
    ident.deactivate("li", actor="admin")
    assert ident.authenticate("li", "s3cret-pass") is None  # even though the right password was remembered
    assert ident.user("li").active is False
    ident.activate("li", actor="admin")
    assert ident.authenticate("li", "s3cret-pass").id == "li"


def test_an_unknown_user_costs_about_as_much_as_a_wrong_password(ident):
    ident.add_user("zhao", "s3cret-pass")
    ident.authenticate("ghost", "warm-up-the-dummy")

    def took(user_id: str) -> float:
        start = time.perf_counter()
        assert ident.authenticate(user_id, "not the password") is None
        return time.perf_counter() - start
    wrong = min(took("zhao") for _ in range(3))
    unknown = min(took("ghost") for _ in range(3))
    assert unknown > wrong / 3  # both pay a full argon2 verification (a bare lookup would be ~100x faster)


def test_roles_are_validated_and_named(ident):
    with pytest.raises(InvalidInput) as err:
        ident.add_user("x1", "password-1", roles=["reviewer", "boss"])
    assert str(err.value) == ("unknown role 'boss': the roles are clerk, reviewer, leader, supervisor, designer, "
                              "admin")
    assert err.value.details["valid"] == list(ROLES)
    with pytest.raises(NotFound):
        ident.user("x1")  # nothing was created
    view = ident.add_user("x1", "password-1", roles=["admin", "clerk", "clerk"])
    assert view.roles == ("clerk", "admin")
    assert ident.set_roles("x1", ["supervisor", "admin"]).roles == ("supervisor", "admin")
    with pytest.raises(InvalidInput, match="unknown roles 'root', 'sudo'"):
        ident.set_roles("x1", ["root", "sudo"])
    assert ident.user("x1").roles == ("supervisor", "admin")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"user_id": "bad id", "password": "password-1"}, "user id 'bad id' is not valid"),
    ({"user_id": "a,b", "password": "password-1"}, "user id 'a,b' is not valid"),
    ({"user_id": "", "password": "password-1"}, "user id '' is not valid"),
    ({"user_id": "x" * 65, "password": "password-1"}, "is not valid"),
    ({"user_id": "ok", "password": ""}, "a password is required"),
    ({"user_id": "ok", "password": "short7!"}, "the password is too short: at least 8 characters"),
    ({"user_id": "ok", "password": " padded password "}, "must not begin or end with white space"),
    ({"user_id": "ok", "password": "password-1", "email": "not-an-address"}, "is not an e-mail address"),
    ({"user_id": "ok", "password": "password-1", "groups": ["nowhere"]}, "unknown group nowhere: add it first"),
    ({"user_id": "ok", "password": "password-1", "groups": ["bad group"]}, "group id 'bad group' is not valid"),
])
def test_bad_input_is_refused_and_changes_nothing(ident, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        ident.add_user(**kwargs)
    assert ident.users() == []
    assert [g.id for g in ident.groups()] == ["fire", "market"]


def test_duplicates_and_unknown_ids(ident):
    ident.add_user("zhang", "password-1")
    with pytest.raises(Conflict, match="user 'zhang' already exists"):
        ident.add_user("zhang", "password-2")
    with pytest.raises(Conflict, match="group 'market' already exists"):
        ident.add_group("market", "again")
    with pytest.raises(NotFound, match="user 'nobody' does not exist"):
        ident.set_password("nobody", "password-1")
    with pytest.raises(NotFound, match="group 'nowhere' does not exist"):
        ident.add_membership("zhang", "nowhere")
    with pytest.raises(NotFound, match="user 'nobody' does not exist"):
        ident.add_membership("nobody", "market")
    with pytest.raises(InvalidInput, match="a name is required"):
        ident.add_group("legal", " ")
    with pytest.raises(InvalidInput, match="group type 'Department!' is not valid"):
        ident.add_group("legal", "法制科", type="Department!")


def test_groups_created_on_the_fly_only_when_asked(ident):
    view = ident.add_user("chen", "password-1", groups=["environment", "market"], create_groups=True)
    assert view.groups == ("environment", "market")
    assert {g.id: (g.name, g.type, g.members) for g in ident.groups()} == {
        "environment": ("environment", "department", 1), "fire": ("消防救援大队", "department", 0),
        "market": ("市场监管局", "department", 1)}


def test_memberships_and_lists(ident):
    ident.add_user("u1", "password-1", groups=["market"], roles=["reviewer"])
    ident.add_user("u2", "password-1", roles=["supervisor"])
    assert ident.add_membership("u2", "fire").groups == ("fire",)
    assert ident.add_membership("u2", "fire").groups == ("fire",)  # idempotent
    assert ident.add_membership("u2", "market").groups == ("fire", "market")
    assert [u.id for u in ident.users(group="market")] == ["u1", "u2"]
    assert [u.id for u in ident.users(role="supervisor")] == ["u2"]
    assert ident.remove_membership("u2", "market").groups == ("fire",)
    assert ident.remove_membership("u2", "market").groups == ("fire",)
    ident.deactivate("u1")
    assert [u.id for u in ident.users(active=True)] == ["u2"]
    assert ident.group("market").members == 1


def test_the_last_active_admin_stays(ident):
    ident.add_user("root1", "password-1", roles=["admin"])
    with pytest.raises(Conflict, match="'root1' is the last active admin"):
        ident.deactivate("root1")
    with pytest.raises(Conflict, match="cannot take the admin role away"):
        ident.set_roles("root1", ["supervisor"])
    ident.add_user("root2", "password-1", roles=["admin"])
    assert ident.deactivate("root1").active is False


def test_every_change_is_in_the_history_without_secrets(engine, ident):
    ident.add_user("hist", "very-secret-1", name="史", email="h@example.gov.cn", phone="13800138000",
                   groups=["market"], roles=["clerk"], actor="admin")
    ident.set_password("hist", "very-secret-2", actor="admin")
    ident.set_roles("hist", ["reviewer"], actor="boss")
    ident.add_membership("hist", "fire", actor="boss")
    ident.remove_membership("hist", "market", actor="boss")
    ident.deactivate("hist", actor="boss")
    events = [e for e in engine.history.events() if e.event_type.startswith(("User", "Membership", "Group"))]
    assert [(e.event_type, e.actor) for e in events] == [
        ("GroupCreated", None), ("GroupCreated", None), ("UserCreated", "admin"), ("UserPasswordChanged", "admin"),
        ("UserRolesChanged", "boss"), ("MembershipCreated", "boss"), ("MembershipDeleted", "boss"),
        ("UserDeactivated", "boss")]
    assert events[4].payload == {"userId": "hist", "before": ["clerk"], "after": ["reviewer"]}
    text = repr([e.payload for e in engine.history.events()])
    for secret in ("very-secret", "argon2", "13800138000", "h@example"):
        assert secret not in text
    assert all(r.ok for r in engine.history.verify())


def test_access_of_a_user(ident):
    ident.add_user("rev", "password-1", groups=["market", "fire"], roles=["reviewer"])
    access = ident.access("rev")
    assert access == Access("rev", ("fire", "market"), ("reviewer",))
    assert access.task_scope == ("rev", ("fire", "market"))
    ident.deactivate("rev")
    with pytest.raises(Forbidden, match="user rev is deactivated"):
        ident.access("rev")
    with pytest.raises(NotFound):
        ident.access("ghost")


def test_a_login_reads_the_user_in_one_statement_and_requests_reuse_it_briefly(engine, ident):
    from sqlalchemy import event

    from engine.identity.service import IdentityService

    ident.add_user("one", "password-1", groups=["g1", "g2"], roles=["reviewer", "leader"], create_groups=True)
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    def selects() -> int:
        return sum(1 for s in seen if s.lstrip().upper().startswith("SELECT"))

    event.listen(engine.db, "before_cursor_execute", listener)
    try:
        user = ident.authenticate("one", "password-1")
        assert selects() == 1  # user, groups, roles and hash in one statement
        who = ident.access("one")
        assert ident.authenticate("one", "password-1") is not None
        assert selects() == 1  # the next requests within identity_cache_seconds read nothing
        ident.set_roles("one", ["reviewer"])  # a change through this process applies at once
        assert ident.access("one").roles == ("reviewer",)
        uncached = IdentityService(engine.executor, cache_seconds=0)
        before = selects()
        uncached.access("one")
        uncached.access("one")
        assert selects() == before + 2
    finally:
        event.remove(engine.db, "before_cursor_execute", listener)
    assert user is not None and user.groups == ("g1", "g2") and user.roles == ("reviewer", "leader")
    assert who.groups == ("g1", "g2") and set(who.roles) == {"reviewer", "leader"}


def test_a_change_made_by_another_process_applies_within_the_cache_interval(engine, ident):
    from engine.identity.service import IdentityService

    ident.add_user("two", "password-1", roles=["reviewer"])
    here = IdentityService(engine.executor, cache_seconds=0.3)
    elsewhere = IdentityService(engine.executor)  # another process's service: its own cache
    assert here.authenticate("two", "password-1") is not None
    elsewhere.deactivate("two")
    time.sleep(0.35)
    assert here.authenticate("two", "password-1") is None
    with pytest.raises(Forbidden):
        here.access("two")
