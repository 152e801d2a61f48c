"""Keep one PENDING job per waiting BPMN timer of a case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.persistence.models import Job

_J = Job.__table__
_PENDING_FOR_CASE = select(_J.c.id, _J.c.task_id, _J.c.due).where(
    _J.c.instance_id == bindparam("iid"), _J.c.state == "PENDING", _J.c.job_type == "timer")
_END = (update(_J).where(_J.c.id == bindparam("jid"), _J.c.state == "PENDING")
        .values(state=bindparam("new_state"), executed_at=bindparam("at"), executed_by=bindparam("by"),
                attempts=_J.c.attempts + bindparam("tried"), version=_J.c.version + 1))


def _is_timer(definition: Any) -> bool:
    if isinstance(definition, TimerEventDefinition):
        return True
    return any(_is_timer(d) for d in getattr(definition, "event_definitions", None) or ())


def timer_due(task: Any) -> datetime | None:
    """When a waiting timer task falls due (UTC), from what SpiffWorkflow stored when it started waiting."""
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):  # a cycle: {'cycles': n, 'next': iso, 'duration': s}
        if value.get("cycles", 0) == 0:
            return None
        value = value.get("next")
    if value is None:
        return None
    if isinstance(value, datetime):
        due = value
    else:
        parsed = TimerEventDefinition.parse_time_or_duration(str(value))
        if not isinstance(parsed, datetime):
            return None
        due = parsed
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return due.astimezone(UTC)


def waiting_timers(wf: Any) -> dict[str, tuple[Any, datetime]]:
    """Spiff task id -> (task, due) for every timer the case waits for."""
    out: dict[str, tuple[Any, datetime]] = {}
    for task in list(wf.event_manager.tasks.values()):
        if not _is_timer(task.task_spec.event_definition):
            continue
        if task.internal_data.get(PAUSED_DUE):  # paused with the case clock (engine/caseclock/policies.py)
            continue
        due = timer_due(task)
        if due is not None:
            out[str(task.id)] = (task, due)
    return out


def _timer_fired(task: Any) -> bool:
    """Did this task's timer fire (rather than the task being cancelled, or another event winning)?"""
    if task is None or task.internal_data.get(PAUSED_DUE):
        return False
    definition = task.task_spec.event_definition
    if isinstance(definition, TimerEventDefinition):
        # a timer event completes only by firing; a cycle fires and waits again for its next instant
        return bool(task.state == TaskState.COMPLETED or task.state == TaskState.WAITING)
    # an event-based gateway or a multiple event: fired if the event it caught was the timer
    seen = task.internal_data.get("seen_events") or []
    return any(isinstance(getattr(e, "event_definition", None), TimerEventDefinition) for e in seen)


def _find(wf: Any, task_id: str) -> Any | None:
    try:
        return wf.get_task_from_id(uuid.UUID(task_id))
    except Exception:  # unknown id (compacted away, or not a uuid)
        return None


def _key(due: datetime) -> str:
    return due.astimezone(UTC).isoformat(timespec="microseconds")


PAUSED_DUE = "_onewindow_paused_due"  # a timer paused by a clock suspension keeps its due time here
TIMER_JOBS_ATTR = "_onewindow_timer_jobs"  # on a live workflow: (task id, due) -> PENDING job id, see projection


def sync_timer_jobs(uow: Any, row: Any, wf: Any) -> None:
    """Insert a job for each new waiting timer; cancel the PENDING jobs of timers that no longer wait (the job
    being fired by this command is left to the executor, which marks it DONE)."""
    desired = {(tid, _key(due)): (task, due) for tid, (task, due) in waiting_timers(wf).items()}
    existing: dict[tuple[str, str], str] | None = getattr(wf, TIMER_JOBS_ATTR, None)
    if existing is None:
        rows = uow.session.connection().execute(_PENDING_FOR_CASE, {"iid": row.id}).all()
        existing = {(task_id, _key(due)): jid for jid, task_id, due in rows}
    kept: dict[tuple[str, str], str] = {}
    for key, jid in existing.items():
        if key in desired:
            kept[key] = jid
        elif jid != uow.firing_job_id:
            # the timer stopped waiting at this due time: it fired in this transaction (another timer of the case
            # being fired fires every due one: SpiffWorkflow refreshes them all), or it was cancelled
            task = _find(wf, key[0])
            fired = _timer_fired(task)
            uow.write(_END, {"jid": jid, "at": uow.now, "new_state": "DONE" if fired else "CANCELLED",
                             "by": uow.firing_worker if fired else None, "tried": 1 if fired else 0})
            uow.record("JobExecuted" if fired else "JobCancelled", instance_id=row.id,
                       activity_id=getattr(task.task_spec, "bpmn_id", None) if task is not None else None,
                       actor=uow.firing_worker if fired else None, jobId=jid, taskId=key[0])
    for key, (task, due) in desired.items():
        if key in kept:
            continue
        jid = str(uuid.uuid4())
        activity = getattr(task.task_spec, "bpmn_id", None)
        uow.insert(Job.__table__, id=jid, job_type="timer", instance_id=row.id, activity_id=activity,
                   task_id=key[0], due=due, state="PENDING", attempts=0, last_error=None, executed_by=None,
                   executed_at=None, created=uow.now, version=1)
        uow.record("JobCreated", instance_id=row.id, activity_id=activity, jobId=jid, jobType="timer",
                   due=due.isoformat())
        uow.new_job_due(due)
        kept[key] = jid
    setattr(wf, TIMER_JOBS_ATTR, kept)
