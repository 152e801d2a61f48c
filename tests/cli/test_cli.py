"""The ``onewindow`` command line, run as a real process (the installed console script)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "bpmn" / "sample" / "sample_parallel_approval.bpmn"


@pytest.fixture
def ow(database_url, tmp_path, monkeypatch):
    """Runs the CLI in-process (click's runner: real argument parsing, real engine, real database)."""
    from click.testing import CliRunner

    from engine.cli import cli

    monkeypatch.setenv("ONEWINDOW_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        proc = subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc
    return run


def test_console_script_runs_as_a_real_process(database_url, tmp_path):
    script = Path(sys.executable).with_name("onewindow")
    base = [str(script)] if script.exists() else [sys.executable, "-c", "from web.cli import main; main()"]
    env = {**os.environ, "ONEWINDOW_DATABASE_URL": database_url,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    ok = subprocess.run([*base, "deploy", str(SAMPLE)], capture_output=True, text=True, env=env, cwd=tmp_path,
                        timeout=120)
    assert ok.returncode == 0 and "version 1" in ok.stdout, ok.stderr
    bad = subprocess.run([*base, "claim", "no-such-task", "--user", "u"], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=120)
    assert bad.returncode == 1 and bad.stderr.strip() == "error: task 'no-such-task' does not exist"


def test_deploy_and_drive_a_case_to_the_end(ow):
    out = ow("deploy", str(SAMPLE))
    assert "deployed sample_parallel_approval version 1" in out.stdout
    again = ow("deploy", str(SAMPLE))
    assert "nothing new deployed" in again.stdout
    inst = json.loads(ow("start", "sample_parallel_approval", "--business-key", "CLI-1", "--var", "applicant=李四",
                         "--var", "amount=1200", "--json").stdout)
    assert inst["businessKey"] == "CLI-1" and inst["ended"] is False and inst["suspended"] is False
    assert inst["activeActivityIds"] == ["intake"]
    tasks = json.loads(ow("tasks", "--group", "window", "--json").stdout)
    assert len(tasks) == 1 and tasks[0]["candidateGroups"] == ["window"] and tasks[0]["processInstanceId"] == inst["id"]
    assert tasks[0]["due"].endswith("+00:00")
    tid = tasks[0]["id"]
    claimed = json.loads(ow("claim", tid, "--user", "clerk1", "--json").stdout)
    assert claimed["assignee"] == "clerk1"
    taken = ow("claim", tid, "--user", "clerk2", ok=False)
    assert taken.returncode != 0 and "clerk1" in taken.stderr and len(taken.stderr.strip().splitlines()) == 1
    ow("complete", tid, "--user", "clerk1", "--var", "accepted=true")
    for group, var in (("market", "marketApproved"), ("fire", "fireApproved"), ("environment", "envApproved")):
        (t,) = json.loads(ow("tasks", "--group", group, "--json").stdout)
        ow("complete", t["id"], "--user", f"{group}1", "--var", f"{var}=true")
    (deliver,) = json.loads(ow("tasks", "--instance", inst["id"], "--json").stdout)
    assert deliver["taskDefinitionKey"] == "deliver"
    ow("complete", deliver["id"], "--user", "clerk1")
    final = json.loads(ow("instance", inst["id"], "--json").stdout)
    assert final["ended"] is True and final["state"] == "COMPLETED"
    assert final["variables"]["amount"] == {"type": "Integer", "value": 1200}
    listed = json.loads(ow("instances", "--json").stdout)
    assert [i["id"] for i in listed] == [inst["id"]]
    assert "ok" in ow("history", "verify", "CLI-1").stdout


def test_errors_are_one_clear_line_and_non_zero(ow, tmp_path):
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<definitions><process></definitions>")
    for args, needle in (
        (("deploy", str(broken)), "broken.bpmn"),
        (("deploy", str(tmp_path / "missing.bpmn")), "missing.bpmn"),
        (("claim", "nope", "--user", "u"), "nope"),
        (("complete", "nope", "--user", "u"), "nope"),
        (("start", "unknown_key"), "unknown_key"),
        (("instance", "nope"), "nope"),
        (("message", "no_such_message", "--business-key", "X"), "no_such_message"),
    ):
        proc = ow(*args, ok=False)
        assert proc.returncode != 0, args
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_db_upgrade_is_idempotent(ow):
    assert "revision" in ow("db", "upgrade").stdout
    assert "revision" in ow("db", "upgrade").stdout
