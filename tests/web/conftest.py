"""Web pages on a real database: users of each role, two departments, cases of tests/fixtures/web/web_review.bpmn.

``clock`` (tests/conftest.py) is Monday 2026-03-02 09:30 in Beijing."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "web" / "web_review.bpmn"
PASSWORD = "password-1"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def web(engine, clock, tmp_path):  # type: ignore[no-untyped-def]
    engine.repository.deploy([(FIXTURE.name, FIXTURE.read_bytes())])
    ident = engine.identity
    ident.add_group("market", "市场监管局")
    ident.add_group("fire", "消防救援大队")
    ident.add_group("window", "综合窗口")
    ident.add_user("m1", PASSWORD, name="市场一", groups=["market"], roles=["reviewer"])
    ident.add_user("m2", PASSWORD, name="市场二", groups=["market"], roles=["reviewer"])
    ident.add_user("f1", PASSWORD, name="消防一", groups=["fire"], roles=["reviewer"])
    ident.add_user("c1", PASSWORD, name="窗口一", groups=["window"], roles=["clerk"])
    ident.add_user("lead", PASSWORD, groups=["market"], roles=["leader"])
    ident.add_user("boss", PASSWORD, roles=["supervisor"])
    ident.add_user("root", PASSWORD, roles=["admin"])
    ident.add_user("nobody", PASSWORD)
    return engine


def start_case(engine, clock, key: str, applicant: str = "示例企业", *, due_in: timedelta = timedelta(days=10),  # type: ignore[no-untyped-def]
               follow_up_in: timedelta = timedelta(days=7)):
    now = clock.now()
    return engine.runtime.start("web_review", business_key=key, variables={
        "applicant": applicant, "marketDue": (now + due_in).isoformat(),
        "marketFollowUp": (now + follow_up_in).isoformat()})


@pytest.fixture
def app(web, tmp_path):  # type: ignore[no-untyped-def]
    from web.app import create_app

    return create_app(web, config={"TESTING": True, "SECRET_KEY": "test-secret-key-" + "x" * 32,
                                     "DATA_DIR": str(tmp_path)})


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


def token(client, path: str = "/login") -> str:  # type: ignore[no-untyped-def]
    page = client.get(path)
    found = TOKEN.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def login(client, user: str, password: str = PASSWORD, **extra):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"username": user, "password": password, "csrf_token": token(client), **extra})


def post(client, path: str, data: dict | None = None, *, page: str = "/inbox", **kwargs):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": token(client, page), **(data or {})}, **kwargs)
