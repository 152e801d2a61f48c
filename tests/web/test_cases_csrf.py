"""CSRF on the case view's action forms and the status form (Flask-WTF, enabled as in production)."""

from __future__ import annotations

import re

import pytest

from tests.web.case_support import PASSWORD, at, start_case, web_app  # noqa: F401 - fixtures

KEY = "GD-20260401-0001"


@pytest.fixture
def csrf_app(engine, web_app):  # type: ignore[no-untyped-def]
    from web.app import create_app

    return create_app(engine, config={"REST_AUTH": False, "SECRET_KEY": "test-secret", "TESTING": True})


def _token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the form"
    return m.group(1)


def test_action_forms_need_the_csrf_token(engine, clock, csrf_app):
    case, _ = start_case(engine, clock, KEY)
    clock.set(at(2026, 4, 2, 10, 0))
    client = csrf_app.test_client()
    token = _token(client.get("/login").text)
    assert client.post("/login", data={"username": "boss", "password": PASSWORD, "csrf_token": token}).status_code == 302
    page = client.get(f"/cases/{KEY}").text
    r = client.post(f"/cases/{KEY}/suspend", data={"kind": "other", "reason": "x"})
    assert r.status_code == 400
    r = client.post(f"/cases/{KEY}/suspend", data={"kind": "other", "reason": "x", "csrf_token": "forged"})
    assert r.status_code == 400
    assert engine.cases.clock(case.id).state == "RUNNING"
    r = client.post(f"/cases/{KEY}/suspend", data={"kind": "other", "reason": "x", "csrf_token": _token(page)})
    assert r.status_code == 303 and engine.cases.clock(case.id).state == "SUSPENDED"


def test_status_form_needs_the_csrf_token(engine, clock, csrf_app):
    start_case(engine, clock, KEY)
    client = csrf_app.test_client()
    form = client.get("/status").text
    assert client.post("/status", data={"business_key": KEY, "phone_last4": "1234"}).status_code == 400
    r = client.post("/status", data={"business_key": KEY, "phone_last4": "1234", "csrf_token": _token(form)})
    assert r.status_code == 200 and "邮寄送达" in r.text
