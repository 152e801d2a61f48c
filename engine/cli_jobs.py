"""``onewindow jobs`` and ``onewindow worker``."""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from typing import Any

import click

from engine.cli import _echo_json, _engine, _fail, handle_errors
from engine.types import iso


def _parse_instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        _fail(f"--now: '{text}' is not an ISO 8601 date-time (e.g. 2026-10-10T17:30:00+08:00)")
    if value.tzinfo is None:
        _fail(f"--now: '{text}' has no UTC offset (e.g. 2026-10-10T17:30:00+08:00)")
    return value


@click.group("jobs", invoke_without_command=True, help="Jobs (BPMN timers): list pending and failed ones.")
@click.option("--all", "show_all", is_flag=True, help="also done and cancelled jobs")
@click.option("--instance", "instance_id", help="only the jobs of this case")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def jobs(ctx: click.Context, show_all: bool, instance_id: str | None, as_json: bool) -> None:
    if ctx.invoked_subcommand is not None:
        return
    states = ("PENDING", "FAILED", "DONE", "CANCELLED") if show_all else ("PENDING", "FAILED")
    found = _engine().jobs.list(states=states, instance_id=instance_id)
    if as_json:
        _echo_json([j.as_json() for j in found])
        return
    for j in found:
        extra = f"  attempts {j.attempts}  error: {j.last_error}" if j.last_error else ""
        if getattr(j, "lock_owner", None):
            extra += f"  leased by {j.lock_owner} until {iso(j.lock_expires)}"
        click.echo(f"{j.id}  {j.job_type}  {j.state}  due {iso(j.due)}  case {j.instance_id}  at {j.activity_id}{extra}")
    if not found:
        click.echo("no jobs")


@jobs.command("execute-due", help="Fire every job due at or before --now (default: now), each at most once.")
@click.option("--now", "now_text", help="ISO 8601 instant with offset")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def execute_due(now_text: str | None, as_json: bool) -> None:
    now = _parse_instant(now_text) if now_text else None
    results = _engine().jobs.execute_due(now, worker_id="cli")
    if as_json:
        _echo_json([{"id": r.job_id, "outcome": r.outcome, "processInstanceId": r.instance_id,
                     "activityId": r.activity_id, "message": r.message} for r in results])
        return
    for r in results:
        click.echo(f"{r.job_id}  {r.outcome}  case {r.instance_id}  at {r.activity_id}"
                   + (f"  {r.message}" if r.message else ""))
    click.echo(f"{sum(1 for r in results if r.outcome == 'fired')} fired, {len(results)} due")


@jobs.command("retry", help="Make a failed job pending again.")
@click.argument("job_id")
@click.option("--user", help="who retries it (recorded)")
@handle_errors
def retry(job_id: str, user: str | None) -> None:
    _engine().jobs.retry(job_id, actor=user)
    click.echo(f"job {job_id} is pending again")


@click.command("worker", help="Run jobs until stopped (Ctrl-C / SIGTERM).")
@click.option("--sweep", default=30.0, show_default=True, help="seconds between safety sweeps")
@click.option("--id", "worker_id", help="worker name in the job records (default host:random)")
@click.option("--lease", type=float, default=None,
              help="seconds an acquired job stays this worker's (default ONEWINDOW_JOB_LEASE_SECONDS or 300)")
@handle_errors
def worker(sweep: float, worker_id: str | None, lease: float | None) -> None:
    from engine.jobs.worker import JobWorker

    engine = _engine()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    w = JobWorker(engine, worker_id=worker_id, sweep_seconds=sweep, lease_seconds=lease)
    w.start()
    click.echo(f"worker {w.worker_id} running (sweep every {sweep:g} s); Ctrl-C to stop", err=True)
    stop.wait()
    w.stop()
    click.echo(f"worker {w.worker_id} stopped after firing {w.fired} job(s)", err=True)


def register(cli: Any) -> None:
    cli.add_command(jobs)
    cli.add_command(worker)
