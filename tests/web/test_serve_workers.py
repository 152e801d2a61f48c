"""`onewindow serve --workers N`: N waitress processes on one port. They serve the web app and the REST API with
one session key, each runs the timers (a job fires in time wherever it was made, and once), a worker that dies is
replaced, SIGTERM stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from engine.bootstrap import build_engine
from engine.settings import Settings
from tests.serving import free_port, stop_server, timer_site, wait_until, wait_until_serving
from tests.web.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="--workers forks (POSIX)")


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def test_workers_share_the_port_replace_the_dead_and_stop_together(database_url, tmp_path):
    env = timer_site(database_url, tmp_path, PASSWORD)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port", str(port), "--workers", "3",
                             "--threads", "2"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc, 60)
        workers = wait_until(lambda: len(_children(proc.pid)) == 3 and _children(proc.pid), 30, "3 workers", 0.2)
        # one session key for all: a login made on one connection (one worker) holds on new connections, which
        # the kernel hands to whichever worker accepts first
        s = requests.Session()
        r = s.post(base + "/login", data={"username": "m1", "password": PASSWORD, "csrf_token": _csrf(s, base)})
        assert r.status_code == 200 and r.url.endswith("/inbox")
        cookies = s.cookies.get_dict()
        for _ in range(12):
            page = requests.get(base + "/inbox", cookies=cookies, allow_redirects=False, timeout=10)
            assert page.status_code == 200, page.status_code  # not sent back to the login page by any worker
        # one-second timers of cases started over REST on new connections (so on various workers) fire in time
        for n in range(4):
            r = requests.post(base + "/engine-rest/process-definition/key/web_timer/start",
                              json={"businessKey": f"W-{n}"}, auth=("c1", PASSWORD), timeout=10)
            assert r.status_code == 200, r.text
        wait_until(lambda: s.get(base + "/inbox?tab=group").text.count("计时后审查") == 4, 15,
                   "the timers did not fire", 0.2)
        # a worker killed outright is replaced, and the port keeps answering
        victim = sorted(workers)[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(_children(proc.pid)) == 3 and victim not in _children(proc.pid), 30, "no replacement",
                   0.2)
        (new,) = _children(proc.pid) - set(workers)
        # serving: its request threads (2) and its timer threads have started
        wait_until(lambda: len(list(Path(f"/proc/{new}/task").iterdir())) >= 4, 30, "the replacement did not start",
                   0.2)
        assert requests.get(base + "/engine-rest/engine", auth=("c1", PASSWORD), timeout=10).status_code == 200
        last = _children(proc.pid)
    finally:
        out = stop_server(proc, 40)
    assert proc.returncode == 0, out
    assert out.count("timers: in this process") == 4, out  # three workers and the replacement
    assert f"ended with {-signal.SIGKILL}" in out and "starting another" in out, out
    assert not any(Path(f"/proc/{pid}").exists() and _state(pid) != "Z" for pid in last), "a worker outlived the stop"
    with pytest.raises(requests.ConnectionError):
        requests.get(base + "/login", timeout=2)


def test_workers_refuse_a_port_in_use(database_url, tmp_path):
    build_engine(Settings(database_url=database_url)).close()
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {**os.environ, "ONEWINDOW_DATABASE_URL": database_url, "ONEWINDOW_DATA_DIR": str(tmp_path)}
        out = subprocess.run([sys.executable, "-m", "web.cli", "serve", "--port", str(port), "--workers", "2"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr, out.stderr


def _csrf(s: requests.Session, base: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', s.get(base + "/login").text).group(1)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except (FileNotFoundError, IndexError):
        return "Z"
