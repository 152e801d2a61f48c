"""``onewindow case ...``, ``onewindow instance --json`` (the clock and the tasks' signals), ``onewindow jobs``
and ``onewindow notifications`` on a real database, with ONEWINDOW_NOW moving time between commands."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture
def ow(database_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from engine.cli import cli

    monkeypatch.setenv("ONEWINDOW_DATABASE_URL", database_url)
    monkeypatch.delenv("ONEWINDOW_CALENDAR_REGION", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str, now: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = runner.invoke(cli, list(args), catch_exceptions=False, env={"ONEWINDOW_NOW": now})
        proc = subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc
    return run


def test_suspend_resume_extend_from_the_command_line(ow):
    t0 = "2026-04-01T09:40:00+08:00"
    ow("deploy", str(FIX / "clock_parallel.bpmn"), now=t0)
    ow("start", "clock_parallel", "--business-key", "CLI-1", now=t0)
    (intake,) = json.loads(ow("tasks", "--json", now=t0).stdout)
    ow("complete", intake["id"], "--user", "clerk1", now="2026-04-01T10:00:00+08:00")
    case_id = intake["processInstanceId"]
    view = json.loads(ow("instance", case_id, "--json", now="2026-04-02T09:00:00+08:00").stdout)
    assert view["clock"]["state"] == "RUNNING"
    assert view["clock"]["promisedDue"] == "2026-04-16T17:30:00+08:00"
    assert view["clock"]["workingDaysLeft"] == 9 and view["clock"]["signal"] == "ON_TIME"
    assert {t["taskDefinitionKey"]: t["signal"] for t in view["tasks"]}["review_market"] == "ON_TIME"
    assert {"task-warning", "task-timeout", "timer", "case-warning", "case-overdue"} <= {j["jobType"] for j in view["jobs"]}
    s = json.loads(ow("case", "suspend", "CLI-1", "--reason", "专家评审", "--kind", "expert-review",
                      "--expected-days", "3", "--user", "lead1", "--json", now="2026-04-08T10:00:00+08:00").stdout)
    assert s["state"] == "SUSPENDED" and s["suspensions"][0]["kindName"] == "专家评审"
    bad = ow("case", "suspend", "CLI-1", "--reason", "again", now="2026-04-08T11:00:00+08:00", ok=False)
    assert bad.returncode != 0 and "already suspended" in bad.stderr and "Traceback" not in bad.stderr
    r = json.loads(ow("case", "resume", "CLI-1", "--json", now="2026-04-14T15:00:00+08:00").stdout)
    assert r["suspendedWorkingDays"] == 5 and r["promisedDue"] == "2026-04-23T17:30:00+08:00"
    e = json.loads(ow("case", "extend", "CLI-1", "--days", "2", "--reason", "补充核查", "--approver", "局长",
                      "--json", now="2026-04-20T09:00:00+08:00").stdout)
    assert e["promisedDue"] == "2026-04-27T17:30:00+08:00" and e["extensions"][0]["days"] == 2
    late = ow("case", "extend", "CLI-1", "--days", "2", "--reason", "x", "--approver", "局长",
              now="2026-04-28T09:00:00+08:00", ok=False)
    assert late.returncode != 0 and "before expiry" in late.stderr
    text = ow("case", "clock", "CLI-1", now="2026-04-28T09:00:00+08:00").stdout
    assert "OVERDUE" in text and "挂起 专家评审" in text and "延期 +2 wd by 局长" in text
    ow("jobs", "execute-due", now="2026-04-28T09:00:00+08:00")
    ow("jobs", "execute-due", now="2026-04-28T09:00:01+08:00")
    notes = json.loads(ow("notifications", "--instance", case_id, "--json", now="2026-04-28T09:01:00+08:00").stdout)
    subjects = [n["subject"] for n in notes]
    assert any("超期" in s for s in subjects) and any("挂起" in s for s in subjects)
    assert any("超时默认同意" in s for s in subjects)
