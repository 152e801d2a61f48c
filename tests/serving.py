"""Helpers for tests that run the web app as a real server process (`onewindow serve`, `onewindow demo`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

TIMER = Path(__file__).resolve().parent / "fixtures" / "web" / "web_timer.bpmn"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:  # type: ignore[type-arg]
    """Poll ``base``/login until the server answers; fail with the process's output if it died or never came up."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(base + "/login", timeout=2)
            return
        except requests.ConnectionError:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)


def wait_until(predicate: Any, timeout: float = 10.0, what: str = "condition not met in time",
               every: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something true (returned); fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(every)


def stop_server(proc: subprocess.Popen, timeout: float = 20) -> str:  # type: ignore[type-arg]
    """SIGTERM, as a service manager stops it; what the process printed (killed if it does not stop in time)."""
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return str(out or "")


def timer_site(database_url: str, tmp_path: Path, password: str) -> dict[str, str]:
    """The database of the `serve` tests (a case that waits one second on a timer, then a review of 市场监管局; a
    reviewer ``m1`` and a clerk ``c1`` with ``password``) and the environment of a server process on it."""
    from engine.bootstrap import build_engine
    from engine.settings import Settings

    eng = build_engine(Settings(database_url=database_url))
    eng.repository.deploy([(TIMER.name, TIMER.read_bytes())])
    eng.identity.add_group("market", "市场监管局")
    eng.identity.add_user("m1", password, groups=["market"], roles=["reviewer"])
    eng.identity.add_user("c1", password, roles=["clerk"])
    eng.close()
    env = {**os.environ, "ONEWINDOW_DATABASE_URL": database_url, "ONEWINDOW_DATA_DIR": str(tmp_path)}
    env.pop("ONEWINDOW_SECRET_KEY", None)
    return env
