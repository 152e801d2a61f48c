"""Asynchronous continuations (camunda:asyncBefore / camunda:async / camunda:asyncAfter), as in Camunda: the
command that reaches such an activity commits there, and a job (``async-continuation``, due at once) runs the case
on in its own transaction. A script that fails in a continuation does not fail the user's command: the job is
retried with backoff and then becomes a FAILED job a person can see and retry (``onewindow jobs retry``).

asyncBefore holds the activity itself; asyncAfter holds what follows the activity once it completed. On user
tasks asyncBefore has no visible effect (the task is created at once; nothing runs before it in our engine).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, select, update

from engine.persistence.models import Job

from .handlers import handler

KIND = "async-continuation"
_J = Job.__table__
# a FAILED continuation waits for a person's retry: it still holds its task (no second job meanwhile)
_OPEN = ("PENDING", "FAILED", "SUSPENDED")
_PENDING = select(_J.c.id, _J.c.task_id).where(_J.c.instance_id == bindparam("iid"), _J.c.state.in_(_OPEN),
                                               _J.c.job_type == KIND)
_CANCEL = (update(_J).where(_J.c.id == bindparam("jid"), _J.c.state.in_(_OPEN))
           .values(state="CANCELLED", executed_at=bindparam("at"), version=_J.c.version + 1))


def sync(uow: Any, row: Any, wf: Any) -> None:
    """One PENDING continuation job per held task (keyed by the task whose flag releases it)."""
    from engine.runtime import spiff

    if not getattr(wf.spec, "has_async", False):
        return
    desired: dict[str, Any] = {}
    for task in spiff.all_tasks(wf, spiff.TaskState.READY):
        if spiff.held_async(task):
            target = spiff.async_release_target(task)
            desired[str(target.id)] = target
    existing = {tid: jid for jid, tid in uow.session.connection().execute(_PENDING, {"iid": row.id})}
    for tid, jid in existing.items():
        if tid not in desired and jid != uow.firing_job_id:
            uow.write(_CANCEL, {"jid": jid, "at": uow.now})
    for tid, target in desired.items():
        if tid in existing:
            continue
        activity = getattr(target.task_spec, "bpmn_id", None)
        uow.insert(_J, id=str(uuid.uuid4()), job_type=KIND, instance_id=row.id, activity_id=activity, task_id=tid,
                   definition_id=None, payload=None, due=uow.now, state="PENDING", attempts=0, last_error=None,
                   executed_by=None, executed_at=None, retry_at=None, created=uow.now, version=1)
        uow.record("JobCreated", instance_id=row.id, activity_id=activity, jobType=KIND, taskId=tid)
        uow.new_job_due(uow.now)


class ContinuationFailed(RuntimeError):
    """A continuation's step failed: the job's transaction rolls back and the job is retried with backoff."""


@handler(KIND)
def _continue(uow: Any, job: Any, worker_id: str | None) -> str:
    from engine.errors import NotFound
    from engine.runtime import spiff
    from engine.runtime.cases import load_case, run_steps, save_case

    try:
        case = load_case(uow, job.instance_id)
    except NotFound:
        return "cancelled"
    if case.row.state == "SUSPENDED":
        return "suspended"
    if case.row.state != "ACTIVE":
        return "cancelled"
    task = spiff.find_task(case.wf, job.task_id)
    if task is None or task.internal_data.get(spiff.ASYNC_RELEASED):
        return "cancelled"
    task.internal_data[spiff.ASYNC_RELEASED] = True
    failure = run_steps(uow, case, on_error="return")
    if failure is not None:
        raise ContinuationFailed(failure)
    save_case(uow, case)
    return "fired"
