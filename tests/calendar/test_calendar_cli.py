"""``onewindow calendar ...`` and ONEWINDOW_NOW, through click's runner on a real database."""

from __future__ import annotations

import json
import subprocess

import pytest


@pytest.fixture
def ow(database_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from engine.cli import cli

    monkeypatch.setenv("ONEWINDOW_DATABASE_URL", database_url)
    monkeypatch.delenv("ONEWINDOW_NOW", raising=False)
    monkeypatch.delenv("ONEWINDOW_CALENDAR_REGION", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str, ok: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        result = runner.invoke(cli, list(args), catch_exceptions=False, env=env)
        proc = subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc
    return run


def test_deadline_and_show(ow):
    assert ow("calendar", "deadline", "2026-09-28T10:00:00+08:00", "5").stdout.strip() == \
        "2026-10-10T17:30:00+08:00 (Sat)"
    out = json.loads(ow("calendar", "deadline", "2026-04-01", "10", "--json").stdout)
    assert out["deadline"] == "2026-04-16T17:30:00+08:00" and out["workingDays"] == 10
    shown = json.loads(ow("calendar", "show", "2026", "--json").stdout)
    assert {"date": "2026-10-10", "kind": "workday", "source": "official"}.items() <= \
        next(d for d in shown if d["date"] == "2026-10-10").items()
    assert "2026-02-14 Sat  workday  official  Spring Festival" in ow("calendar", "show", "2026").stdout


def test_overrides_from_the_command_line(ow):
    added = ow("calendar", "add-holiday", "2026-04-10", "--region", "shenzhen", "--note", "地方节日", "--user", "admin")
    assert "2026-04-10 Fri is now a holiday (region shenzhen; was workday)" in added.stdout
    regional = json.loads(ow("calendar", "deadline", "2026-04-01", "10", "--region", "shenzhen", "--json").stdout)
    assert regional["deadline"] == "2026-04-17T17:30:00+08:00"
    assert json.loads(ow("calendar", "deadline", "2026-04-01", "10", "--json").stdout)["deadline"] == \
        "2026-04-16T17:30:00+08:00"
    ow("calendar", "add-workday", "2026-04-11", "--note", "服务日")
    shown = {d["date"]: d for d in json.loads(ow("calendar", "show", "2026", "--region", "shenzhen", "--json").stdout)}
    assert shown["2026-04-10"]["source"] == "override:shenzhen" and shown["2026-04-10"]["createdBy"] == "admin"
    assert shown["2026-04-11"]["source"] == "override" and shown["2026-04-11"]["kind"] == "workday"
    ow("calendar", "remove-override", "2026-04-11")
    assert "2026-04-11" not in ow("calendar", "show", "2026").stdout


@pytest.mark.parametrize(("args", "message"), [
    (("calendar", "show", "2031"), "no official schedule for 2031"),
    (("calendar", "add-holiday", "2026-02-30"), "'2026-02-30' is not a calendar date"),
    (("calendar", "add-holiday", "2026-10-01"), "2026-10-01 (Thu) is already a day off"),
    (("calendar", "add-workday", "2026-10-10"), "2026-10-10 (Sat) is already a working day"),
    (("calendar", "deadline", "2031-03-03", "5"), "no official schedule for 2031"),
    (("calendar", "deadline", "yesterday-ish", "5"), "START 'yesterday-ish' is not an ISO 8601"),
    (("calendar", "deadline", "2026-04-01T10:00:00", "5"), "has no UTC offset"),
])
def test_errors_print_one_line_and_exit_non_zero(ow, args, message):
    proc = ow(*args, ok=False)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert all(d["source"] == "official" for d in json.loads(ow("calendar", "show", "2026", "--json").stdout))


def test_onewindow_now_freezes_the_engine_clock(ow):
    env = {"ONEWINDOW_NOW": "2026-09-28T10:00:00+08:00"}
    assert ow("calendar", "deadline", "now", "5", env=env).stdout.strip() == "2026-10-10T17:30:00+08:00 (Sat)"
    env = {"ONEWINDOW_NOW": "2026-02-12T09:00:00+08:00"}
    assert ow("calendar", "deadline", "now", "5", env=env).stdout.strip() == "2026-02-26T17:30:00+08:00 (Thu)"
    bad = ow("calendar", "deadline", "now", "5", ok=False, env={"ONEWINDOW_NOW": "next tuesday"})
    assert bad.returncode != 0 and bad.stderr.strip() == \
        "error: ONEWINDOW_NOW: 'next tuesday' is not an ISO 8601 date-time (e.g. 2026-10-10T17:30:00+08:00)"
    naive = ow("calendar", "deadline", "now", "5", ok=False, env={"ONEWINDOW_NOW": "2026-09-28T10:00:00"})
    assert naive.returncode != 0 and "has no UTC offset" in naive.stderr
