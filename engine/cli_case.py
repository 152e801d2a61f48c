"""``onewindow case``: the clock of a case (办理时限) — show, accept, suspend (挂起), resume, extend (延期) — and
``onewindow notifications`` (the outbox)."""

from __future__ import annotations

from typing import Any

import click

from engine.cli import _echo_json, _engine, handle_errors
from engine.caseclock.clock import KIND_NAMES, SUSPENSION_KINDS


def clock_lines(view: Any) -> list[str]:
    def t(v: Any) -> str:
        return v.astimezone().isoformat(timespec="minutes") if v is not None else "-"
    lines = [f"case {view.business_key or view.instance_id}: clock {view.state}, {view.signal}"
             + ("  (PROVISIONAL deadline: a year has no calendar data)" if view.provisional else ""),
             f"  accepted {t(view.accepted_at)}  promised {view.promised_limit or '-'} -> {t(view.promised_due)}"
             f"  legal {view.legal_limit or '-'} -> {t(view.legal_due)}  warning from {t(view.warn_at)}",
             f"  suspended {view.suspended_days} wd, extended {view.extended_days} wd"
             + (f", {view.working_days_left} wd left" if view.working_days_left is not None else "")]
    for s in view.suspensions:
        lines.append(f"  挂起 {s['kindName']}: {s['start']} .. {s['end'] or 'open'}"
                     f"{' = ' + str(s['workingDays']) + ' wd' if s['workingDays'] is not None else ''}  {s['reason']}")
    for e in view.extensions:
        lines.append(f"  延期 +{e['days']} wd by {e['approver']} at {e['approvedAt']}: {e['reason']}")
    return lines


def _show(view: Any, as_json: bool) -> None:
    if as_json:
        _echo_json(view.as_json())
    else:
        click.echo("\n".join(clock_lines(view)))


@click.group("case", help="The clock of a case (CASE = id or business key): show, accept, suspend, resume, extend.")
def case() -> None:
    pass


@case.command("clock", help="Show the clock of CASE: deadlines, signal, suspensions, extensions.")
@click.argument("case_id", metavar="CASE")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def clock_cmd(case_id: str, as_json: bool) -> None:
    view = _engine().cases.clock(case_id)
    if view is None:
        if as_json:
            _echo_json(None)
        else:
            click.echo("this case has no clock (its diagram sets no promisedLimit/legalLimit)")
        return
    _show(view, as_json)


@case.command("accept", help="Start the clock of CASE now (受理), when its diagram waits for an explicit acceptance.")
@click.argument("case_id", metavar="CASE")
@click.option("--user")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def accept(case_id: str, user: str | None, as_json: bool) -> None:
    _show(_engine().cases.accept(case_id, actor=user), as_json)


@case.command("suspend", help="Suspend the clock of CASE (挂起): the time until resume does not count.")
@click.argument("case_id", metavar="CASE")
@click.option("--reason", required=True)
@click.option("--kind", type=click.Choice(SUSPENSION_KINDS), default="other",
              help="; ".join(f"{k} = {v}" for k, v in KIND_NAMES.items()))
@click.option("--expected-days", type=int, help="working days the applicant is told it will take")
@click.option("--user")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def suspend(case_id: str, reason: str, kind: str, expected_days: int | None, user: str | None, as_json: bool) -> None:
    _show(_engine().cases.suspend(case_id, reason=reason, kind=kind, expected_days=expected_days, actor=user), as_json)


@case.command("resume", help="Resume the clock of CASE: every running deadline moves by the suspended working days.")
@click.argument("case_id", metavar="CASE")
@click.option("--user")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def resume(case_id: str, user: str | None, as_json: bool) -> None:
    _show(_engine().cases.resume(case_id, actor=user), as_json)


@case.command("extend", help="Extend CASE by DAYS working days (延期), approved by --approver, before it expires.")
@click.argument("case_id", metavar="CASE")
@click.option("--days", type=int, required=True)
@click.option("--reason", required=True)
@click.option("--approver", required=True, help="the agency head who approved (行政机关负责人)")
@click.option("--user")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def extend(case_id: str, days: int, reason: str, approver: str, user: str | None, as_json: bool) -> None:
    _show(_engine().cases.extend(case_id, days=days, reason=reason, approver=approver, actor=user), as_json)


@case.command("recompute", help="Recompute provisional deadlines (after a year's calendar data was added).")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def recompute(as_json: bool) -> None:
    done = _engine().cases.recompute_provisional()
    if as_json:
        _echo_json(done)
    else:
        click.echo(f"{len(done)} case(s) now have final deadlines" + (": " + ", ".join(done) if done else ""))


@click.command("notifications", help="The outbox: notifications decided by the engine (warnings, overdue, ...).")
@click.option("--instance")
@click.option("--state", type=click.Choice(["PENDING", "SENT"]))
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def notifications(instance: str | None, state: str | None, as_json: bool) -> None:
    items = _engine().notifications.list(instance_id=instance, state=state)
    if as_json:
        _echo_json(items)
        return
    for m in items:
        click.echo(f"{m['created']}  {m['state']:<7}  {','.join(m['recipients'])}  {m['subject']}")
