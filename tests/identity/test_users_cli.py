"""``onewindow users`` and ``onewindow groups`` end to end through click's runner on a real database."""

from __future__ import annotations

import json
import subprocess

import pytest

from engine.bootstrap import build_engine
from engine.settings import Settings


@pytest.fixture
def ow(database_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from engine.cli import cli

    monkeypatch.setenv("ONEWINDOW_DATABASE_URL", database_url)
    monkeypatch.delenv("ONEWINDOW_NOW", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str, ok: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
        result = runner.invoke(cli, list(args), catch_exceptions=False, input=input)
        proc = subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc
    return run


@pytest.fixture
def db(database_url):  # type: ignore[no-untyped-def]
    engine = build_engine(Settings(database_url=database_url))
    yield engine
    engine.close()


def test_groups_then_users_then_login(ow, db):
    # the commands run in other processes; this process checks logins without its short login cache
    # (identity_cache_seconds: tests/identity/test_identity.py) to see each change at once
    db.identity.cache_seconds = 0
    assert ow("groups", "add", "market", "--name", "市场监管局").stdout == \
        "added group market  市场监管局  (department)\n"
    added = ow("users", "add", "wang", "--password", "s3cret-pass", "--name", "王五", "--group", "market",
               "--role", "reviewer", "--role", "leader")
    assert added.stdout == "added wang  王五  groups: market  roles: reviewer, leader\n"
    assert "s3cret-pass" not in added.stdout + added.stderr
    listed = json.loads(ow("users", "list", "--json").stdout)
    assert listed == [{"id": "wang", "name": "王五", "email": None, "phone": None, "groups": ["market"],
                       "roles": ["reviewer", "leader"], "active": True, "created": listed[0]["created"]}]
    assert json.loads(ow("groups", "list", "--json").stdout) == [
        {"id": "market", "name": "市场监管局", "type": "department", "members": 1}]
    assert ow("groups", "list").stdout == "market  市场监管局  (department, 1 member)\n"
    assert db.identity.authenticate("wang", "s3cret-pass").roles == ("reviewer", "leader")

    assert ow("users", "passwd", "wang", "--password", "new-s3cret-pass").stdout == "password of wang changed\n"
    assert db.identity.authenticate("wang", "s3cret-pass") is None
    assert db.identity.authenticate("wang", "new-s3cret-pass") is not None
    events = [e for e in db.history.events() if e.event_type.startswith(("User", "Group"))]
    assert [e.event_type for e in events] == ["GroupCreated", "UserCreated", "UserPasswordChanged"]
    assert all(e.actor and e.actor.startswith("cli") for e in events)
    assert "s3cret" not in repr([e.payload for e in db.history.events()])


def test_password_prompted_when_left_out(ow, db):
    ow("users", "add", "li", "--role", "clerk", input="prompted-pass\nprompted-pass\n")
    assert db.identity.authenticate("li", "prompted-pass") is not None
    mismatch = ow("users", "passwd", "li", input="first-pass-1\nsecond-pass-2\n" * 3, ok=False)
    assert mismatch.returncode != 0
    assert db.identity.authenticate("li", "prompted-pass") is not None


def test_unknown_groups_are_refused_unless_created_on_the_fly(ow, db):
    refused = ow("users", "add", "chen", "--password", "s3cret-pass", "--group", "fire", ok=False)
    assert refused.stderr == "error: unknown group fire: add it first (onewindow groups add ID --name NAME)\n"
    assert ow("users", "list").stdout == "no users\n"
    ow("users", "add", "chen", "--password", "s3cret-pass", "--group", "fire", "--create-groups",
       "--actor", "admin")
    assert ow("groups", "list").stdout == "fire  fire  (department, 1 member)\n"
    assert [e.actor for e in db.history.events() if e.event_type in ("GroupCreated", "UserCreated")] == \
        ["admin", "admin"]


def test_members_roles_and_deactivation(ow, db):
    db.identity.cache_seconds = 0  # the commands run in other processes (see test_groups_then_users_then_login)
    ow("groups", "add", "window", "--name", "综合窗口")
    ow("users", "add", "zhao", "--password", "s3cret-pass", "--role", "clerk")
    assert ow("groups", "add-member", "window", "zhao").stdout == \
        "zhao  groups: window  roles: clerk\n"
    assert ow("users", "roles", "zhao", "--role", "supervisor").stdout == "zhao  groups: window  roles: supervisor\n"
    assert json.loads(ow("users", "show", "zhao", "--json").stdout)["roles"] == ["supervisor"]
    assert ow("groups", "remove-member", "window", "zhao").stdout == "zhao  groups: -  roles: supervisor\n"
    assert ow("users", "deactivate", "zhao").stdout == "zhao  groups: -  roles: supervisor  (deactivated)\n"
    assert db.identity.authenticate("zhao", "s3cret-pass") is None
    ow("users", "activate", "zhao")
    assert db.identity.authenticate("zhao", "s3cret-pass") is not None
    assert ow("users", "list", "--role", "supervisor").stdout == "zhao  groups: -  roles: supervisor\n"


@pytest.mark.parametrize(("args", "message"), [
    (("users", "add", "u1", "--password", "short"), "the password is too short: at least 8 characters"),
    (("users", "add", "u1", "--password", "s3cret-pass", "--role", "boss"),
     "unknown role 'boss': the roles are clerk, reviewer, leader, supervisor, designer, admin"),
    (("users", "add", "bad name", "--password", "s3cret-pass"), "user id 'bad name' is not valid"),
    (("users", "passwd", "ghost", "--password", "s3cret-pass"), "user 'ghost' does not exist"),
    (("users", "show", "ghost"), "user 'ghost' does not exist"),
    (("groups", "add", "g1", "--name", ""), "a name is required"),
    (("groups", "add-member", "nowhere", "ghost"), "user 'ghost' does not exist"),
])
def test_errors_print_one_line_and_exit_non_zero(ow, args, message):
    proc = ow(*args, ok=False)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert "s3cret-pass" not in proc.stderr + proc.stdout


def test_duplicate_user_is_one_line(ow):
    ow("users", "add", "dup", "--password", "s3cret-pass")
    proc = ow("users", "add", "dup", "--password", "s3cret-pass", ok=False)
    assert proc.stderr == "error: user 'dup' already exists\n"
