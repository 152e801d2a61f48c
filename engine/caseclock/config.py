"""What designers write in diagrams about time limits, parsed and checked at deploy time.

Process level (``camunda:properties`` of the ``bpmn:process``)::

    promisedLimit  承诺时限, e.g. 5wd, 0.5wd (office hours), 4h (office hours), P3D (calendar time)
    legalLimit     法定时限, same syntax (e.g. 20wd)
    warnBefore     yellow threshold before the promised deadline (default: max(1, ceil(20% of the limit)) wd)
    clockStart     'start' (default: the case's start is its acceptance) or the id of the activity whose
                   completion is the acceptance (受理), e.g. the window intake task
    clockStop      id of the activity whose completion stops the clock (e.g. delivery); default: the case's end
    clockStartTime name of a variable the clockStart activity may set to the instant (ISO 8601 with offset) the
                   case counts as accepted from, when that is earlier than the activity's completion: 行政许可法 §32,
                   a case not told to supplement within 5 days counts as accepted from the day of receipt
    promisedLimitVariable  name of a variable the clockStart activity may set to this case's promised limit
                   (same syntax, e.g. 1wd from a DMN output: mortgages are promised in 1 working day, other
                   registrations in 5); absent or not a limit: promisedLimit

User task level (``camunda:properties`` of a ``bpmn:userTask``), next to ``camunda:dueDate``/``followUpDate``::

    warnBefore          the task's followUp (warning time) = due - warnBefore, when followUpDate is absent
    onTimeout           WARN_ONLY (default) | DEEMED_APPROVED | ESCALATE
    formalOpinionLimit  DEEMED_APPROVED: limit of the follow-up task 出具正式意见 (default 1wd)
    escalateTo          ESCALATE: candidate group of the supervision task (default supervisor)
    deemedVariables     DEEMED_APPROVED: JSON object of variables set on the deemed completion
                        (default {"approved": true, "opinion": "默认同意", "deemed": true})
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.calendar import WorkingCalendar
from engine.errors import InvalidInput, Problem

POLICIES = ("WARN_ONLY", "DEEMED_APPROVED", "ESCALATE")
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(wd|h)\s*$", re.IGNORECASE)
_ISO = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(?:\.\d+)?S)?)?$")
PROCESS_KEYS = ("promisedLimit", "legalLimit", "warnBefore", "clockStart", "clockStop", "clockStartTime",
                "promisedLimitVariable")
TASK_KEYS = ("warnBefore", "onTimeout", "formalOpinionLimit", "escalateTo", "deemedVariables")


@dataclass(frozen=True)
class Span:
    """A limit: ``amount`` working days (``wd``), office hours (``h``) or a calendar duration (``iso``)."""

    text: str
    unit: str  # wd | h | iso
    amount: float = 0.0
    duration: timedelta | None = None

    @property
    def working_days(self) -> float:
        return self.amount if self.unit == "wd" else 0.0

    def add(self, cal: WorkingCalendar, start: datetime, extra_days: int = 0) -> datetime:
        """The deadline of this limit from ``start``, moved by ``extra_days`` working days (suspensions and
        extensions)."""
        if self.unit == "wd" and float(self.amount).is_integer():
            return cal.add_working_days(start, int(self.amount) + extra_days)
        if self.unit == "iso":
            assert self.duration is not None
            end = start + self.duration
        else:
            hours = self.amount * (cal.hours_per_day if self.unit == "wd" else 1.0)
            end = cal.add_working_hours(start, hours)
        return shift_working_days(cal, end, extra_days)

    def subtract(self, cal: WorkingCalendar, deadline: datetime) -> datetime:
        """The instant ``self`` before ``deadline`` (a warning threshold); hours and fractions of a working day are
        office hours, as when adding."""
        if self.unit == "wd" and float(self.amount).is_integer():
            return back_working_days(cal, deadline, int(self.amount))
        if self.unit == "iso":
            assert self.duration is not None
            return deadline - self.duration
        return cal.subtract_working_hours(deadline, self.amount * (cal.hours_per_day if self.unit == "wd" else 1.0))


def _iso_duration(text: str) -> timedelta | None:
    m = _ISO.match(text.strip())
    if not m or m.group(1) or m.group(2):  # years and months have no fixed length: refuse them
        return None
    weeks = int((m.group(3) or "0W")[:-1])
    days = int((m.group(4) or "0D")[:-1])
    hours = int((m.group(6) or "0H")[:-1])
    minutes = int((m.group(7) or "0M")[:-1])
    seconds = float((m.group(8) or "0S")[:-1])
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def parse_span(text: str, what: str = "limit") -> Span:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"{what} is empty (write e.g. 5wd, 0.5wd, 4h or P2D)")
    m = _SPAN.match(text)
    if m:
        return Span(text.strip(), m.group(2).lower(), float(m.group(1)))
    duration = _iso_duration(text)
    if duration is not None:
        return Span(text.strip(), "iso", 0.0, duration)
    raise InvalidInput(f"{what} '{text}' is not a limit: write working days (5wd, 0.5wd), office hours (4h) or an "
                       f"ISO 8601 duration without years or months (P2D, PT4H)")


def shift_working_days(cal: WorkingCalendar, instant: datetime, days: int) -> datetime:
    """``instant`` moved ``days`` working days later, at the same local time (what a suspension of ``days``
    working days does to a deadline)."""
    if days <= 0:
        return instant
    local = instant.astimezone(cal.tz)
    day, counted = local.date(), 0
    while counted < days:
        day += timedelta(days=1)
        if cal.is_working_day(day):
            counted += 1
    return datetime.combine(day, local.timetz())


def back_working_days(cal: WorkingCalendar, instant: datetime, days: int) -> datetime:
    """The close of office hours of the working day ``days`` working days before ``instant``'s day: from then on
    at most ``days`` working days remain."""
    day, counted = instant.astimezone(cal.tz).date(), 0
    while counted < days:
        day -= timedelta(days=1)
        if cal.is_working_day(day):
            counted += 1
    return datetime.combine(day, cal.office_hours[-1][1], tzinfo=cal.tz)


def working_days_left(cal: WorkingCalendar, now: datetime, deadline: datetime) -> int:
    """Working days from today (not counted) to the deadline's day; negative: working days past it."""
    today, last = now.astimezone(cal.tz).date(), deadline.astimezone(cal.tz).date()
    if last > today:
        return cal.working_days_between(today + timedelta(days=1), last)
    if last == today:
        return 0 if now <= deadline else -1
    return -max(1, cal.working_days_between(last + timedelta(days=1), today))


@dataclass(frozen=True)
class ClockConfig:
    promised: Span | None
    legal: Span | None
    warn_before: Span | None
    start: str  # 'start' or an activity id
    stop: str | None
    start_time: str | None = None  # variable (set by the clockStart activity) holding an earlier acceptance instant
    promised_variable: str | None = None  # variable (set by the clockStart activity) holding the case's promise


@dataclass(frozen=True)
class TaskPolicy:
    warn_before: Span | None
    on_timeout: str
    formal_opinion_limit: Span
    escalate_to: str
    deemed_variables: dict[str, Any]


DEFAULT_DEEMED = {"approved": True, "opinion": "默认同意", "deemed": True}


def clock_config(properties: dict[str, str]) -> ClockConfig | None:
    if not properties.get("promisedLimit") and not properties.get("legalLimit"):
        return None
    return ClockConfig(
        promised=parse_span(properties["promisedLimit"], "promisedLimit") if properties.get("promisedLimit") else None,
        legal=parse_span(properties["legalLimit"], "legalLimit") if properties.get("legalLimit") else None,
        warn_before=parse_span(properties["warnBefore"], "warnBefore") if properties.get("warnBefore") else None,
        start=(properties.get("clockStart") or "start").strip(),
        stop=(properties.get("clockStop") or "").strip() or None,
        start_time=(properties.get("clockStartTime") or "").strip() or None,
        promised_variable=(properties.get("promisedLimitVariable") or "").strip() or None,
    )


def task_policy(properties: dict[str, str]) -> TaskPolicy:
    policy = (properties.get("onTimeout") or "WARN_ONLY").strip().upper()
    if policy not in POLICIES:
        raise InvalidInput(f"onTimeout '{properties.get('onTimeout')}' is not one of {', '.join(POLICIES)}")
    deemed = dict(DEFAULT_DEEMED)
    if properties.get("deemedVariables"):
        try:
            extra = json.loads(properties["deemedVariables"])
        except ValueError as exc:
            raise InvalidInput(f"deemedVariables is not JSON: {exc}") from exc
        if not isinstance(extra, dict):
            raise InvalidInput("deemedVariables must be a JSON object, e.g. {\"approved\": true}")
        deemed.update(extra)
    return TaskPolicy(
        warn_before=parse_span(properties["warnBefore"], "warnBefore") if properties.get("warnBefore") else None,
        on_timeout=policy,
        formal_opinion_limit=parse_span(properties.get("formalOpinionLimit") or "1wd", "formalOpinionLimit"),
        escalate_to=(properties.get("escalateTo") or "supervisor").strip(),
        deemed_variables=deemed,
    )


def default_warn_days(promised: Span) -> int:
    """domain.md §1.6: yellow when the remaining working days are <= max(1, ceil(20% of the promised limit))."""
    return max(1, math.ceil(0.2 * promised.amount)) if promised.unit == "wd" else 0


def check(meta: dict[str, Any], filename: str, activity_ids: set[str]) -> list[Problem]:
    """Deploy-time check of the time-limit properties of every process and user task in ``meta``."""
    problems: list[Problem] = []
    seen: set[int] = set()
    for key, m in meta.items():
        if id(m) in seen:
            continue
        seen.add(id(m))
        props = m.properties or {}
        where = f"{'process' if m.kind == 'process' else m.kind} '{m.element_id}'"
        try:
            if m.kind == "process":
                cfg = clock_config(props)
                if cfg is None and any(props.get(k) for k in ("warnBefore", "clockStart", "clockStop",
                                                               "clockStartTime", "promisedLimitVariable")):
                    raise InvalidInput("warnBefore/clockStart/clockStop/clockStartTime/promisedLimitVariable need a "
                                       "promisedLimit or legalLimit")
                if cfg is not None:
                    for name, ref in (("clockStart", None if cfg.start == "start" else cfg.start),
                                      ("clockStop", cfg.stop)):
                        if ref and ref not in activity_ids:
                            raise InvalidInput(f"{name} '{ref}' is not the id of an activity of the diagram")
                    if cfg.start_time is not None:
                        if cfg.start == "start":
                            raise InvalidInput("clockStartTime needs clockStart naming the acceptance activity")
                        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", cfg.start_time):
                            raise InvalidInput(f"clockStartTime '{cfg.start_time}' must name a variable")
                    if cfg.promised_variable is not None:
                        if cfg.start == "start":
                            raise InvalidInput("promisedLimitVariable needs clockStart naming the acceptance activity")
                        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", cfg.promised_variable):
                            raise InvalidInput(f"promisedLimitVariable '{cfg.promised_variable}' must name a variable")
            elif m.kind == "userTask" and any(k in props for k in TASK_KEYS):
                task_policy(props)
        except InvalidInput as exc:
            problems.append(Problem(f"{where}: {exc.message}", file=filename, element_id=m.element_id))
    return problems


def local_text(uow: Any, value: datetime | None) -> str:
    """An instant as people read it in a notification: the engine's zone, minutes (``2026-03-27 10:00``)."""
    if value is None:
        return "?"
    return value.astimezone(uow.services.tz).strftime("%Y-%m-%d %H:%M")
