"""Timer start events: a process whose start event is a timer gets a job per definition (not per case); when it
fires it starts a case of that definition, and a cycle (``R3/PT10M``, ``R/2026-05-01T09:00/P1D``) schedules its
next firing in the same transaction. Deploying a new version moves the schedule to it (Camunda's behaviour).

A cron cycle (``0 0/5 * * * ?``, Quartz syntax, see ``cron``) is evaluated in the engine's time zone; each firing
schedules the cron's next instant after the engine clock's now (Camunda's rule: firings missed while no worker ran
are not replayed one by one, the job that fires late fires once)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.errors import InvalidInput
from engine.persistence.models import Job, ProcessDefinition

from . import cron

_J = Job.__table__
_PD = ProcessDefinition.__table__
_CANCEL_OLD = (update(_J).where(_J.c.job_type == "timer-start", _J.c.state == "PENDING",
                                _J.c.definition_id.in_(select(_PD.c.id).where(_PD.c.key == bindparam("key"))))
               .values(state="CANCELLED", executed_at=bindparam("at"), version=_J.c.version + 1))


def _aware(value: datetime, tz: Any) -> datetime:
    return (value if value.tzinfo is not None else value.replace(tzinfo=tz)).astimezone(UTC)


def first_firing(uow: Any, tag: str, expression: str) -> dict[str, Any] | None:
    """The schedule of a timer start: {'due', 'cycles', 'duration_s'[, 'cron']}; None when it never fires."""
    try:
        value = uow.services.sandbox.evaluate(expression, {})
    except Exception as exc:  # noqa: BLE001 - the designer's expression: say which and why
        raise InvalidInput(f"timer start event: {tag} '{expression}' cannot be evaluated when the process is "
                           f"deployed ({exc}); write an ISO 8601 date, duration or R/… cycle") from exc
    try:
        return plan(tag, value, uow.now, uow.services.tz)
    except cron.CronError as exc:
        raise InvalidInput(f"timer start event: timeCycle '{value}' is not a valid cron expression: "
                           f"{exc.message}") from exc
    except Exception as exc:  # noqa: BLE001 - any parse failure is the designer's input
        raise InvalidInput(f"timer start event: '{value}' is not a valid ISO 8601 {tag} ({exc})") from exc


def plan(tag: str, value: Any, now: datetime, tz: Any) -> dict[str, Any] | None:
    """When a timer first falls due, counted from ``now``: {'due', 'cycles', 'duration_s'} plus 'cron' for a cron
    cycle; None when it never fires. ``value`` is the evaluated timer text (or a date-time). Raises
    ``cron.CronError`` or ``ValueError``-like errors for text that is not a timer."""
    if isinstance(value, datetime):
        return {"due": _aware(value, tz), "cycles": 0, "duration_s": 0}
    text = str(value).strip()
    if tag == "timeCycle" and cron.looks_like_cron(text):
        due = cron.parse(text).next_after(now, tz)
        return None if due is None else {"due": due, "cycles": -1, "duration_s": 0, "cron": " ".join(text.split())}
    if tag == "timeDate":
        return {"due": _aware(datetime.fromisoformat(text), tz), "cycles": 0, "duration_s": 0}
    if tag == "timeDuration":
        parsed = TimerEventDefinition.parse_iso_duration(text)
        return {"due": now + TimerEventDefinition.get_timedelta_from_start(parsed, now), "cycles": 0,
                "duration_s": 0}
    # timeCycle: an ISO 8601 repeating interval
    parts = text.upper().split("/")
    if len(parts) == 3 and not parts[1].startswith("P"):  # R[n]/start/duration: the start in local time
        cycles = int(parts[0][1:]) if parts[0][1:] else -1
        start = _aware(datetime.fromisoformat(text.split("/")[1]), tz)
        duration = TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(parts[2]), start)
    else:
        if not text.upper().startswith("R"):
            raise ValueError("a timeCycle is an ISO 8601 repeating interval (R/…) or a cron expression")
        cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(text)
        if len(parts) == 2:  # R[n]/duration: the first firing one duration from now (on the engine clock)
            start = now + duration
        start = start.astimezone(UTC)
    if cycles == 0:
        return None
    return {"due": start, "cycles": cycles, "duration_s": duration.total_seconds()}


def schedule(uow: Any, definition_id: str, key: str, timer_starts: tuple[tuple[str, str], ...]) -> None:
    """On deploy: the previous versions' timer starts are cancelled and this version's first firings scheduled."""
    uow.write(_CANCEL_OLD, {"key": key, "at": uow.now})
    for tag, expression in timer_starts:
        first = first_firing(uow, tag, expression)
        if first is not None:
            _insert(uow, definition_id, first["due"], {"tag": tag, "cycles": first["cycles"],
                                                       "duration_s": first["duration_s"],
                                                       **({"cron": first["cron"]} if "cron" in first else {})})


def _insert(uow: Any, definition_id: str, due: datetime, payload: dict[str, Any]) -> None:
    jid = str(uuid.uuid4())
    uow.insert(Job.__table__, id=jid, job_type="timer-start", instance_id=None, activity_id=None, task_id=None,
               definition_id=definition_id, payload=json.dumps(payload), due=due, state="PENDING", attempts=0,
               last_error=None, executed_by=None, executed_at=None, retry_at=None, created=uow.now, version=1)
    uow.record("JobCreated", jobId=jid, jobType="timer-start", definitionId=definition_id, due=due.isoformat())
    uow.new_job_due(due)


def fire(uow: Any, job: Any, worker_id: str | None) -> str | None:
    """Start a case of the job's definition; schedule the cycle's next firing. Returns the new case id."""
    from engine.runtime.instances import start_instance

    view = start_instance(uow, definition_id=job.definition_id, started_by=worker_id or "timer")
    payload = json.loads(job.payload or "{}")
    cycles = int(payload.get("cycles", 0))
    if payload.get("cron"):  # the cron's next instant after now, in the engine's time zone
        nxt = cron.parse(payload["cron"]).next_after(max(uow.now, job.due), uow.services.tz)
        if nxt is not None:
            _insert(uow, job.definition_id, nxt, payload)
    elif cycles != 0 and cycles != 1 and payload.get("duration_s"):
        nxt = job.due + timedelta(seconds=float(payload["duration_s"]))
        _insert(uow, job.definition_id, nxt, {**payload, "cycles": cycles - 1 if cycles > 0 else -1})
    return str(view.id)
