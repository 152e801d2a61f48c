"""Login, logout, rate limiting, session expiry, CSRF, language switch, error pages."""

from __future__ import annotations

import time

from tests.web.conftest import PASSWORD, login, post, token


def test_login_ok_redirects_to_the_requested_local_page(client):
    r = client.get("/inbox?tab=done")
    assert r.status_code == 302 and "/login?next=" in r.headers["Location"]
    r = login(client, "m1", next="/inbox?tab=done")
    assert r.status_code == 302 and r.headers["Location"] == "/inbox?tab=done"
    page = client.get("/inbox").get_data(as_text=True)
    assert "市场一" in page and "审批人员" in page and "市场监管局" in page


def test_login_never_redirects_off_site(client):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = login(client, "m1", next=target)
        assert r.headers["Location"] == "/inbox", target
        post(client, "/logout")


def test_wrong_password_is_refused_with_a_message(client):
    r = login(client, "m1", "wrong-password")
    assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
    assert client.get("/inbox").status_code == 302


def test_five_failures_lock_the_login_name_even_for_the_right_password(client):
    for _ in range(5):
        assert login(client, "m1", "wrong-password").status_code == 401
    r = login(client, "m1", PASSWORD)
    assert r.status_code == 429
    assert "登录失败次数过多" in r.get_data(as_text=True) and "15 分钟" in r.get_data(as_text=True)
    # another login name from the same address is not locked yet (the address budget is larger)
    assert login(client, "f1").status_code == 302


def test_the_lockout_ends(app, client):
    now = [1000.0]
    app.extensions["onewindow_login_limiter"].clock = lambda: now[0]
    for _ in range(5):
        login(client, "m1", "bad-password")
    assert login(client, "m1").status_code == 429
    now[0] += 15 * 60 + 1
    assert login(client, "m1").status_code == 302


def test_logout_ends_the_session(client):
    login(client, "m1")
    assert client.get("/inbox").status_code == 200
    r = post(client, "/logout")
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert client.get("/inbox").status_code == 302


def test_an_idle_session_expires(app, client):
    login(client, "m1")
    assert client.get("/inbox").status_code == 200
    with client.session_transaction() as s:
        s["seen"] = time.time() - app.config["SESSION_IDLE_MINUTES"] * 60 - 5
    r = client.get("/inbox")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert "会话已超时" in client.get("/login").get_data(as_text=True)
    assert client.get("/inbox").status_code == 302


def test_a_password_change_ends_other_sessions(web, clock, client):
    from datetime import timedelta

    login(client, "m1")
    clock.set(clock.now() + timedelta(seconds=1))
    web.identity.set_password("m1", "another-pass-2")
    assert client.get("/inbox").status_code == 302


def test_session_cookie_flags(client):
    r = client.get("/login")
    cookie = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_post_without_csrf_token_is_refused(client):
    r = client.post("/login", data={"username": "m1", "password": PASSWORD})
    assert r.status_code == 400 and "安全校验码" in r.get_data(as_text=True)
    login(client, "m1")
    assert client.post("/logout").status_code == 400
    assert client.get("/inbox").status_code == 200


def test_rest_api_is_exempt_from_csrf(app, web):
    import base64

    c = app.test_client()
    auth = "Basic " + base64.b64encode(f"root:{PASSWORD}".encode()).decode()
    r = c.post("/engine-rest/process-definition/key/web_review/start", json={"businessKey": "REST-1", "variables": {
        "marketDue": {"value": "P10D"}, "marketFollowUp": {"value": "P7D"}}},
               headers={"Authorization": auth})
    assert r.status_code == 200, r.get_data(as_text=True)


def test_chinese_by_default_english_after_switching(client):
    page = client.get("/login").get_data(as_text=True)
    assert "用户名" in page and 'lang="zh-CN"' in page
    r = client.post("/lang", data={"lang": "en", "next": "/login", "csrf_token": token(client)})
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "User name" in page and "Password" in page and 'lang="en"' in page
    login(client, "m1")  # the choice survives logging in
    page = client.get("/inbox").get_data(as_text=True)
    assert "My tasks" in page and "Reviewer" in page
    client.post("/lang", data={"lang": "zh_CN", "csrf_token": token(client, "/inbox")})
    assert "我的待办" in client.get("/inbox").get_data(as_text=True)


def test_unknown_page_is_404_and_rest_keeps_its_own_errors(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "页面不存在" in r.get_data(as_text=True)
    r = client.get("/engine-rest/no-such-resource")
    assert r.status_code == 404 and r.is_json


def test_secret_key_is_kept_in_the_data_folder(web, tmp_path, monkeypatch):
    from web.app import create_app

    monkeypatch.delenv("ONEWINDOW_SECRET_KEY", raising=False)
    monkeypatch.setenv("ONEWINDOW_DATA_DIR", str(tmp_path / "data"))
    first = create_app(web).config["SECRET_KEY"]
    assert len(first) >= 32 and create_app(web).config["SECRET_KEY"] == first
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("ONEWINDOW_SECRET_KEY", "from-the-environment-" + "k" * 20)
    assert create_app(web).config["SECRET_KEY"].startswith("from-the-environment-")
