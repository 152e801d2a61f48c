"""The calendar in the engine: overrides stored in ``calendar_day`` (national, or for one region) over the official
data, the ``engine.calendar`` façade and the ``workdays(n)`` expression helper.

Effective kind of a day = the official data (weekends, 法定节假日, 调休上班), then the national overrides, then the
overrides of the region asked for, in that order (the last one that speaks wins)."""

from __future__ import annotations

import re
import threading
import time as monotonic_time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import partial
from numbers import Real
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine as DbEngine
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import (
    DEFAULT_OFFICE_HOURS,
    CalendarYearUnknown,
    WorkingCalendar,
    known_years,
    official_days,
    parse_day,
)
from engine.errors import InvalidInput, NotFound
from engine.persistence.models import CalendarDay

KINDS = ("holiday", "workday")


class ProvisionalInstant(datetime):
    """A deadline estimated Monday–Friday because a year on the way has no calendar data; it remembers how it was
    asked for (``start``, ``n`` working days, ``region``) so that it can be recomputed when the year is added."""

    start: datetime
    n: int
    region: str | None

    @classmethod
    def of(cls, due: datetime, start: datetime, n: int, region: str | None) -> ProvisionalInstant:
        value = cls(due.year, due.month, due.day, due.hour, due.minute, due.second, due.microsecond, due.tzinfo)
        value.start, value.n, value.region = start, n, region
        return value
# an administrator's copy of a year's official schedule (before the data file knows the year): rows of kind
# official-holiday / official-workday, plus one official-year row (on 1 January) that says the year is complete
OFFICIAL_KINDS = ("official-holiday", "official-workday", "official-year")
REGION = re.compile(r"^[\w.-]{1,48}$")


def check_region(region: str | None) -> str | None:
    """``None`` or ``""`` is national; a region is 1-48 letters (Chinese too), digits, ``_ . -``."""
    if region is None or region == "":
        return None
    if not isinstance(region, str) or not REGION.match(region):
        raise InvalidInput(f"region '{region}' is not a region name (1-48 letters, digits, '_', '.', '-'; "
                           f"e.g. 440300 or shenzhen)", region=str(region))
    return region


def _row_id(day: date, region: str | None) -> str:
    # one override per (day, region): the primary key makes a concurrent duplicate fail and re-run the command
    return f"{day.isoformat()}@{region}" if region else day.isoformat()


@dataclass(frozen=True)
class CalendarDayView:
    """A non-standard day of a year: its effective kind and where that comes from."""

    day: date
    kind: str  # holiday | workday
    source: str  # "official" | "override" (national) | "override:<region>"
    name: str | None = None  # the festival (official) or the note of the override
    region: str | None = None  # the region of the override that decides, None when national/official
    official: str | None = None  # what the official data says, when an override changes it
    created_by: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "weekday": self.day.strftime("%a"), "kind": self.kind,
                "source": self.source, "name": self.name, "region": self.region, "official": self.official,
                "createdBy": self.created_by}


def _standard_kind(day: date) -> str:
    return "workday" if day.weekday() < 5 else "holiday"


def _overrides(session: Session, region: str | None, first: date | None = None,
               last: date | None = None) -> list[CalendarDay]:
    stmt = select(CalendarDay)
    stmt = stmt.where(CalendarDay.region.is_(None) | (CalendarDay.region == region)) if region \
        else stmt.where(CalendarDay.region.is_(None))
    if first is not None:
        stmt = stmt.where(CalendarDay.day >= first)
    if last is not None:
        stmt = stmt.where(CalendarDay.day <= last)
    return list(session.scalars(stmt.order_by(CalendarDay.day)))


def _added_years(rows: list[tuple[date, str | None, str]]) -> dict[int, dict[date, bool]]:
    years = {day.year for day, _, kind in rows if kind == "official-year"}
    out: dict[int, dict[date, bool]] = {y: {} for y in years}
    for day, _, kind in rows:
        if kind in ("official-holiday", "official-workday") and day.year in out:
            out[day.year][day] = kind == "official-workday"
    return out


def _added_rows(session: Session) -> list[tuple[date, str | None, str]]:
    return [(r.day, r.region, r.kind) for r in session.scalars(
        select(CalendarDay).where(CalendarDay.kind.in_(OFFICIAL_KINDS)))]


class CalendarStore:
    """Builds ``WorkingCalendar`` objects with the stored overrides, cached per process (the overrides are read
    lazily, at the first use, and again after ``invalidate()`` — the façade calls it after every change — or after
    ``ttl`` seconds, so a change made by another process is seen within that time)."""

    def __init__(self, db: DbEngine, *, tz: ZoneInfo,
                 office_hours: tuple[tuple[time, time], ...] = DEFAULT_OFFICE_HOURS, region: str | None = None,
                 ttl: float = 60.0) -> None:
        self.db = db
        self.tz = tz
        self.office_hours = office_hours
        self.region = check_region(region)
        self.ttl = ttl
        self._rows: list[tuple[date, str | None, str]] | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._rows = None

    def _all_rows(self) -> list[tuple[date, str | None, str]]:
        with self._lock:
            if self._rows is not None and monotonic_time.monotonic() - self._loaded_at < self.ttl:
                return self._rows
        with Session(bind=self.db) as session:
            rows = [(r.day, r.region, r.kind) for r in session.scalars(select(CalendarDay))]
            session.rollback()
        with self._lock:
            self._rows, self._loaded_at = rows, monotonic_time.monotonic()
        return rows

    def calendar(self, region: str | None = None) -> WorkingCalendar:
        """The calendar of ``region`` (default: the engine's region setting; ``None`` there = national)."""
        region = check_region(region) if region is not None else self.region
        return self._build(self._all_rows(), region)

    def _build(self, rows: list[tuple[date, str | None, str]], region: str | None) -> WorkingCalendar:
        overrides: dict[date, bool] = {}
        for scope in (None, region) if region else (None,):  # the region's overrides win on the same day
            overrides.update({day: kind == "workday" for day, r, kind in rows if r == scope and kind in KINDS})
        return WorkingCalendar(self.tz, self.office_hours, overrides, _added_years(rows))

    def from_session(self, session: Session, region: str | None = None) -> WorkingCalendar:
        """The calendar as the current transaction sees it (the façade's reads and commands): one query for the
        overrides of the nation and of ``region`` and for the added official years (a case start reads it)."""
        region = check_region(region) if region is not None else self.region
        c = CalendarDay.__table__.c
        scope = c.region.is_(None) | (c.region == region) if region else c.region.is_(None)
        rows = [(r.day, r.region, r.kind) for r in session.connection().execute(
            select(c.day, c.region, c.kind).where(scope | c.kind.in_(OFFICIAL_KINDS)))]
        return self._build(rows, region)

    def workdays_function(self, now: Callable[[], datetime]) -> Callable[..., datetime]:
        """``workdays(n[, region])`` for expressions: the deadline ``n`` working days after now (the close of office
        hours of the n-th working day after today); a fractional ``n`` counts office hours (0.5 = half an office
        day)."""
        def workdays(n: Any, region: str | None = None) -> datetime:
            if isinstance(n, bool) or not isinstance(n, Real):
                raise InvalidInput(f"workdays(n): n must be a number of working days, got {n!r}")
            cal = self.calendar(region)
            start = now()
            if float(n) != int(n):
                if n < 0:
                    raise InvalidInput(f"a limit in working days cannot be negative ({n})")
                return cal.add_working_hours(start, float(n) * cal.hours_per_day)
            due, estimated = cal.add_working_days_provisional(start, int(n))
            if estimated:  # a year on the way has no data: a flagged estimate, recomputed when the year is added
                return ProvisionalInstant.of(due, start, int(n), region)
            return due
        return workdays


# --- commands (one transaction each, through the executor) ---------------------------------------------------
def show(session: Session, store: CalendarStore, year: int, region: str | None) -> list[CalendarDayView]:
    region = check_region(region)
    if isinstance(year, bool) or not isinstance(year, int):
        raise InvalidInput(f"'{year}' is not a year")
    added = _added_years(_added_rows(session)).get(year)
    if year not in known_years() and added is None:
        raise CalendarYearUnknown(year)
    if added is not None:
        notes = {r.day: r.note for r in session.scalars(select(CalendarDay).where(
            CalendarDay.kind.in_(OFFICIAL_KINDS[:2]), CalendarDay.day >= date(year, 1, 1),
            CalendarDay.day <= date(year, 12, 31)))}
        official = {d: ("workday" if w else "holiday", notes.get(d) or "") for d, w in sorted(added.items())}
    else:
        official = official_days(year)
    out: dict[date, CalendarDayView] = {d: CalendarDayView(d, kind, "official", name)
                                        for d, (kind, name) in official.items()}
    rows = sorted([r for r in _overrides(session, region, date(year, 1, 1), date(year, 12, 31)) if r.kind in KINDS],
                  key=lambda r: (r.region is not None, r.day))
    for row in rows:
        base = official[row.day][0] if row.day in official else _standard_kind(row.day)
        out[row.day] = CalendarDayView(row.day, row.kind, f"override:{row.region}" if row.region else "override",
                                       row.note, row.region, base, row.created_by)
    return [out[d] for d in sorted(out)]


def _effective(session: Session, store: CalendarStore, day: date, region: str | None) -> str:
    cal = store.from_session(session, region)
    try:
        return "workday" if cal.is_working_day(day) else "holiday"
    except CalendarYearUnknown as exc:
        raise CalendarYearUnknown(day.year, f" (refusing an override of {day.isoformat()})") from exc


def add_day(uow: Any, *, store: CalendarStore, day: Any, kind: str, region: str | None, note: str | None,
            actor: str | None) -> CalendarDayView:
    d, region = parse_day(day), check_region(region)
    if kind not in KINDS:
        raise InvalidInput(f"kind '{kind}' is not one of {', '.join(KINDS)}")
    if note is not None and len(note) > 500:
        raise InvalidInput(f"the note of {d.isoformat()} is longer than 500 characters")
    where = f" in region {region}" if region else " nationally"
    existing = uow.session.get(CalendarDay, _row_id(d, region))
    if existing is not None:
        raise InvalidInput(f"{d.isoformat()} already has an override{where} ({existing.kind}); remove it first",
                           day=d.isoformat(), region=region)
    current = _effective(uow.session, store, d, region)
    if current == kind:
        what = "a working day" if kind == "workday" else "a day off"
        raise InvalidInput(f"{d.isoformat()} ({d.strftime('%a')}) is already {what}{where}", day=d.isoformat(),
                           region=region)
    row = CalendarDay(id=_row_id(d, region), day=d, region=region, kind=kind, note=note, created_by=actor,
                      created=uow.now)
    uow.session.add(row)
    uow.record("CalendarDayAdded", actor=actor, day=d.isoformat(), region=region, kind=kind, note=note,
               previous=current)
    return CalendarDayView(d, kind, f"override:{region}" if region else "override", note, region, current, actor)


def remove_day(uow: Any, *, store: CalendarStore, day: Any, region: str | None, actor: str | None) -> None:
    d, region = parse_day(day), check_region(region)
    row = uow.session.get(CalendarDay, _row_id(d, region))
    if row is None:
        where = f"in region {region}" if region else "nationally"
        raise NotFound(f"{d.isoformat()} has no override {where}", day=d.isoformat(), region=region)
    uow.record("CalendarDayRemoved", actor=actor, day=d.isoformat(), region=region, kind=row.kind, note=row.note)
    uow.session.delete(row)


def add_year(uow: Any, *, year: int, holidays: dict[str, str | None] | list[Any],
             workdays: dict[str, str | None] | list[Any], actor: str | None) -> dict[str, Any]:
    """Add the official schedule of a year the data file does not know yet (the State Council publishes it each
    November): its holidays and its 调休 working days. The year is then known: provisional deadlines in it can be
    recomputed. A year of the data file, or one added already, is refused."""
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidInput(f"'{year}' is not a year (2000-2100)")
    if year in known_years():
        raise InvalidInput(f"{year} is in the official data already (engine/calendar/data/cn.json); "
                           f"change single days with add-holiday/add-workday")
    if uow.session.get(CalendarDay, f"official:{year}") is not None:
        raise InvalidInput(f"the official schedule of {year} was added already; remove-year first to replace it")

    def days(values: Any, what: str) -> dict[date, str | None]:
        items = values.items() if isinstance(values, dict) else ((v, None) for v in values)
        out = {}
        for value, name in items:
            d = parse_day(value)
            if d.year != year:
                raise InvalidInput(f"{what} {d.isoformat()} is not in {year}", day=d.isoformat())
            out[d] = name
        return out

    hol, work = days(holidays, "holiday"), days(workdays, "working day")
    if not hol:
        raise InvalidInput(f"the schedule of {year} lists no holidays (元旦, 春节, ... are always there)")
    both = sorted(set(hol) & set(work))
    if both:
        raise InvalidInput(f"{both[0].isoformat()} is listed both as a holiday and as a working day")
    for d, name in hol.items():
        uow.session.add(CalendarDay(id=f"official:{d.isoformat()}", day=d, region=None, kind="official-holiday",
                                    note=name, created_by=actor, created=uow.now))
    for d, name in work.items():
        uow.session.add(CalendarDay(id=f"official:{d.isoformat()}", day=d, region=None, kind="official-workday",
                                    note=name, created_by=actor, created=uow.now))
    uow.session.add(CalendarDay(id=f"official:{year}", day=date(year, 1, 1), region=None, kind="official-year",
                                note=f"official schedule of {year}", created_by=actor, created=uow.now))
    uow.record("CalendarYearAdded", actor=actor, year=year, holidays=sorted(d.isoformat() for d in hol),
               workdays=sorted(d.isoformat() for d in work))
    return {"year": year, "holidays": len(hol), "workdays": len(work)}


class CalendarService:
    """``engine.calendar``: the working-day calendar (official data + overrides), one transaction per call."""

    def __init__(self, ex: Any) -> None:
        self._ex = ex

    @property
    def store(self) -> CalendarStore:
        return self._ex.services.calendar

    def calendar(self, region: str | None = None) -> WorkingCalendar:
        """A ``WorkingCalendar`` with the stored overrides of ``region`` (national when none), read now."""
        return self._ex.read(lambda s: self.store.from_session(s, region))

    def show(self, year: int, region: str | None = None) -> list[CalendarDayView]:
        """Every non-standard day of ``year`` (official holidays and 调休 working days, and the overrides) with its
        source."""
        return self._ex.read(lambda s: show(s, self.store, year, region))

    def _change(self, command: Callable[..., Any]) -> Any:
        try:
            return self._ex.run(command)
        finally:
            self.store.invalidate()

    def add_holiday(self, day: date | str, region: str | None = None, note: str | None = None,
                    actor: str | None = None) -> CalendarDayView:
        return self._change(partial(add_day, store=self.store, day=day, kind="holiday", region=region, note=note,
                                    actor=actor))

    def add_workday(self, day: date | str, region: str | None = None, note: str | None = None,
                    actor: str | None = None) -> CalendarDayView:
        return self._change(partial(add_day, store=self.store, day=day, kind="workday", region=region, note=note,
                                    actor=actor))

    def add_year(self, year: int, holidays: Any, workdays: Any, actor: str | None = None) -> dict[str, Any]:
        """Add a year's official schedule, then recompute the provisional deadlines that needed it (the returned
        ``recomputed`` lists their cases)."""
        result = self._change(partial(add_year, year=year, holidays=holidays, workdays=workdays, actor=actor))
        from engine.caseclock import clock as case_clock

        result["recomputed"] = self._ex.run(partial(case_clock.recompute_provisional, actor=actor))
        return result

    def remove_override(self, day: date | str, region: str | None = None, actor: str | None = None) -> None:
        self._change(partial(remove_day, store=self.store, day=day, region=region, actor=actor))

    def deadline(self, start: datetime | str, working_days: int, region: str | None = None) -> datetime:
        """The close of office hours of the ``working_days``-th working day after the day of ``start``."""
        start = _instant(start)
        if isinstance(working_days, bool) or not isinstance(working_days, int):
            raise InvalidInput(f"'{working_days}' is not a whole number of working days")
        return self._ex.read(lambda s: self.store.from_session(s, region).add_working_days(start, working_days))

    def deadline_provisional(self, start: datetime | str, working_days: int,
                             region: str | None = None) -> tuple[datetime, bool]:
        """``deadline``, or a Monday–Friday estimate flagged ``True`` when a year on the way has no data."""
        start = _instant(start)
        return self._ex.read(
            lambda s: self.store.from_session(s, region).add_working_days_provisional(start, working_days))


def _instant(value: datetime | str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(f"'{value}' is not an ISO 8601 date-time (e.g. 2026-09-28T10:00:00+08:00)") from None
    if not isinstance(value, datetime):
        raise InvalidInput(f"'{value}' is not a date-time")
    if value.tzinfo is None:
        raise InvalidInput(f"'{value.isoformat()}' has no UTC offset (e.g. 2026-09-28T10:00:00+08:00)")
    return value
