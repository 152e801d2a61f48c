"""`onewindow demo`: seeds departments, a user of every role, the diagrams of bpmn/ and cases in every state by
driving the engine on a moved clock; `--seed-only` exits, otherwise the web app is served with the timers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests

from engine import demo
from engine.bootstrap import build_engine
from engine.identity import ROLES
from engine.settings import Settings
from engine.tasks.queries import TaskQuery
from tests.serving import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "web.cli", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=240)


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "ONEWINDOW_DATABASE_URL": database_url, "ONEWINDOW_DATA_DIR": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    env.pop("ONEWINDOW_NOW", None)
    return env


def test_seed_only_creates_every_role_and_cases_in_every_state_once(database_url, tmp_path):
    env = _env(database_url, tmp_path)
    first = _run(["demo", "--seed-only", "--cases", "0", "--bpmn-dir", str(ROOT / "bpmn")], env, tmp_path)
    assert first.returncode == 0, first.stderr
    for user in demo.USERS:  # every demo user and the password are printed
        assert re.search(rf"^\s+{user.id}\s", first.stdout, re.M), first.stdout
    assert demo.DEMO_PASSWORD in first.stdout
    again = _run(["demo", "--seed-only", "--cases", "0", "--bpmn-dir", str(ROOT / "bpmn")], env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "(0 new)" in again.stderr

    eng = build_engine(Settings(database_url=database_url))
    try:
        roles = {r for u in demo.USERS for r in eng.identity.authenticate(u.id, demo.DEMO_PASSWORD).roles}
        assert roles == set(ROLES)
        instances = eng.runtime.instances(definition_key=demo.SAMPLE_KEY)
        assert sorted(i.business_key for i in instances) == sorted(c.business_key for c in demo.CASES)  # once
        states = Counter(i.state for i in instances)
        assert states["COMPLETED"] == 4 and states["ACTIVE"] == 6, states
        open_tasks = eng.tasks.list(TaskQuery(definition_key=demo.SAMPLE_KEY))
        keys = Counter(t.task_definition_key for t in open_tasks)
        assert keys["intake"] == 2 and keys["review_market"] == 2 and keys["review_env"] == 4, keys
        now = eng.clock.now()
        overdue = [t for t in open_tasks if t.due and t.due < now]
        assert {t.business_key for t in overdue} >= {"DEMO-0005"}  # started 9 days ago, reviews due in 5
        assert all(t.created < now for t in open_tasks)  # the moved clock: created in the past, not all "now"
        assert len({t.created.date() for t in open_tasks}) >= 4
    finally:
        eng.close()


def test_demo_serves_the_seeded_system(database_url, tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "demo", "--port", str(port), "--cases", "0", "--bpmn-dir",
                             str(ROOT / "bpmn")], cwd=tmp_path, env=_env(database_url, tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, proc, 120)
        s = requests.Session()
        page = s.get(base + "/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        r = s.post(base + "/login", data={"username": "fire1", "password": demo.DEMO_PASSWORD, "csrf_token": csrf})
        assert r.status_code == 200 and r.url.endswith("/inbox")
        group = s.get(base + "/inbox?tab=group").text
        assert "DEMO-0005" in group and "消防审查" in group
        # the items' automatic steps run in the demo server: an enterprise application accepted at the window
        # passes its external tasks (receipt, 秒批, licence) and reaches the parallel departments on its own
        from processes import enterprise

        eng = build_engine(Settings(database_url=database_url))
        try:
            item = eng.intake.item(enterprise.KEY)
            app = eng.intake.accept(enterprise.KEY, actor="clerk1", variables=enterprise.application(0),
                                    materials={m.key: {"status": "received"} for m in item.materials},
                                    applicant={"name": "杭州示例科技有限公司", "idNumber": "91330106MA2B000001",
                                               "phone": "13905710001", "address": "杭州市", "delivery": "pickup"})
            deadline = time.monotonic() + 60
            while not eng.tasks.list(TaskQuery(instance_id=app.instance_id, candidate_group="police")):
                assert time.monotonic() < deadline, eng.runtime.activity_instance(app.instance_id)
                time.sleep(0.5)
        finally:
            eng.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_simulated_months_put_cases_of_every_item_in_every_state(database_url, tmp_path):
    """`--cases 40 --days 30`: applications of every service item through the window, worked on by the departments
    on a moved clock - completed, running, overdue, warned, waiting for 补正, refused at the window - and nothing
    stuck in an incident; run twice, the second run adds nothing."""
    from processes import registry

    env = _env(database_url, tmp_path)
    args = ["demo", "--seed-only", "--cases", "40", "--days", "30", "--bpmn-dir", str(ROOT / "bpmn")]
    done = _run(args, env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^\s+(\d+) cases started", done.stderr, re.M), done.stderr
    eng = build_engine(Settings(database_url=database_url))
    try:
        instances = eng.runtime.instances()
        simulated = [i for i in instances if not (i.business_key or "").startswith("DEMO-")]
        assert len(simulated) >= 30
        items = {i.key for i in registry() if i.materials}
        assert {i.definition_key for i in simulated} >= items  # every item took part
        states = Counter(i.state for i in simulated)
        assert states["COMPLETED"] >= 10 and states["ACTIVE"] >= 3, states
        assert eng.runtime.incidents() == []
        clocks = [c for c in (eng.cases.clock(i.id) for i in simulated) if c is not None]
        assert len(clocks) >= 30
        assert {c.state for c in clocks} >= {"RUNNING", "STOPPED"}
        created = sorted(i.started_at for i in simulated)
        assert (created[-1] - created[0]).days >= 14  # spread over the weeks, not all at once
        applications = eng.intake.applications(limit=1000)
        assert {a.state for a in applications} >= {"ACCEPTED"}
        count = len(instances)
    finally:
        eng.close()
    again = _run(args, env, tmp_path)
    assert again.returncode == 0, again.stderr
    eng = build_engine(Settings(database_url=database_url))
    try:
        assert len(eng.runtime.instances()) == count
    finally:
        eng.close()
