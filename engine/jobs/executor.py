"""Firing jobs: each in its own transaction, at most once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.errors import NotFound
from engine.persistence.models import Job, ProcessDefinition
from engine.runtime import spiff
from engine.runtime.cases import load_case, run_steps, save_case

from . import handlers, starts
from .timers import timer_due

MAX_ATTEMPTS = 3
_J = Job.__table__
_DUE = (select(_J.c.id, _J.c.due).where(_J.c.state == "PENDING", _J.c.due <= bindparam("now", type_=_J.c.due.type),
                                        or_(_J.c.retry_at.is_(None),
                                            _J.c.retry_at <= bindparam("now", type_=_J.c.due.type)))
        .order_by(_J.c.due, _J.c.id).limit(bindparam("limit")))
_NEXT_DUE = select(_J.c.due).where(_J.c.state == "PENDING").order_by(_J.c.due).limit(1)
# PostgreSQL: a job another worker is firing is skipped, not waited for; SQLite ignores the clause (one writer)
_LOCK = select(Job).where(Job.id == bindparam("jid")).with_for_update(skip_locked=True).execution_options(
    populate_existing=True)


class NotBefore(Clock):
    """The engine clock, but never earlier than ``floor``: SpiffWorkflow fires a timer only once the clock has
    passed its due time, and a job is fired at (or after) its due time."""

    def __init__(self, base: Clock, floor: datetime) -> None:
        self.base = base
        self.floor = floor

    def now(self) -> datetime:
        return max(self.base.now(), self.floor)


@dataclass(frozen=True)
class JobResult:
    job_id: str
    outcome: str  # fired | cancelled | skipped | suspended | failed | incident
    instance_id: str | None = None
    activity_id: str | None = None
    message: str | None = None


def due_jobs(session: Session, now: datetime, limit: int) -> list[tuple[str, datetime]]:
    return [(r.id, r.due) for r in session.connection().execute(_DUE, {"now": now, "limit": limit})]


def next_due(session: Session) -> datetime | None:
    return session.connection().execute(_NEXT_DUE).scalar()


def fire_job(uow: Any, job_id: str, worker_id: str | None) -> JobResult:
    job = uow.session.scalars(_LOCK, {"jid": job_id}).first()
    if job is None or job.state != "PENDING" or job.due > uow.now:
        return JobResult(job_id, "skipped")
    uow.firing_job_id, uow.firing_worker = job.id, worker_id
    result = "fired"
    if job.job_type == "timer-start":
        definition = uow.session.get(ProcessDefinition, job.definition_id)
        if definition is not None and definition.suspended:
            return JobResult(job_id, "suspended", None, None)
        started = starts.fire(uow, job, worker_id) if definition is not None else None
        result = "fired" if definition is not None else "cancelled"
        if started is not None:  # the job belongs to the definition; the case it started is told in the history
            uow.record("ProcessInstanceStartedByTimer", instance_id=started, actor=worker_id, jobId=job.id,
                       definitionId=job.definition_id, due=job.due.isoformat())
            job.state, job.executed_at, job.executed_by = "DONE", uow.now, worker_id
            job.attempts = (job.attempts or 0) + 1
            return JobResult(job_id, "fired", started, None)
    elif job.job_type in handlers.HANDLERS:
        result = handlers.HANDLERS[job.job_type](uow, job, worker_id)
        if result == "suspended":
            return JobResult(job_id, "suspended", job.instance_id, job.activity_id)
    elif job.instance_id is not None:
        try:
            case = load_case(uow, job.instance_id)
        except NotFound:
            case = None
        if case is not None and case.row.state == "SUSPENDED":
            return JobResult(job_id, "suspended", job.instance_id, job.activity_id)
        task = spiff.find_task(case.wf, job.task_id) if case is not None else None
        if case is None or case.row.state != "ACTIVE" or task is None or timer_due(task) is None or \
                task.state != spiff.TaskState.WAITING:
            result = "cancelled"  # the timer stopped waiting in a transaction that committed first
        else:
            case.wf.refresh_timers()
            if task.state == spiff.TaskState.WAITING and timer_due(task) == job.due:
                raise RuntimeError(f"timer '{job.activity_id}' did not fire at {uow.now.isoformat()}")
            run_steps(uow, case)
            save_case(uow, case)
    job.state = "DONE" if result == "fired" else "CANCELLED"
    job.executed_at, job.executed_by = uow.now, worker_id
    job.attempts = (job.attempts or 0) + 1
    uow.record("JobExecuted" if result == "fired" else "JobCancelled", instance_id=job.instance_id,
               activity_id=job.activity_id, actor=worker_id, jobId=job.id, jobType=job.job_type,
               due=job.due.isoformat())
    return JobResult(job_id, result, job.instance_id, job.activity_id)


def record_failure(uow: Any, job_id: str, error: str, worker_id: str | None) -> JobResult:
    """A failed attempt: retry with backoff (10 s, 40 s, ...), then FAILED (visible in ``onewindow jobs``)."""
    job = uow.session.get(Job, job_id)
    if job is None or job.state != "PENDING":
        return JobResult(job_id, "skipped")
    job.attempts = (job.attempts or 0) + 1
    job.last_error = error[:2000]
    job.executed_by = worker_id
    if job.attempts >= MAX_ATTEMPTS:
        job.state = "FAILED"
        uow.record("JobFailed", instance_id=job.instance_id, activity_id=job.activity_id, actor=worker_id,
                   jobId=job.id, attempts=job.attempts, error=job.last_error)
    else:
        job.retry_at = uow.now + timedelta(seconds=10 * job.attempts**2)
        uow.record("JobRetryScheduled", instance_id=job.instance_id, activity_id=job.activity_id, actor=worker_id,
                   jobId=job.id, attempts=job.attempts, retryAt=job.retry_at.isoformat(), error=job.last_error)
    return JobResult(job_id, "failed", job.instance_id, job.activity_id, job.last_error)


def retry(uow: Any, job_id: str, actor: str | None) -> None:
    """A person retries a FAILED job: it becomes PENDING again with fresh attempts."""
    job = uow.session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job '{job_id}' does not exist")
    if job.state != "FAILED":
        from engine.errors import Conflict

        raise Conflict(f"job '{job_id}' is {job.state.lower()}, only a failed job can be retried")
    job.state, job.attempts, job.retry_at, job.last_error = "PENDING", 0, None, None
    uow.record("JobRetried", instance_id=job.instance_id, activity_id=job.activity_id, actor=actor, jobId=job.id)
