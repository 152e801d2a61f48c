"""办件查询 /status (public): the right three facts for the right phone digits, one identical answer for a wrong
phone and an unknown number, no internal names or other variables, rate-limited per client address."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.web.case_support import at, start_case, web_app  # noqa: F401 - fixtures
from web.ui.status import NOT_FOUND, RateLimiter

KEY = "GD-20260401-0001"


def _result(html: str) -> dict[str, str]:
    return {k: unescape(v).strip() for k, v in re.findall(r'<dd id="status-(\w+)">(.*?)</dd>', html, re.S)}


def _message(html: str) -> str:
    m = re.search(r'id="status-message">(.*?)</div>', html, re.S)
    return unescape(m.group(1)) if m else ""


def test_status_shows_stage_promised_date_and_delivery_only(engine, clock, web_app):
    start_case(engine, clock, KEY)
    client = web_app.test_client()
    assert client.get("/status").status_code == 200  # public: no login
    r = client.post("/status", data={"business_key": KEY, "phone_last4": "1234"})
    assert r.status_code == 200
    assert _result(r.text) == {"stage": "部门审查", "promised": "2026年04月16日", "delivery": "邮寄送达"}
    for secret in ("消防内部审查", "人防内部审查", "review_fire", "fire", "张三", "138", "applicantPhone",
                   "rev_market", "case_view", "超期"):
        assert secret not in r.text, secret


def test_wrong_phone_and_unknown_number_get_the_same_answer(engine, clock, web_app):
    start_case(engine, clock, KEY)
    start_case(engine, clock, "GD-NO-PHONE", applicantPhone=None)
    client = web_app.test_client()
    answers = [client.post("/status", data={"business_key": k, "phone_last4": p})
               for k, p in ((KEY, "0000"), ("GD-20990101-9999", "1234"), ("GD-NO-PHONE", "1234"))]
    assert {r.status_code for r in answers} == {404}
    assert {_message(r.text) for r in answers} == {NOT_FOUND}
    # the pages differ only in the echoed number the applicant typed
    assert len({r.text.replace(k, "") for r, k in zip(answers, (KEY, "GD-20990101-9999", "GD-NO-PHONE"))}) == 1
    assert client.post("/status", data={"business_key": KEY, "phone_last4": "12a4"}).status_code == 400


def test_stage_follows_the_case(engine, clock, web_app):
    case, tasks = start_case(engine, clock, KEY)
    client = web_app.test_client()

    def stage() -> str:
        return _result(client.post("/status", data={"business_key": KEY, "phone_last4": "1234"}).text)["stage"]

    engine.cases.suspend(case.id, reason="补交材料", kind="supplement", actor="boss")
    assert stage() == "暂停计时（补正）"
    engine.cases.resume(case.id, actor="boss")
    for t in engine.tasks.list(instance_id=case.id):
        engine.tasks.complete(t.id, "root")
    assert stage() == "审批决定"
    (decide,) = engine.tasks.list(instance_id=case.id)
    engine.tasks.complete(decide.id, "root")
    assert stage() == "已办结"


def test_lookups_are_rate_limited_per_client_address(engine, clock, engine_app_limit):
    start_case(engine, clock, KEY)
    client = engine_app_limit.test_client()
    codes = [client.post("/status", data={"business_key": KEY, "phone_last4": "0000"},
                         environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code for _ in range(3)]
    assert codes == [404, 404, 404]
    r = client.post("/status", data={"business_key": KEY, "phone_last4": "1234"},
                    environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert r.status_code == 429 and "查询过于频繁" in r.text and "部门审查" not in r.text
    assert int(r.headers["Retry-After"]) == 600
    r = client.post("/status", data={"business_key": KEY, "phone_last4": "1234"},
                    environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert r.status_code == 200  # another address has its own budget


@pytest.fixture
def engine_app_limit(engine, web_app):  # type: ignore[no-untyped-def]
    from web.app import create_app

    return create_app(engine, config={"REST_AUTH": False, "SECRET_KEY": "test-secret", "TESTING": True,
                                      "WTF_CSRF_ENABLED": False, "STATUS_RATE_LIMIT": 3})


def test_rate_limiter_window_slides():
    lim = RateLimiter(2, 10)
    assert [lim.hit("a", t) for t in (0, 1, 2, 9.9)] == [True, True, False, False]
    assert lim.hit("a", 10.5) is True  # the hit at 0 left the window
    assert lim.hit("b", 3) is True
