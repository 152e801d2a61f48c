"""`onewindow serve` over real HTTP: a separate process (waitress) signs a reviewer in, shows the inbox, keeps
CSRF, and runs the timers in-process (a PT1S timer's task reaches the inbox without any other worker)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.serving import free_port, stop_server, timer_site, wait_until_serving
from tests.web.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def test_serve_signs_in_and_runs_the_timers(database_url, tmp_path):
    env = timer_site(database_url, tmp_path, PASSWORD)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, proc, 60)
        s = requests.Session()
        page = s.get(base + "/login").text
        assert "用户名" in page
        assert s.post(base + "/login", data={"username": "m1", "password": PASSWORD}).status_code == 400
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        r = s.post(base + "/login", data={"username": "m1", "password": PASSWORD, "csrf_token": csrf})
        assert r.status_code == 200 and r.url.endswith("/inbox")
        assert (tmp_path / "secret_key").exists()
        # a case started by a clerk through the REST API (HTTP Basic, no CSRF) waits one second on a timer, which
        # the server's own worker fires (its alarm is set when the job is committed: no 30 s sweep needed)
        r = requests.post(base + "/engine-rest/process-definition/key/web_timer/start", json={"businessKey": "T-1"},
                          auth=("c1", PASSWORD), timeout=10)
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 20
        while "计时后审查" not in s.get(base + "/inbox?tab=group").text:
            assert time.monotonic() < deadline, "the in-process timer did not fire"
            time.sleep(0.3)
    finally:
        out = stop_server(proc, 20)
    assert proc.returncode == 0, out
    assert "timers: in this process" in out
