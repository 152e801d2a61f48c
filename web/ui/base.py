"""App-wide set-up of the pages: sessions (Flask-Login), CSRF (Flask-WTF), i18n (Flask-Babel), the secret key,
the base template's context and the 403/404 pages. Page modules build their blueprints with ``page_blueprint``
and protect views with ``login_required``; ``access()`` is the signed-in user's ``engine.identity.Access``.

Settings (``app.config``, or the environment when not given):

* ``SECRET_KEY``: ``ONEWINDOW_SECRET_KEY``; when unset, a random key kept in ``<data folder>/secret_key`` (created
  once, mode 0600; the data folder is ``ONEWINDOW_DATA_DIR``, else the SQLite database's folder, else
  ``onewindow-data``), so sessions survive a restart and no key is ever written into the code.
* ``SESSION_IDLE_MINUTES``: ``ONEWINDOW_SESSION_IDLE_MINUTES`` (30): a session unused that long is over.
* ``LOGIN_MAX_FAILURES`` (5) / ``LOGIN_FAILURE_WINDOW`` (300 s) / ``LOGIN_LOCKOUT`` (900 s) per login name, and
  ``LOGIN_MAX_FAILURES_PER_ADDRESS`` (20) per client address (see ``web.ui.auth``).
"""

from __future__ import annotations

import os
import secrets
import time
from functools import wraps
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import Babel, lazy_gettext as _l
from flask_login import LoginManager, current_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from engine.errors import Forbidden, NotFound

LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT_LOCALE = "zh_CN"
ROLE_LABELS = {"clerk": _l("综合窗口"), "reviewer": _l("审批人员"), "leader": _l("部门负责人"),
               "supervisor": _l("效能监察"), "designer": _l("流程设计"), "admin": _l("系统管理员")}

csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


class SessionUser:
    """The signed-in user of a request (Flask-Login's user): the engine's ``UserView`` and ``Access``."""

    def __init__(self, view: Any, access: Any) -> None:
        self.view = view
        self.access = access
        self.id = view.id
        self.is_authenticated = True
        self.is_active = bool(view.active)
        self.is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def name(self) -> str:
        return self.view.name or self.view.id


def engine() -> Any:
    return current_app.extensions["onewindow"]


def access() -> Any:
    """The signed-in user's ``Access`` (only inside ``login_required`` views)."""
    return current_user.access


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Anonymous visitors go to /login?next=<this page>."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


def require_capability(capability: str) -> None:
    """403 unless the signed-in user's roles give ``capability`` (``Access.may``)."""
    if not access().may(capability):
        abort(403)


def safe_next(target: str | None, default: str = "/inbox") -> str:
    """Only a local path (no scheme, no host, no '//' or backslash tricks) may be a redirect target."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def page_blueprint(name: str, import_name: str, **kwargs: Any) -> Blueprint:
    """A blueprint whose views turn the engine's Forbidden into the 403 page and NotFound into the 404 page."""
    bp = Blueprint(name, import_name, **kwargs)
    bp.register_error_handler(Forbidden, lambda exc: error_page(403, str(exc)))
    bp.register_error_handler(NotFound, lambda exc: error_page(404, str(exc)))
    return bp


def error_page(status: int, detail: str | None = None) -> Any:
    return render_template(f"errors/{status}.html", detail=detail), status


def data_dir(app: Flask) -> Path:
    """``app.config["DATA_DIR"]``, else ``ONEWINDOW_DATA_DIR``, else the SQLite database's folder, else
    ``onewindow-data``: where the secret key and uploaded materials are kept."""
    if app.config.get("DATA_DIR"):
        return Path(app.config["DATA_DIR"])
    if os.environ.get("ONEWINDOW_DATA_DIR"):
        return Path(os.environ["ONEWINDOW_DATA_DIR"])
    eng = app.extensions.get("onewindow")
    url = str(getattr(getattr(getattr(eng, "services", None), "settings", None), "database_url", "") or "")
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url[len("sqlite:///"):]).parent
    from engine.settings import DEFAULT_DATA_DIR

    return Path(DEFAULT_DATA_DIR)


def secret_key(app: Flask) -> str:
    """``ONEWINDOW_SECRET_KEY``, else the key kept in the data folder (made once, readable by the owner only)."""
    if os.environ.get("ONEWINDOW_SECRET_KEY"):
        return os.environ["ONEWINDOW_SECRET_KEY"]
    folder = data_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= 32:
            return key
        raise RuntimeError(f"{path} holds no usable secret key: delete it to have a new one made") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    return key


def select_locale() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LOCALE


def init_app(app: Flask) -> None:
    cfg = app.config
    if not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = secret_key(app)
    idle = float(cfg.get("SESSION_IDLE_MINUTES") or os.environ.get("ONEWINDOW_SESSION_IDLE_MINUTES") or 30)
    cfg["SESSION_IDLE_MINUTES"] = idle
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    if not cfg.get("SESSION_COOKIE_SAMESITE"):
        cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    if cfg.get("SESSION_COOKIE_NAME") in (None, "session"):
        cfg["SESSION_COOKIE_NAME"] = "onewindow_session"
    cfg["PERMANENT_SESSION_LIFETIME"] = int(idle * 60)
    cfg.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session (no lost forms after 1 h)
    cfg.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    cfg.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).resolve().parent.parent / "translations"))

    # CSRF on every page's POST; the REST API (/engine-rest and its nested blueprints) authenticates every request
    # with HTTP Basic, sends no cookies and is exempt
    cfg["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    app.before_request(_csrf_check)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.user_loader(_load_user)
    app.before_request(_idle_timeout)
    app.context_processor(_template_context)
    app.jinja_env.filters["local_time"] = _local_time
    app.jinja_env.add_extension("jinja2.ext.do")
    _install_error_pages(app)


def _csrf_check() -> None:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if _is_rest():
        return
    csrf.protect(apply_exemptions=True)  # only POST/PUT/PATCH/DELETE are checked (WTF_CSRF_METHODS)


def _load_user(user_id: str) -> SessionUser | None:
    from engine.identity import Access

    try:
        view = engine().identity.session_user(user_id)
    except NotFound:
        return None
    if not view.active:
        return None
    # a password change ends the other sessions of the user
    if session.get("pwc") != _stamp(view.password_changed):
        return None
    return SessionUser(view, Access.from_user(view))


def _stamp(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def start_session(view: Any) -> None:
    """A fresh session for a user who just proved who they are (no session fixation)."""
    from flask_login import login_user

    from engine.identity import Access

    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session.permanent = True
    session["pwc"] = _stamp(view.password_changed)
    session["seen"] = time.time()
    login_user(SessionUser(view, Access.from_user(view)))


def _is_rest() -> bool:
    return (request.blueprint or "").split(".")[0] == "engine_rest" or request.path.startswith("/engine-rest/")


def _idle_timeout() -> Any:
    if request.endpoint == "static" or _is_rest():  # REST is stateless: no session, no cookie
        return None
    now = time.time()
    seen = session.get("seen")
    if "_user_id" in session:
        idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
        if seen is None or now - float(seen) > idle:
            lang = session.get("lang")
            logout_user()
            session.clear()
            if lang:
                session["lang"] = lang
            session["expired"] = True
            if request.method == "GET":
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            return redirect(url_for("auth.login"))
    session["seen"] = now
    return None


def _local_time(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    tz = engine().services.tz
    return value.astimezone(tz).strftime(fmt)


def _template_context() -> dict[str, Any]:
    ctx: dict[str, Any] = {"languages": LANGUAGES, "current_locale": select_locale(), "role_labels": ROLE_LABELS}
    if current_user.is_authenticated:
        if "departments" not in g:
            names = {gr.id: gr.name for gr in engine().identity.groups()} if current_user.view.groups else {}
            g.departments = [names.get(x) or x for x in current_user.view.groups]
        ctx["departments"] = g.departments
    return ctx


def _install_error_pages(app: Flask) -> None:
    """403/404 pages for the pages; whatever the REST API answers under /engine-rest stays as it is."""
    from werkzeug.exceptions import HTTPException

    previous: dict[int, Any] = {}
    for code in (403, 404, 405):
        handlers = app.error_handler_spec.get(None, {}).get(code, {})
        previous[code] = next(iter(handlers.values()), None)

    def handler(exc: HTTPException) -> Any:
        code = exc.code or 500
        if request.path.startswith("/engine-rest"):
            prev = previous.get(code)
            return prev(exc) if prev is not None else exc
        if code in (403, 404):
            return error_page(code, exc.description if code == 403 and exc.description and
                              not exc.description.startswith("You don't have") else None)
        return exc

    for code in (403, 404, 405):
        app.register_error_handler(code, handler)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        return render_template("errors/400.html", detail=exc.description), 400
