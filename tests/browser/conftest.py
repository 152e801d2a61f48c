"""Browser tests: Playwright drives a real Chromium against a real server of the web app.

* ``live``: the app of ``web.app.create_app`` on the test's engine (a fresh database: a SQLite file, or a
  PostgreSQL database with ONEWINDOW_TEST_DB=postgresql), served by Werkzeug's threaded server on 127.0.0.1 and a
  free port, in a thread of the test process. The engine's clock is the test's ``clock`` (a FrozenClock): a test
  moves time with ``clock.set``/``clock.advance`` and the server sees it at once; due jobs (warnings, overdue)
  are fired with ``engine.jobs.execute_due()``. CSRF, sessions and the login limiter are on, as in production.
* users of every role (``USERS``, password ``PASSWORD``) in three departments; the fixture diagrams deployed.
* ``ui``: pages in fresh browser contexts (one per user: cookies are not shared), logged in when asked, with
  their console errors collected; on a failure every open page is saved as a PNG (and its HTML) in
  ``<pytest's tmp folder>/browser-failures`` (or ONEWINDOW_BROWSER_ARTIFACTS), printed in the report.
* ``ui.shot(page, name)`` saves docs/screenshots/<name>.png when ONEWINDOW_SCREENSHOTS=1 (for the user guides).

Chromium: ``ONEWINDOW_CHROMIUM``, else ``chromium`` on the PATH, else /usr/bin/chromium (Debian's package
``chromium``; ``playwright install`` is never needed). Without Chromium or the playwright package the tests are
skipped with the reason, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "web"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "browser-pass-1"
DIAGRAMS = ("browser_parallel.bpmn",)
DEPARTMENTS = {"window": "综合窗口", "market": "市场监管局", "fire": "消防救援大队"}
USERS = {  # id: (name, departments, roles)
    "c1": ("窗口小王", ("window",), ("clerk",)),
    "m1": ("市场审查员", ("market",), ("reviewer",)),
    "f1": ("消防审查员", ("fire",), ("reviewer",)),
    "lead": ("市场科长", ("market",), ("leader",)),
    "boss": ("监察员", (), ("supervisor",)),
    "des": ("流程设计员", (), ("designer",)),
    "root": ("管理员", (), ("admin",)),
    "nobody": ("无角色用户", (), ()),
}
IN_CI = os.environ.get("CI", "").lower() == "true"
DEFAULT_TIMEOUT_MS = 20_000  # generous for a loaded CI machine; a passing run never waits for it


def chromium_path() -> str | None:
    for candidate in (os.environ.get("ONEWINDOW_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the browser tests must run here)", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, "rep_" + report.when, report)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    exe = chromium_path()
    if exe is None:
        _unavailable("no Chromium found (Debian: apt-get install chromium, or set ONEWINDOW_CHROMIUM)")
    pw = sync_playwright().start()
    args = ["--disable-dev-shm-usage", "--disable-gpu"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    try:
        chromium = pw.chromium.launch(executable_path=exe, headless=True, args=args)
    except Exception:
        pw.stop()
        raise
    yield chromium
    chromium.close()
    pw.stop()


class Live:
    """The running server: ``url``, the ``engine`` and ``clock`` it runs on, the Flask ``app``."""

    def __init__(self, app: Any, engine: Any, clock: Any) -> None:
        from werkzeug.serving import make_server

        self.app, self.engine, self.clock = app, engine, clock
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="live-server", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


def add_users(engine: Any) -> None:
    for gid, name in DEPARTMENTS.items():
        engine.identity.add_group(gid, name)
    for uid, (name, groups, roles) in USERS.items():
        engine.identity.add_user(uid, PASSWORD, name=name, groups=list(groups), roles=list(roles))


@pytest.fixture
def live(engine, clock, tmp_path) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    from web.app import create_app

    engine.repository.deploy([(name, (FIXTURES / name).read_bytes()) for name in DIAGRAMS])
    add_users(engine)
    app = create_app(engine, config={"SECRET_KEY": "browser-test-secret-" + "x" * 32,
                                     "DATA_DIR": str(tmp_path / "data")})
    server = Live(app, engine, clock)
    yield server
    server.stop()


def login(page: Any, user: str, password: str = PASSWORD) -> Any:
    """Sign ``user`` in through the login form; waits for the inbox."""
    page.goto("/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("section.login button[type=submit]")
    page.wait_for_url(re.compile(r"/inbox"))
    return page


def _console(errors: list[str], message: Any) -> None:
    # a failed load is also logged as "Failed to load resource": those are judged by _subresource
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        errors.append(f"console: {message.text}")


def _subresource(errors: list[str], response: Any) -> None:
    request = response.request
    if response.status >= 400 and request.resource_type != "document" and not request.url.endswith("/favicon.ico"):
        errors.append(f"{request.resource_type} {request.method} {request.url}: HTTP {response.status}")


class UI:
    """Browser pages for one test: ``page(user)`` opens a fresh context (logged in as ``user`` when given)."""

    def __init__(self, browser: Any, live: Live) -> None:
        self.browser, self.live = browser, live
        self.contexts: list[Any] = []
        self.pages: list[tuple[str, Any]] = []
        self._errors: dict[int, list[str]] = {}

    def page(self, user: str | None = None, *, password: str = PASSWORD) -> Any:
        ctx = self.browser.new_context(base_url=self.live.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                       viewport={"width": 1280, "height": 900}, accept_downloads=True)
        ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
        self.contexts.append(ctx)
        page = ctx.new_page()
        errors = self._errors.setdefault(id(page), [])
        page.on("console", lambda m: _console(errors, m))
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("response", lambda r: _subresource(errors, r))
        self.pages.append((user or "anonymous", page))
        if user:
            login(page, user, password)
        return page

    def errors(self, page: Any) -> list[str]:
        """Console errors, uncaught exceptions and failed sub-resources (scripts, styles, fetches; not the pages
        themselves, whose 401/403/404 a test may want, nor /favicon.ico) of ``page`` so far."""
        return list(self._errors.get(id(page), []))

    def shot(self, page: Any, name: str, *, full_page: bool = True) -> Path | None:
        """docs/screenshots/<name>.png of the whole page (``full_page=False``: what the window shows), only when
        ONEWINDOW_SCREENSHOTS=1."""
        if os.environ.get("ONEWINDOW_SCREENSHOTS") != "1":
            return None
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self, failed_dir: Path | None) -> list[Path]:
        saved: list[Path] = []
        if failed_dir is not None:
            failed_dir.mkdir(parents=True, exist_ok=True)
            for n, (user, page) in enumerate(self.pages, 1):
                if page.is_closed():
                    continue
                base = failed_dir / f"{n}-{user}"
                try:
                    page.screenshot(path=str(base.with_suffix(".png")), full_page=True)
                    base.with_suffix(".html").write_text(page.content(), encoding="utf-8")
                    saved.append(base.with_suffix(".png"))
                except Exception as exc:  # noqa: BLE001 - a dead page must not hide the test's own failure
                    print(f"could not save {base}: {exc}", file=sys.stderr)
        for ctx in self.contexts:
            ctx.close()
        return saved


@pytest.fixture
def ui(browser, live, request, tmp_path_factory) -> Iterator[UI]:  # type: ignore[no-untyped-def]
    session = UI(browser, live)
    yield session
    rep = getattr(request.node, "rep_call", None)
    failed_dir = None
    if rep is not None and rep.failed:
        root = os.environ.get("ONEWINDOW_BROWSER_ARTIFACTS")
        base = Path(root) if root else tmp_path_factory.getbasetemp() / "browser-failures"
        failed_dir = base / re.sub(r"[^\w.-]+", "_", request.node.name)
    saved = session.close(failed_dir)
    if saved:
        print("screenshots of the failed test: " + ", ".join(str(p) for p in saved))


def start_case(engine: Any, key: str, *, phone: str = "13800131234", applicant: str = "示例餐饮有限公司",
               delivery: str = "mail") -> Any:
    """A case of browser_parallel.bpmn (both department reviews open)."""
    return engine.runtime.start("browser_parallel", business_key=key, variables={
        "applicantName": applicant, "applicant": applicant, "applicantPhone": phone, "deliveryMethod": delivery})
