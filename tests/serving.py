"""Helpers for tests that run the web app as a real server process (`onewindow serve`, `onewindow demo`)."""

from __future__ import annotations

import socket
import subprocess
import time

import requests


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
