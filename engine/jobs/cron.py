"""Cron cycles as Camunda 7 writes them (its ``CronExpression`` is Quartz's): six or seven fields,

    second minute hour day-of-month month day-of-week [year]

evaluated in the engine's time zone (``settings.timezone``, Asia/Shanghai) on the engine clock.

* ``*`` every value; ``?`` no specific value (day-of-month or day-of-week: exactly one of the two must be ``?``,
  as in Quartz); ``a-b`` a range (``FRI-MON`` and ``22-2`` wrap around); ``a,b,c`` a list; ``a/n`` or ``*/n``
  every n-th value from a (``a-b/n`` within a range).
* month 1-12 or ``JAN``-``DEC``; day-of-week 1-7 = ``SUN``-``SAT`` (Quartz numbering: 1 is Sunday); year
  1970-2099; names are case-insensitive.
* day-of-month: ``L`` the last day, ``L-3`` three days before it, ``15W`` the weekday (Mon-Fri) nearest the 15th
  within the month, ``LW`` the last weekday of the month.
* day-of-week: ``L`` alone is Saturday (7); ``6L`` / ``FRIL`` the last Friday of the month; ``6#3`` / ``FRI#3``
  the third Friday (a month without one does not fire).

``parse`` raises ``CronError`` naming the field and what is wrong; ``next_after`` gives the first instant strictly
after a given one (whole seconds), or None when the expression never fires again (a past year).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

FIELD_NAMES = ("second", "minute", "hour", "day-of-month", "month", "day-of-week", "year")
_BOUNDS = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2099))
MONTHS = {name: i for i, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
DAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
_FIELD_CHARS = re.compile(r"^[0-9A-Za-z*?/,#\-]+$")


class CronError(ValueError):
    """A cron expression that cannot be parsed; ``field`` names the bad field (e.g. 'day-of-week')."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def looks_like_cron(text: str) -> bool:
    """Is this timer text meant as a cron expression (5-7 blank-separated fields of cron characters)? Used to
    decide between cron and ISO 8601 before parsing: an ISO value is one word."""
    fields = str(text).split()
    return 5 <= len(fields) <= 7 and all(_FIELD_CHARS.match(f) for f in fields) and bool(re.match(r"[0-9*?/]", fields[0]))


@dataclass(frozen=True)
class _Days:
    """What the day-of-month or day-of-week field asks for."""
    any: bool = False  # '?' or '*'
    values: frozenset[int] = frozenset()
    last: bool = False  # day-of-month 'L' (with last_offset) / day-of-week 'nL' (values holds n)
    last_offset: int = 0
    weekday_near: int | None = None  # day-of-month 'nW'
    last_weekday: bool = False  # day-of-month 'LW'
    nth: int | None = None  # day-of-week 'n#k': values holds n, nth holds k


@dataclass(frozen=True)
class CronExpression:
    text: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    day_of_month: _Days
    months: frozenset[int]
    day_of_week: _Days
    years: frozenset[int] | None  # None: every year

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        return _dom_matches(self.day_of_month, day) and _dow_matches(self.day_of_week, day)

    def next_after(self, instant: datetime, tz: tzinfo) -> datetime | None:
        """The first firing strictly after ``instant`` (aware), as an aware UTC datetime."""
        local = instant.astimezone(tz)
        start = local.replace(microsecond=0, tzinfo=None) + timedelta(seconds=1)
        day, earliest = start.date(), start.time()
        limit = max(self.years) if self.years else _BOUNDS[6][1]
        while day.year <= limit:
            if self.years is not None and day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                earliest = time(0)
                continue
            if day.month not in self.months:
                day = date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
                earliest = time(0)
                continue
            if self.matches_day(day):
                at = self._first_time(earliest)
                while at is not None:
                    naive = datetime.combine(day, at)
                    utc = naive.replace(tzinfo=tz).astimezone(UTC)
                    # a local time that does not exist (a DST gap) is skipped
                    if utc.astimezone(tz).replace(tzinfo=None) == naive and utc > instant:
                        return utc
                    later = naive + timedelta(seconds=1)
                    at = self._first_time(later.time()) if later.date() == day else None
            day += timedelta(days=1)
            earliest = time(0)
        return None

    def _first_time(self, earliest: time) -> time | None:
        for h in self.hours:
            if h < earliest.hour:
                continue
            for m in self.minutes:
                if h == earliest.hour and m < earliest.minute:
                    continue
                for s in self.seconds:
                    if h == earliest.hour and m == earliest.minute and s < earliest.second:
                        continue
                    return time(h, m, s)
        return None

    def firings(self, after: datetime, tz: tzinfo, count: int) -> list[datetime]:
        out: list[datetime] = []
        at: datetime | None = after
        while len(out) < count and at is not None:
            at = self.next_after(at, tz)
            if at is not None:
                out.append(at)
        return out


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _quartz_dow(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday (0) -> 2, Sunday (6) -> 1


def _nearest_weekday(year: int, month: int, target: int) -> int:
    last = calendar.monthrange(year, month)[1]
    target = min(target, last)
    wd = date(year, month, target).weekday()
    if wd == 5:  # Saturday: the Friday before, unless that leaves the month
        return target - 1 if target > 1 else target + 2
    if wd == 6:  # Sunday: the Monday after, unless that leaves the month
        return target + 1 if target < last else target - 2
    return target


def _dom_matches(spec: _Days, day: date) -> bool:
    if spec.any:
        return True
    last = _last_day(day)
    if spec.last_weekday:
        return day.day == _nearest_weekday(day.year, day.month, last)
    if spec.last:
        return day.day == last - spec.last_offset
    if spec.weekday_near is not None:
        return day.day == _nearest_weekday(day.year, day.month, spec.weekday_near)
    return day.day in spec.values


def _dow_matches(spec: _Days, day: date) -> bool:
    if spec.any:
        return True
    dow = _quartz_dow(day)
    if dow not in spec.values:
        return False
    if spec.last:
        return day.day + 7 > _last_day(day)
    if spec.nth is not None:
        return (day.day - 1) // 7 + 1 == spec.nth
    return True


def _value(token: str, index: int) -> int:
    name = FIELD_NAMES[index]
    names = MONTHS if index == 4 else DAYS if index == 5 else None
    upper = token.upper()
    if names is not None and upper in names:
        return names[upper]
    if not token.isdigit():
        hint = " (JAN-DEC)" if index == 4 else " (SUN-SAT)" if index == 5 else ""
        raise CronError(f"'{token}' is not a valid {name} value{hint}", name)
    number = int(token)
    low, high = _BOUNDS[index]
    if not low <= number <= high:
        extra = " (Quartz numbering: 1 = SUN ... 7 = SAT)" if index == 5 else ""
        raise CronError(f"{name} value {number} is out of range {low}-{high}{extra}", name)
    return number


def _range(low: int, high: int, index: int) -> list[int]:
    if low <= high:
        return list(range(low, high + 1))
    lo, hi = _BOUNDS[index]
    return list(range(low, hi + 1)) + list(range(lo, high + 1))  # wraps around: FRI-MON, 22-2


def _set(text: str, index: int) -> frozenset[int]:
    name = FIELD_NAMES[index]
    low, high = _BOUNDS[index]
    out: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"the {name} field '{text}' has an empty list item", name)
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"the {name} field '{text}' has an invalid increment '/{step_text}'", name)
            step = int(step_text)
            if step > high - low + 1 and index != 6:
                raise CronError(f"the {name} increment /{step} is larger than the field's range {low}-{high}", name)
        if base in ("*", "?", ""):
            if base == "?" and slash:
                raise CronError(f"'?' cannot take an increment in the {name} field", name)
            values = list(range(low, high + 1))
        elif "-" in base:
            a, _, b = base.partition("-")
            values = _range(_value(a, index), _value(b, index), index)
        else:
            start = _value(base, index)
            values = list(range(start, high + 1)) if slash else [start]
        out.update(values[::step])
    return frozenset(out)


def _day_of_month(text: str) -> _Days:
    name = FIELD_NAMES[3]
    upper = text.upper()
    if upper in ("?", "*"):
        return _Days(any=True)
    if "L" in upper or "W" in upper:
        if "," in upper or "/" in upper:
            raise CronError(f"'L' and 'W' cannot be combined with lists or increments in the {name} field "
                            f"('{text}')", name)
        if upper == "LW":
            return _Days(last_weekday=True)
        if upper.startswith("L"):
            offset = upper[1:]
            if offset == "":
                return _Days(last=True)
            if offset.startswith("-") and offset[1:].isdigit() and int(offset[1:]) <= 30:
                return _Days(last=True, last_offset=int(offset[1:]))
            raise CronError(f"'{text}' is not a valid {name}: use L, L-n (n up to 30) or LW", name)
        if upper.endswith("W") and upper[:-1].isdigit():
            return _Days(weekday_near=_value(upper[:-1], 3))
        raise CronError(f"'{text}' is not a valid {name}: 'W' follows a single day (15W) or L (LW)", name)
    return _Days(values=_set(text, 3))


def _day_of_week(text: str) -> _Days:
    name = FIELD_NAMES[5]
    upper = text.upper()
    if upper in ("?", "*"):
        return _Days(any=True)
    if upper == "L":
        return _Days(values=frozenset({7}))
    if "#" in upper:
        day, _, nth = upper.partition("#")
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise CronError(f"'{text}' is not a valid {name}: the number after '#' must be 1-5", name)
        if "," in day or "-" in day or "/" in day:
            raise CronError(f"'#' follows a single day of the week in the {name} field ('{text}')", name)
        return _Days(values=frozenset({_value(day, 5)}), nth=int(nth))
    if upper.endswith("L"):
        day = upper[:-1]
        if "," in day or "-" in day or "/" in day:
            raise CronError(f"'L' follows a single day of the week in the {name} field ('{text}')", name)
        return _Days(values=frozenset({_value(day, 5)}), last=True)
    if "W" in upper.replace("WED", "") or "L" in upper:
        raise CronError(f"'{text}' is not a valid {name}", name)
    return _Days(values=_set(text, 5))


def parse(text: str) -> CronExpression:
    """Parse a Quartz cron expression; ``CronError`` names the field that is wrong."""
    fields = str(text).split()
    if len(fields) not in (6, 7):
        raise CronError(f"a cron expression has 6 or 7 fields (second minute hour day-of-month month day-of-week "
                        f"[year]); '{text.strip()}' has {len(fields)}")
    for index, value in enumerate(fields):
        if not _FIELD_CHARS.match(value):
            raise CronError(f"the {FIELD_NAMES[index]} field '{value}' has characters cron does not use",
                            FIELD_NAMES[index])
        if "?" in value and index not in (3, 5):
            raise CronError(f"'?' is allowed only in day-of-month and day-of-week, not in the {FIELD_NAMES[index]} "
                            "field", FIELD_NAMES[index])
    dom_text, dow_text = fields[3], fields[5]
    if (dom_text == "?") == (dow_text == "?"):
        raise CronError("exactly one of day-of-month and day-of-week must be '?' (Quartz does not combine them): "
                        f"'{dom_text}' and '{dow_text}'", "day-of-week" if dom_text != "?" else "day-of-month")
    for index in (0, 1, 2, 4, 6):
        if index < len(fields) and re.search(r"[LW#]", fields[index].upper().replace("JUL", "")):
            raise CronError(f"'L', 'W' and '#' belong to day-of-month and day-of-week, not the {FIELD_NAMES[index]} "
                            f"field ('{fields[index]}')", FIELD_NAMES[index])
    expr = CronExpression(
        text=" ".join(fields),
        seconds=tuple(sorted(_set(fields[0], 0))), minutes=tuple(sorted(_set(fields[1], 1))),
        hours=tuple(sorted(_set(fields[2], 2))), day_of_month=_day_of_month(dom_text),
        months=_set(fields[4], 4), day_of_week=_day_of_week(dow_text),
        years=_set(fields[6], 6) if len(fields) == 7 and fields[6] != "*" else None,
    )
    return expr


def next_firing(text: str, after: datetime, tz: tzinfo) -> datetime | None:
    """The first firing of ``text`` strictly after ``after``, in UTC."""
    return parse(text).next_after(after, tz)
