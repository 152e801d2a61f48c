"""The worker (APScheduler alarm clock, real wall time) and the jobs CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from engine.bootstrap import build_engine
from engine.jobs.worker import JobWorker
from engine.settings import Settings
from tests.conftest import FIXTURES, deploy_fixture

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_worker_fires_a_new_timer_on_time_without_polling(database_url):
    engine = build_engine(Settings(database_url=database_url))  # the real clock: APScheduler runs on wall time
    worker = JobWorker(engine, worker_id="w1", sweep_seconds=3600)  # the sweep cannot be what fires it
    try:
        deploy_fixture(engine, "jobs/quick_timer.bpmn")
        worker.start()
        case = engine.runtime.start("quick_timer")  # PT1S timer: the commit re-arms this process's alarm
        (job,) = engine.jobs.list(instance_id=case.id)
        assert _wait_for(lambda: len(engine.tasks.list(instance_id=case.id)) == 1), "the timer did not fire"
        (done,) = engine.jobs.list(states=("DONE",), instance_id=case.id)
        assert done.id == job.id and done.executed_by == "w1"
        delay = (done.executed_at - job.due).total_seconds()
        assert 0 <= delay < 2.0, delay
        assert worker.fired == 1
    finally:
        worker.stop()
        engine.close()


def test_worker_catches_up_on_jobs_that_fell_due_while_it_was_down(database_url):
    engine = build_engine(Settings(database_url=database_url))
    deploy_fixture(engine, "jobs/quick_timer.bpmn")
    cases = [engine.runtime.start("quick_timer").id for _ in range(3)]
    time.sleep(1.1)  # all due, no worker running
    worker = JobWorker(engine, worker_id="late", sweep_seconds=3600)
    try:
        worker.start()
        assert _wait_for(lambda: all(engine.tasks.list(instance_id=c) for c in cases))
        assert worker.fired == 3
    finally:
        worker.stop()
        engine.close()


@pytest.fixture
def ow(database_url, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from engine.cli import cli

    monkeypatch.setenv("ONEWINDOW_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result
    return run


def test_jobs_cli_lists_and_executes_due_jobs(ow, engine, clock):
    ow("deploy", str(FIXTURES / "jobs" / "review_with_timers.bpmn"))
    case = engine.runtime.start("review_with_timers", business_key="CLI-1")
    (job,) = json.loads(ow("jobs", "--json").stdout)
    assert (job["processInstanceId"], job["activityId"], job["state"]) == (case.id, "cooling_off", "PENDING")
    assert job["dueDate"] == (clock.now() + timedelta(hours=2)).isoformat(timespec="milliseconds")
    early = ow("jobs", "execute-due", "--now", "2026-03-02T10:00:00+08:00")  # 1.5 h after the start: not due
    assert "0 fired, 0 due" in early.stdout
    fired = json.loads(ow("jobs", "execute-due", "--now", "2026-03-02T11:30:00+08:00", "--json").stdout)
    assert [(r["id"], r["outcome"]) for r in fired] == [(job["id"], "fired")]
    again = ow("jobs", "execute-due", "--now", "2026-03-02T11:30:00+08:00")
    assert "0 fired, 0 due" in again.stdout
    (boundary,) = json.loads(ow("jobs", "--json").stdout)
    assert boundary["activityId"] == "review_timeout"
    bad = ow("jobs", "execute-due", "--now", "tomorrow", code=1)
    assert "not an ISO 8601 date-time" in bad.stderr
    ow("jobs", "retry", "no-such-job", code=1)


def test_worker_command_runs_until_sigterm(database_url, tmp_path):
    env = {**os.environ, "ONEWINDOW_DATABASE_URL": database_url,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    base = [sys.executable, "-c", "from web.cli import main; main()"]
    proc = subprocess.Popen([*base, "worker", "--sweep", "1", "--id", "cli-worker"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        engine = build_engine(Settings(database_url=database_url))
        deploy_fixture(engine, "jobs/quick_timer.bpmn")
        case = engine.runtime.start("quick_timer")
        assert _wait_for(lambda: len(engine.tasks.list(instance_id=case.id)) == 1, timeout=20)
        (done,) = engine.jobs.list(states=("DONE",), instance_id=case.id)
        assert done.executed_by == "cli-worker"
        engine.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped after firing 1 job(s)" in err


def test_onewindow_now_freezes_the_clock_of_every_command(ow, monkeypatch):
    ow("deploy", str(FIXTURES / "jobs" / "review_with_timers.bpmn"))
    monkeypatch.setenv("ONEWINDOW_NOW", "2026-10-09T16:00:00+08:00")
    case = json.loads(ow("start", "review_with_timers", "--business-key", "NOW-1", "--json").stdout)
    assert case["startTime"] == "2026-10-09T08:00:00.000+00:00"
    (job,) = json.loads(ow("jobs", "--json").stdout)
    assert job["dueDate"] == "2026-10-09T10:00:00.000+00:00"  # PT2H from the frozen instant
    assert "0 fired" in ow("jobs", "execute-due").stdout  # due at ONEWINDOW_NOW: nothing yet
    monkeypatch.setenv("ONEWINDOW_NOW", "2026-10-09T18:00:00+08:00")  # time travels forward ...
    assert "1 fired" in ow("jobs", "execute-due").stdout
    monkeypatch.setenv("ONEWINDOW_NOW", "2026-10-01T09:00:00+08:00")  # ... and may move backwards
    assert "0 fired" in ow("jobs", "execute-due").stdout
    monkeypatch.setenv("ONEWINDOW_NOW", "next friday")
    assert "ONEWINDOW_NOW: 'next friday' is not an ISO 8601 date-time" in ow("jobs", code=1).stderr
    monkeypatch.setenv("ONEWINDOW_NOW", "2026-10-09T18:00:00")
    assert "has no UTC offset" in ow("jobs", code=1).stderr
