"""/login, /logout, the language switch (/lang) and / (to the inbox).

Failed logins are rate-limited in the process (``LoginLimiter``): ``LOGIN_MAX_FAILURES`` (5) failures of one login
name within ``LOGIN_FAILURE_WINDOW`` seconds (300) lock that name for ``LOGIN_LOCKOUT`` seconds (900); a client
address is locked likewise after ``LOGIN_MAX_FAILURES_PER_ADDRESS`` (20) failures, whatever the names tried (one
office behind one NAT address shares that budget, hence the higher number). While locked, the password is not
even checked. The counters live in the memory of one server process: with several processes each counts on its
own (an attacker gets at most that many times the budget), and a restart forgets them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from web.ui.base import LANGUAGES, engine, page_blueprint, safe_next, start_session

bp = page_blueprint("auth", __name__)


class LoginLimiter:
    """Failures per key (``user:<name>``, ``addr:<ip>``) in a sliding window; a key over its limit is locked."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._locked: dict[str, float] = {}
        self._lock = threading.Lock()

    def locked_for(self, key: str) -> float:
        """Seconds left of the key's lockout (0: not locked)."""
        with self._lock:
            until = self._locked.get(key)
            if until is None:
                return 0.0
            left = until - self.clock()
            if left <= 0:
                del self._locked[key]
                self._failures.pop(key, None)
                return 0.0
            return left

    def fail(self, key: str, limit: int, window: float, lockout: float) -> None:
        now = self.clock()
        with self._lock:
            q = self._failures.setdefault(key, deque())
            q.append(now)
            while q and q[0] <= now - window:
                q.popleft()
            if len(q) >= limit:
                self._locked[key] = now + lockout
            if len(self._failures) > 100_000:  # bounded memory under a spray of names
                for k in [k for k, v in self._failures.items() if not v or v[-1] <= now - window][:50_000]:
                    del self._failures[k]

    def succeed(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


def init_app(app: Any) -> None:
    app.extensions["onewindow_login_limiter"] = LoginLimiter()


def limiter() -> LoginLimiter:
    return current_app.extensions["onewindow_login_limiter"]


def _limits() -> tuple[int, int, float, float]:
    c = current_app.config
    return (int(c.get("LOGIN_MAX_FAILURES", 5)), int(c.get("LOGIN_MAX_FAILURES_PER_ADDRESS", 20)),
            float(c.get("LOGIN_FAILURE_WINDOW", 300)), float(c.get("LOGIN_LOCKOUT", 900)))


@bp.route("/")
def index() -> Any:
    return redirect(url_for("inbox.inbox") if current_user.is_authenticated else url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(target)
        expired = session.pop("expired", False)
        return render_template("login.html", next=target, expired=expired, user_id="")
    user_id = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    per_user, per_addr, window, lockout = _limits()
    keys = [f"user:{user_id.lower()}", f"addr:{request.remote_addr or '?'}"]
    lim = limiter()
    left = max(lim.locked_for(k) for k in keys)
    if left > 0:
        minutes = max(1, int((left + 59) // 60))
        return render_template("login.html", next=target, user_id=user_id, error=_(
            "登录失败次数过多，已暂时锁定。请 %(minutes)d 分钟后再试，或联系系统管理员。", minutes=minutes)), 429
    view = engine().identity.authenticate(user_id, password) if user_id and password else None
    if view is None:
        lim.fail(keys[0], per_user, window, lockout)
        lim.fail(keys[1], per_addr, window, lockout)
        return render_template("login.html", next=target, user_id=user_id,
                               error=_("用户名或密码错误。")), 401
    lim.succeed(keys[0])
    start_session(view)
    return redirect(target)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("您已安全退出。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/lang", methods=["POST"])
def set_language() -> Any:
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next"), url_for("auth.index")))
