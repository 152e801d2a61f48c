"""``onewindow calendar``: the working-day calendar (工作日历) — official schedule, overrides, deadlines."""

from __future__ import annotations

from datetime import date, datetime

import click

from engine.cli import _echo_json, _engine, _fail, handle_errors


@click.group("calendar", help="The working-day calendar: official holidays/调休 days, overrides, deadlines.")
def calendar() -> None:
    pass


@calendar.command("show", help="Every non-standard day of YEAR (official holidays, 调休 working days, overrides).")
@click.argument("year", type=int)
@click.option("--region", help="also the overrides of this region")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def show(year: int, region: str | None, as_json: bool) -> None:
    days = _engine().calendar.show(year, region=region)
    if as_json:
        _echo_json([d.as_json() for d in days])
        return
    for d in days:
        was = f" (official: {d.official})" if d.official else ""
        by = f" by {d.created_by}" if d.created_by else ""
        click.echo(f"{d.day.isoformat()} {d.day.strftime('%a')}  {d.kind:<7}  {d.source}{was}{by}"
                   f"{'  ' + d.name if d.name else ''}")


def _add(kind: str) -> None:
    what = "a day off (holiday)" if kind == "holiday" else "a working day"

    @calendar.command(f"add-{kind}", help=f"Declare DATE (YYYY-MM-DD) {what} nationally or in --region.")
    @click.argument("day", metavar="DATE")
    @click.option("--region")
    @click.option("--note")
    @click.option("--user", help="who declares it")
    @click.option("--json", "as_json", is_flag=True)
    @handle_errors
    def command(day: str, region: str | None, note: str | None, user: str | None, as_json: bool) -> None:
        service = _engine().calendar
        add = service.add_holiday if kind == "holiday" else service.add_workday
        view = add(day, region=region, note=note, actor=user)
        if as_json:
            _echo_json(view.as_json())
        else:
            click.echo(f"{view.day.isoformat()} {view.day.strftime('%a')} is now a {kind} "
                       f"({'region ' + view.region if view.region else 'national'}; was {view.official})")


_add("holiday")
_add("workday")


@calendar.command("remove-override", help="Remove the override of DATE (national, or of --region).")
@click.argument("day", metavar="DATE")
@click.option("--region")
@click.option("--user", help="who removes it")
@handle_errors
def remove_override(day: str, region: str | None, user: str | None) -> None:
    _engine().calendar.remove_override(day, region=region, actor=user)
    click.echo(f"removed the override of {day}{' in region ' + region if region else ''}")


@calendar.command("deadline", help="The deadline of N working days counted from START (an ISO date-time with offset, "
                                   "a date YYYY-MM-DD, or 'now' = the engine clock, see ONEWINDOW_NOW).")
@click.argument("start")
@click.argument("n", type=int)
@click.option("--region")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def deadline(start: str, n: int, region: str | None, as_json: bool) -> None:
    engine = _engine()
    tz = engine.services.tz
    if start.strip().lower() == "now":
        instant = engine.clock.now().astimezone(tz)
    elif len(start.strip()) == 10:
        try:
            instant = datetime.combine(date.fromisoformat(start.strip()), datetime.min.time(), tz)
        except ValueError:
            _fail(f"START '{start}' is not a date (YYYY-MM-DD) or an ISO 8601 date-time with offset")
    else:
        try:
            instant = datetime.fromisoformat(start.strip())
        except ValueError:
            _fail(f"START '{start}' is not an ISO 8601 date-time with offset (e.g. 2026-09-28T10:00:00+08:00)")
        if instant.tzinfo is None:
            _fail(f"START '{start}' has no UTC offset (e.g. 2026-09-28T10:00:00+08:00)")
    due = engine.calendar.deadline(instant, n, region=region).astimezone(tz)
    if as_json:
        _echo_json({"start": instant.isoformat(), "workingDays": n, "region": region, "deadline": due.isoformat()})
    else:
        click.echo(f"{due.isoformat()} ({due.strftime('%a')})")


@calendar.command("add-year", help="Add the official schedule of YEAR (published by the State Council each November) "
                                   "before the data file knows it: --file JSON {\"holidays\": {date: name} or [dates], "
                                   "\"workdays\": ...} and/or --holiday/--workday DATE. Provisional deadlines that "
                                   "needed the year are recomputed.")
@click.argument("year", type=int)
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False))
@click.option("--holiday", "holidays", multiple=True, metavar="DATE")
@click.option("--workday", "workdays", multiple=True, metavar="DATE", help="a 调休 working day (weekend)")
@click.option("--user", help="who adds it")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def add_year(year: int, path: str | None, holidays: tuple[str, ...], workdays: tuple[str, ...], user: str | None,
             as_json: bool) -> None:
    import json
    from pathlib import Path

    hol: dict[str, str | None] = {}
    work: dict[str, str | None] = {}
    if path:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except ValueError as exc:
            _fail(f"{path}: not JSON ({exc})")
        if not isinstance(data, dict):
            _fail(f"{path}: expected an object with \"holidays\" and \"workdays\"")
        for key, target in (("holidays", hol), ("workdays", work)):
            value = data.get(key) or {}
            target.update(value if isinstance(value, dict) else {d: None for d in value})
    hol.update({d: None for d in holidays})
    work.update({d: None for d in workdays})
    result = _engine().calendar.add_year(year, hol, work, actor=user)
    if as_json:
        _echo_json(result)
    else:
        click.echo(f"{year}: {result['holidays']} holidays, {result['workdays']} working weekend days added; "
                   f"{len(result['recomputed'])} provisional deadline(s) recomputed")
