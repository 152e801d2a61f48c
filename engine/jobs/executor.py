"""Firing jobs at most once: acquire a batch under a lease, then fire each job with its effect in one transaction.

1. **Acquire** (one short write transaction): the due jobs that are PENDING, not waiting for a retry and not leased
   (or whose lease expired) get ``lock_owner`` = this caller and ``lock_expires`` = wall time + lease, and their
   ``version`` is bumped. PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` then ``UPDATE``; SQLite: the single
   writer. A lease is counted in wall-clock time (it is about a process being alive), due-ness on the engine clock.
2. **Fire**: timers and timer starts of distinct cases are fired several per transaction (``fire_batch``); job types
   of ``handlers.HANDLERS`` one per transaction. A job fires only if it is still PENDING and leased by this caller,
   and its completion is a version-guarded UPDATE of the version read after acquisition: a caller that was paused
   past its lease, while another acquired and fired the job, commits nothing (its command is re-run, finds the job
   no longer its own, and skips it). The effect, the job's DONE and its history commit together.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from engine._executor import _retryable
from engine.clock import Clock
from engine.errors import NotFound
from engine.persistence.models import Job, ProcessDefinition, ProcessInstance, Task
from engine.runtime import spiff
from engine.runtime.cases import load_case, run_steps, save_case
from engine.runtime.projection import ACTIVE_TASK_IDS_ATTR
from engine.types import JobView, iso

from . import handlers, starts
from .timers import TIMER_JOBS_ATTR, timer_due
from .timers import _key as timer_key

MAX_ATTEMPTS = 3
DEFAULT_LEASE_SECONDS = float(os.environ.get("ONEWINDOW_JOB_LEASE_SECONDS", "300"))
BATCHED_TYPES = ("timer", "timer-start")  # fired several per transaction, computed without the write lock
_J = Job.__table__
_NOW = bindparam("now", type_=_J.c.due.type)
_WALL = bindparam("wall", type_=_J.c.due.type)
_ACQUIRABLE = (select(_J.c.id).where(_J.c.state == "PENDING", _J.c.due <= _NOW,
                                     or_(_J.c.retry_at.is_(None), _J.c.retry_at <= _NOW),
                                     or_(_J.c.lock_expires.is_(None), _J.c.lock_expires <= _WALL))
               .order_by(_J.c.due, _J.c.id).limit(bindparam("limit")))
# PostgreSQL: rows another worker is acquiring are skipped, not waited for; SQLite ignores the clause (one writer)
_ACQUIRABLE_LOCKED = _ACQUIRABLE.with_for_update(skip_locked=True)
_LEASE = (update(_J).where(_J.c.id.in_(bindparam("ids", expanding=True)))
          .values(lock_owner=bindparam("owner"), lock_expires=bindparam("expires", type_=_J.c.due.type),
                  version=_J.c.version + 1)
          .returning(_J.c.id, _J.c.due, _J.c.job_type, _J.c.instance_id, _J.c.definition_id))
_NEXT_DUE = select(_J.c.due).where(_J.c.state == "PENDING").order_by(_J.c.due).limit(1)
# a batch's case rows, locked in one statement in id order (two workers locking overlapping batches cannot
# deadlock); SQLite ignores FOR UPDATE (its optimistic commands are guarded by the row versions they write)
_LOCK_CASES = (select(ProcessInstance).where(ProcessInstance.id.in_(bindparam("ids", expanding=True)))
               .order_by(ProcessInstance.id).with_for_update().execution_options(populate_existing=True))
_PENDING_TIMERS = select(_J.c.id, _J.c.instance_id, _J.c.task_id, _J.c.due).where(
    _J.c.instance_id.in_(bindparam("ids", expanding=True)), _J.c.state == "PENDING", _J.c.job_type == "timer")
_T = Task.__table__
_ACTIVE_TASKS = select(_T.c.instance_id, _T.c.id).where(  # what the projection reads per case (projection.py)
    _T.c.instance_id.in_(bindparam("ids", expanding=True)), _T.c.state == "ACTIVE", _T.c.origin.is_(None))
_JOBS = select(Job).where(Job.id.in_(bindparam("ids", expanding=True))).execution_options(populate_existing=True)


def wall_now() -> datetime:
    return datetime.now(UTC)


def lease_owner(worker_id: str | None) -> str:
    """A lease owner unique to one acquisition: two callers with the same worker name never share a lease."""
    return f"{worker_id or 'anonymous'}/{uuid.uuid4().hex[:12]}"[-128:]


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


@dataclass(frozen=True)
class Acquired:
    """A job this caller holds the lease of."""
    id: str
    due: datetime
    job_type: str
    instance_id: str | None
    definition_id: str | None


@dataclass(frozen=True)
class LeasedJobView(JobView):
    lock_owner: str | None = None
    lock_expires: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {**super().as_json(), "lockOwner": self.lock_owner, "lockExpires": iso(self.lock_expires)}


class JobFailed(Exception):
    """One job of a batch raised: the batch is rolled back; the caller records the failure and re-runs the rest."""

    def __init__(self, job_id: str, error: BaseException) -> None:
        super().__init__(f"job {job_id}: {type(error).__name__}: {error}")
        self.job_id = job_id
        self.error = error


def acquire(uow: Any, at: datetime, limit: int, owner: str, lease_seconds: float,
            wall: datetime | None = None) -> list[Acquired]:
    """Lease up to ``limit`` jobs due at ``at`` to ``owner`` (run it as a write command: it commits at once)."""
    wall = wall or wall_now()
    conn = uow.session.connection()
    ids = [r[0] for r in conn.execute(_ACQUIRABLE_LOCKED, {"now": at, "wall": wall, "limit": limit})]
    if not ids:
        return []
    rows = conn.execute(_LEASE, {"ids": ids, "owner": owner, "expires": wall + timedelta(seconds=lease_seconds)})
    got = [Acquired(r.id, r.due, r.job_type, r.instance_id, r.definition_id) for r in rows]
    got.sort(key=lambda a: (a.due, a.id))
    return got


def plan(acquired: list[Acquired], size: int) -> list[tuple[list[Acquired], bool]]:
    """Transactions for the acquired jobs, in due order: (jobs, batched). A batch holds timers and timer starts
    of distinct cases and definitions (one case is loaded once per transaction); any other job type goes alone."""
    out: list[tuple[list[Acquired], bool]] = []
    group: list[Acquired] = []
    keys: set[str] = set()
    for a in acquired:
        key = a.instance_id or f"def:{a.definition_id}"
        if a.job_type not in BATCHED_TYPES:
            if group:
                out.append((group, True))
                group, keys = [], set()
            out.append(([a], False))
            continue
        if key in keys or len(group) >= size:
            out.append((group, True))
            group, keys = [], set()
        group.append(a)
        keys.add(key)
    if group:
        out.append((group, True))
    return out


def due_jobs(session: Session, now: datetime, limit: int) -> list[tuple[str, datetime]]:
    """The due jobs nobody holds a lease on (read only; ``acquire`` is what takes them)."""
    return [(r.id, r.due) for r in session.connection().execute(_JOB_DUE, {"now": now, "wall": wall_now(),
                                                                             "limit": limit})]


_JOB_DUE = _ACQUIRABLE.with_only_columns(_J.c.id, _J.c.due)


def next_due(session: Session) -> datetime | None:
    return session.connection().execute(_NEXT_DUE).scalar()


def _release(job: Job) -> None:
    job.lock_owner, job.lock_expires = None, None


def _prefetch_cases(uow: Any, jobs: list[Acquired]) -> None:
    """Lock a batch's case rows with one ``SELECT ... FOR UPDATE`` (in id order) and read, for the cases whose
    workflow this process does not hold at that version, their PENDING timer jobs and ACTIVE task ids with one
    query each; deserialise those workflows into the workflow cache, keyed by the locked version. ``load_case``
    then takes each row from ``uow.locked`` and its workflow from the cache (no statement of its own), and the
    projection and ``sync_timer_jobs`` find what the rows hold on the workflow (no query per case)."""
    cache = getattr(uow.services, "workflows", None)
    ids = sorted({a.instance_id for a in jobs if a.job_type == "timer" and a.instance_id})
    if cache is None or not ids:
        return
    session = uow.session
    missing: dict[str, tuple[ProcessInstance, Any]] = {}
    for row in session.scalars(_LOCK_CASES, {"ids": ids}):
        uow.locked[row.id] = row
        if row.workflow_json is None:
            continue
        model = uow.services.models.get(session, row.definition_id)
        held = cache.take(row.id, row.version)
        if held is not None and held.spec is model.spec:  # this process has the workflow at that version
            cache.put(row.id, row.version, held)
            continue
        missing[row.id] = (row, model)
    if not missing:
        return
    conn = session.connection()
    ids = sorted(missing)
    timers: dict[str, dict[tuple[str, str], str]] = {i: {} for i in ids}
    for jid, iid, task_id, due in conn.execute(_PENDING_TIMERS, {"ids": ids}):
        timers[iid][(task_id, timer_key(due))] = jid
    tasks: dict[str, set[str]] = {i: set() for i in ids}
    for iid, tid in conn.execute(_ACTIVE_TASKS, {"ids": ids}):
        tasks[iid].add(tid)
    for iid, (row, model) in missing.items():
        wf = spiff.load(row.workflow_json, model, uow.services.script_engine)
        setattr(wf, TIMER_JOBS_ATTR, timers[iid])
        setattr(wf, ACTIVE_TASK_IDS_ATTR, tasks[iid])
        cache.put(iid, row.version, wf)


def fire_batch(uow: Any, jobs: list[Acquired], worker_id: str | None, owner: str | None) -> list[JobResult]:
    """Fire several acquired jobs in this one transaction (each job's effect and completion commit together).

    A job that raises makes the whole command raise ``JobFailed`` (rolled back: nothing of the batch is kept);
    an incident (a script error inside a case) is the job's result, committed like any other effect."""
    rows = {j.id: j for j in uow.session.scalars(_JOBS, {"ids": [a.id for a in jobs]})}
    if len(jobs) > 1:
        _prefetch_cases(uow, [a for a in jobs if a.id in rows and rows[a.id].state == "PENDING"
                              and rows[a.id].due <= uow.now and (owner is None or rows[a.id].lock_owner == owner)])
    out = []
    for a in jobs:
        try:
            result = fire_job(uow, a.id, worker_id, owner=owner, job=rows.get(a.id))
        except Exception as exc:
            if _retryable(exc):
                raise
            raise JobFailed(a.id, exc) from exc
        if uow.deferred_error is not None:
            result = JobResult(a.id, "incident", result.instance_id, result.activity_id, str(uow.deferred_error))
            uow.deferred_error = None
        out.append(result)
    return out


def fire_job(uow: Any, job_id: str, worker_id: str | None, owner: str | None = None,
             job: Job | None = None) -> JobResult:
    if job is None:
        job = uow.session.scalars(_JOBS, {"ids": [job_id]}).first()
    if job is None or job.state != "PENDING" or job.due > uow.now:
        return JobResult(job_id, "skipped")
    if owner is not None and job.lock_owner != owner:
        return JobResult(job_id, "skipped")  # another worker acquired it after this caller's lease expired
    uow.firing_job_id, uow.firing_worker = job.id, worker_id
    result = "fired"
    if job.job_type == "timer-start":
        definition = uow.session.get(ProcessDefinition, job.definition_id)
        if definition is not None and definition.suspended:
            _release(job)
            return JobResult(job_id, "suspended", None, None)
        started = starts.fire(uow, job, worker_id) if definition is not None else None
        result = "fired" if definition is not None else "cancelled"
        if started is not None:  # the job belongs to the definition; the case it started is told in the history
            uow.record("ProcessInstanceStartedByTimer", instance_id=started, actor=worker_id, jobId=job.id,
                       definitionId=job.definition_id, due=job.due.isoformat())
            job.state, job.executed_at, job.executed_by = "DONE", uow.now, worker_id
            job.attempts = (job.attempts or 0) + 1
            _release(job)
            return JobResult(job_id, "fired", started, None)
    elif job.job_type in handlers.HANDLERS:
        result = handlers.HANDLERS[job.job_type](uow, job, worker_id)
        if result == "suspended":
            _release(job)
            return JobResult(job_id, "suspended", job.instance_id, job.activity_id)
    elif job.instance_id is not None:
        try:
            case = load_case(uow, job.instance_id)
        except NotFound:
            case = None
        if case is not None and case.row.state == "SUSPENDED":
            _release(job)
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
    _release(job)
    uow.record("JobExecuted" if result == "fired" else "JobCancelled", instance_id=job.instance_id,
               activity_id=job.activity_id, actor=worker_id, jobId=job.id, jobType=job.job_type,
               due=job.due.isoformat())
    return JobResult(job_id, result, job.instance_id, job.activity_id)


def record_failure(uow: Any, job_id: str, error: str, worker_id: str | None, owner: str | None = None) -> JobResult:
    """A failed attempt: retry with backoff (10 s, 40 s, ...), then FAILED (visible in ``onewindow jobs``)."""
    job = uow.session.get(Job, job_id)
    if job is None or job.state != "PENDING" or (owner is not None and job.lock_owner != owner):
        return JobResult(job_id, "skipped")
    job.attempts = (job.attempts or 0) + 1
    job.last_error = error[:2000]
    job.executed_by = worker_id
    _release(job)
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
    _release(job)
    uow.record("JobRetried", instance_id=job.instance_id, activity_id=job.activity_id, actor=actor, jobId=job.id)
