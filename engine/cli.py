"""The ``onewindow`` command line. Every command honours ONEWINDOW_DATABASE_URL; every command that prints
accepts ``--json`` (Camunda REST field names). Errors print one clear line and exit non-zero."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from engine.errors import EngineError
from engine.settings import Settings
from engine.tasks.queries import TaskQuery
from engine.types import InstanceView, TaskView, iso


def _clock_from_env() -> Any:
    """``ONEWINDOW_NOW=<ISO 8601 with offset>`` freezes the engine clock of the command at that instant (tests, demos,
    replaying a case's history); it may move backwards between commands."""
    import os
    from datetime import datetime

    from engine.clock import FrozenClock

    text = os.environ.get("ONEWINDOW_NOW", "").strip()
    if not text:
        return None
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        _fail(f"ONEWINDOW_NOW: '{text}' is not an ISO 8601 date-time (e.g. 2026-10-10T17:30:00+08:00)")
    if instant.tzinfo is None:
        _fail(f"ONEWINDOW_NOW: '{text}' has no UTC offset (e.g. 2026-10-10T17:30:00+08:00)")
    return FrozenClock(instant)


def _engine() -> Any:
    from engine.bootstrap import build_engine

    engine = build_engine(Settings.from_env(), clock=_clock_from_env())
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(engine.close)  # release pooled connections when the command ends
    return engine


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EngineError as exc:
            _fail(str(exc).replace("\n", " "))
    return wrapper


def parse_vars(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"'{pair}' is not name=value", param_hint="--var")
        name, raw = pair.split("=", 1)
        try:
            out[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[name.strip()] = raw
    return out


def _task_line(t: TaskView) -> str:
    who = t.assignee or ("groups " + ",".join(t.candidate_groups) if t.candidate_groups else "unassigned")
    due = f" due {iso(t.due)}" if t.due else ""
    return f"{t.id}  {t.name}  [{t.task_definition_key}]  case {t.business_key or t.instance_id}  -> {who}{due}"


def _instance_lines(i: InstanceView) -> list[str]:
    lines = [f"{i.id}  {i.definition_id}  business key {i.business_key or '-'}  {i.state}"
             f"{'  INCIDENT' if i.has_incident else ''}"]
    if i.active_activity_ids:
        lines.append(f"  active: {', '.join(i.active_activity_ids)}")
    for inc in i.incidents:
        lines.append(f"  incident at {inc.activity_id}: {inc.message}")
    return lines


@click.group(help="OneWindow (一窗通办) BPMN engine for government service approvals.")
def cli() -> None:
    pass


@cli.group(help="Database schema.")
def db() -> None:
    pass


@db.command("upgrade", help="Create or migrate the schema to the newest revision.")
@handle_errors
def db_upgrade() -> None:
    from engine.persistence import migrate
    from engine.persistence.db import create_db_engine

    settings = Settings.from_env()
    engine = create_db_engine(settings.database_url)
    migrate.upgrade(engine)
    click.echo(f"schema at revision {migrate.current_revision(engine)}")
    engine.dispose()


@cli.command(help="Deploy BPMN/DMN files (one deployment).")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--name", help="deployment name")
@click.option("--lenient", is_flag=True,
              help="Camunda 7 migration aid: drop listeners, turn Java delegates into external tasks (warned)")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def deploy(files: tuple[str, ...], name: str | None, lenient: bool, as_json: bool) -> None:
    for f in files:
        if not Path(f).is_file():
            _fail(f"{f}: no such file")
    result = _engine().repository.deploy_files(list(files), name=name or Path(files[0]).stem, source="cli",
                                               lenient=lenient)
    for w in result.warnings:
        click.echo(f"warning: {w}", err=True)
    if as_json:
        _echo_json({"deployment": result.deployment.as_json() if result.deployment else None,
                    "deployedProcessDefinitions": [d.as_json() for d in result.definitions],
                    "unchanged": [d.as_json() for d in result.unchanged], "warnings": list(result.warnings)})
        return
    if not result.is_new:
        click.echo("nothing new deployed: identical content is already deployed as "
                   + ", ".join(f"{d.key} v{d.version}" for d in result.unchanged))
        return
    click.echo(f"deployment {result.deployment.id}")  # type: ignore[union-attr]
    for d in result.definitions:
        click.echo(f"  deployed {d.key} version {d.version} ({d.id})")
    for d in result.unchanged:
        click.echo(f"  unchanged {d.key} version {d.version}")


@cli.command(help="Start a case of the latest version of KEY.")
@click.argument("key")
@click.option("--business-key")
@click.option("--var", "vars_", multiple=True, help="name=value (value parsed as JSON when valid)")
@click.option("--user", help="who starts it")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def start(key: str, business_key: str | None, vars_: tuple[str, ...], user: str | None, as_json: bool) -> None:
    view = _engine().runtime.start(key, business_key=business_key, variables=parse_vars(vars_), started_by=user)
    if as_json:
        _echo_json(view.as_json())
    else:
        click.echo("\n".join(_instance_lines(view)))


@cli.command(help="List open tasks.")
@click.option("--group", help="candidate group")
@click.option("--user", help="assigned to, or candidate user")
@click.option("--instance", help="process instance id")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def tasks(group: str | None, user: str | None, instance: str | None, as_json: bool) -> None:
    views = _engine().tasks.list(TaskQuery(candidate_group=group, candidate_user=user, instance_id=instance))
    if as_json:
        _echo_json([t.as_json() for t in views])
    elif not views:
        click.echo("no open tasks")
    else:
        for t in views:
            click.echo(_task_line(t))


def _task_action(name: str, help_text: str) -> None:
    @cli.command(name=name, help=help_text)
    @click.argument("task")
    @click.option("--user", required=True)
    @click.option("--json", "as_json", is_flag=True)
    @handle_errors
    def command(task: str, user: str, as_json: bool) -> None:
        engine = _engine()
        view = engine.tasks.claim(task, user) if name == "claim" else engine.tasks.unclaim(task, user)
        if as_json:
            _echo_json(view.as_json())
        else:
            click.echo(f"{name}ed: {_task_line(view)}")


_task_action("claim", "Claim TASK for --user (fails if someone else holds it).")
_task_action("unclaim", "Give TASK back to its candidate groups.")


@cli.command(help="Complete TASK as --user.")
@click.argument("task")
@click.option("--user", required=True)
@click.option("--var", "vars_", multiple=True, help="name=value (value parsed as JSON when valid)")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def complete(task: str, user: str, vars_: tuple[str, ...], as_json: bool) -> None:
    engine = _engine()
    view = engine.tasks.complete(task, user, parse_vars(vars_))
    instance = engine.runtime.instance(view.instance_id)
    if as_json:
        _echo_json({"task": view.as_json(), "instance": instance.as_json()})
    else:
        click.echo(f"completed: {view.name} [{view.task_definition_key}]")
        click.echo("\n".join(_instance_lines(instance)))


@cli.command(help="Show one case.")
@click.argument("instance_id")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def instance(instance_id: str, as_json: bool) -> None:
    engine = _engine()
    view = engine.runtime.instance(instance_id)
    clock = engine.cases.clock(view.id)
    tasks = engine.tasks.list(TaskQuery(instance_id=view.id))
    jobs = engine.jobs.list(instance_id=view.id)
    now = engine.clock.now()
    if as_json:
        out = view.as_json()
        out["variables"] = view.variables
        out["clock"] = clock.as_json() if clock is not None else None
        out["tasks"] = [{**t.as_json(), "signal": t.signal(now)} for t in tasks]
        out["jobs"] = [j.as_json() for j in jobs]
        _echo_json(out)
    else:
        click.echo("\n".join(_instance_lines(view)))
        if clock is not None:
            from engine.cli_case import clock_lines

            click.echo("\n".join(clock_lines(clock)))
        for t in tasks:
            click.echo(f"  task {t.name} [{t.signal(now)}] due {iso(t.due) or '-'}")
        for name, v in view.variables.items():
            click.echo(f"  {name} = {json.dumps(v['value'], ensure_ascii=False)} ({v['type']})")


@cli.command(help="List cases.")
@click.option("--business-key")
@click.option("--key", "definition_key", help="process definition key")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def instances(business_key: str | None, definition_key: str | None, as_json: bool) -> None:
    views = _engine().runtime.instances(business_key=business_key, definition_key=definition_key)
    if as_json:
        _echo_json([v.as_json() for v in views])
    elif not views:
        click.echo("no cases")
    else:
        for v in views:
            click.echo("\n".join(_instance_lines(v)))


@cli.command(help="Correlate message NAME with the case of --business-key (or start a case by message).")
@click.argument("name")
@click.option("--business-key")
@click.option("--var", "vars_", multiple=True)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def message(name: str, business_key: str | None, vars_: tuple[str, ...], as_json: bool) -> None:
    views = _engine().runtime.correlate(name, business_key=business_key, variables=parse_vars(vars_))
    if as_json:
        _echo_json([v.as_json() for v in views])
    else:
        for v in views:
            click.echo("\n".join(_instance_lines(v)))


@cli.group(help="The tamper-evident history.")
def history() -> None:
    pass


@history.command("verify", help="Check the hash chain of CASE (id or business key), or of all chains.")
@click.argument("case", required=False)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def history_verify(case: str | None, as_json: bool) -> None:
    reports = _engine().history.verify(case)
    if as_json:
        _echo_json([r.__dict__ for r in reports])
    else:
        for r in reports:
            status = "ok" if r.ok else f"BROKEN at event {r.first_bad_seq}: {r.reason}"
            click.echo(f"{r.chain or '(engine)'}: {r.events} events, {status}")
    if not all(r.ok for r in reports):
        sys.exit(1)


def _register_command_groups() -> None:
    from engine import cli_jobs
    from engine import cli_users
    from engine.cli_calendar import calendar
    from engine.cli_case import case, notifications

    cli_jobs.register(cli)
    cli_users.register(cli)
    cli.add_command(calendar)
    cli.add_command(case)
    cli.add_command(notifications)


_register_command_groups()


def main() -> None:
    cli(prog_name="onewindow")
