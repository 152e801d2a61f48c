"""Camunda ``taskListener event="timeout"``: reminders on a user task that do not move the token.

    <userTask id="review">
      <extensionElements>
        <camunda:taskListener event="timeout" id="remind-1h" class="org.example.Remind">
          <timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition>
        </camunda:taskListener>
      </extensionElements>
    </userTask>

* **Created** with the task (``on_task_created``, from the projection's ``create_task_row``): one job per timeout
  listener, ``job_type = "task-listener-timeout"``, ``task_id`` = the human task's id, due = the nested timer
  counted from the task's creation on the engine clock (``timeDuration``, ``timeDate``, ``timeCycle`` as an ISO
  ``R[n]/…`` interval or a cron expression; ``${...}`` and ``${workdays(n)}`` evaluated against the task's data).
* **Fired** by the job executor (the handler below, in the job's transaction): a ``camunda:script`` listener runs
  its script in the engine's sandbox with the task's data (variables it sets are the case's); a listener that
  names a Java ``class``, ``expression`` or ``delegateExpression`` cannot run here, so the firing is recorded as a
  ``TaskTimeoutListenerFired`` history event with the listener id and what it names (a script listener's firing is
  recorded too). The task stays open. A cycle schedules its next firing in the same transaction.
* **Cancelled** when the task ends first (``on_task_ended``, from the projection: completed by a person — the
  command's own ``ended_task_ids`` included —, deemed approved, cancelled by a boundary event, the case ended),
  in the same transaction; a job that still finds its task ended (a race lost on another path) is cancelled too.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update

from engine.definitions.camunda import ActivityMeta, TimeoutListener, lookup
from engine.persistence.models import Job, ProcessInstance, Task

from . import cron, starts
from .handlers import handler

JOB_TYPE = "task-listener-timeout"
_J = Job.__table__
_CANCEL = (update(_J).where(_J.c.task_id == bindparam("tid"), _J.c.job_type == JOB_TYPE,
                            _J.c.state.in_(("PENDING", "SUSPENDED")), _J.c.id != bindparam("firing"))
           .values(state="CANCELLED", executed_at=bindparam("at"), version=_J.c.version + 1))


def has_listeners(model: Any) -> bool:
    """Does any user task of this definition have a timeout listener (cached on the model)?"""
    cached = getattr(model, "_has_timeout_listeners", None)
    if cached is None:
        cached = any(m.timeout_listeners for m in model.meta.values() if isinstance(m, ActivityMeta))
        object.__setattr__(model, "_has_timeout_listeners", cached)
    return bool(cached)


def on_task_created(uow: Any, row: ProcessInstance, task: Any, meta: ActivityMeta | None, tid: str) -> None:
    """A job per timeout listener of the new user task (in the transaction that creates the task row)."""
    if meta is None or not meta.timeout_listeners:
        return
    from engine.runtime import values
    from engine.runtime.script_engine import multi_instance_variables

    extra = multi_instance_variables(task)
    for listener in meta.timeout_listeners:
        value = values.evaluate(uow.services.sandbox, listener.expression, task.data, extra)
        first = _plan(listener, value, uow.now, uow.services.tz)
        if first is None:
            continue
        payload = {"listenerId": listener.id, "scope": task.workflow.spec.name, "timer": listener.timer,
                   "cycles": first["cycles"], "duration_s": first["duration_s"]}
        if "cron" in first:
            payload["cron"] = first["cron"]
        _insert(uow, row.id, task.task_spec.bpmn_id, tid, first["due"], payload)


def on_task_ended(uow: Any, model: Any, tid: str) -> None:
    """The task ended (completed, cancelled): its pending timeout-listener jobs are cancelled with it."""
    if has_listeners(model):
        uow.write(_CANCEL, {"tid": tid, "at": uow.now, "firing": uow.firing_job_id or ""})


def _plan(listener: TimeoutListener, value: Any, now: datetime, tz: Any) -> dict[str, Any] | None:
    from engine.errors import ScriptError

    try:
        return starts.plan(listener.timer, value, now, tz)
    except cron.CronError as exc:
        raise ScriptError(f"timeout listener '{listener.id}': timeCycle '{value}' is not a valid cron expression: "
                          f"{exc.message}", expression=listener.expression) from exc
    except Exception as exc:  # noqa: BLE001 - the designer's timer text
        raise ScriptError(f"timeout listener '{listener.id}': '{value}' is not a valid ISO 8601 {listener.timer} "
                          f"({exc})", expression=listener.expression) from exc


def _insert(uow: Any, instance_id: str, activity_id: str, tid: str, due: datetime, payload: dict[str, Any]) -> None:
    jid = str(uuid.uuid4())
    uow.insert(_J, id=jid, job_type=JOB_TYPE, instance_id=instance_id, activity_id=activity_id, task_id=tid,
               definition_id=None, payload=json.dumps(payload, ensure_ascii=False), due=due, state="PENDING",
               attempts=0, last_error=None, executed_by=None, executed_at=None, retry_at=None, created=uow.now,
               version=1)
    uow.record("JobCreated", instance_id=instance_id, task_id=tid, activity_id=activity_id, jobId=jid,
               jobType=JOB_TYPE, listenerId=payload["listenerId"], due=due.isoformat())
    uow.new_job_due(due)


@handler(JOB_TYPE)
def _fire(uow: Any, job: Any, worker_id: str | None) -> str:
    row = uow.session.get(Task, job.task_id)
    if row is None or row.state != "ACTIVE":
        return "cancelled"  # the task ended in a transaction that did not cancel this job
    case_row = uow.session.get(ProcessInstance, row.instance_id)
    if case_row is None or case_row.state in ("COMPLETED", "TERMINATED"):
        return "cancelled"
    if case_row.state == "SUSPENDED":
        return "suspended"
    payload = json.loads(job.payload or "{}")
    model = uow.services.models.get(uow.session, case_row.definition_id)
    meta = lookup(model.meta, payload.get("scope") or "", row.task_definition_key)
    listener = next((li for li in (meta.timeout_listeners if meta else ()) if li.id == payload.get("listenerId")),
                    None)
    if listener is None:
        return "cancelled"
    changed = _run_script(uow, row, listener) if listener.script is not None else None
    uow.record("TaskTimeoutListenerFired", instance_id=row.instance_id, task_id=row.id,
               activity_id=row.task_definition_key, actor=worker_id, listenerId=listener.id,
               implementation=listener.implementation, script=changed is not None, variables=changed or {},
               due=job.due.isoformat())
    _rearm(uow, job, payload)
    return "fired"


def _run_script(uow: Any, row: Task, listener: TimeoutListener) -> dict[str, Any] | None:
    """Run the listener's script with the task's data, in the sandbox. What it sets or deletes are case
    variables (Camunda's process variables): applied to every open token of the case, as ``set_variables`` does.
    Returns the variables it set (None when the task is gone)."""
    from engine.runtime import spiff
    from engine.runtime.cases import load_case, save_case
    from engine.runtime.script_engine import multi_instance_variables

    case = load_case(uow, row.instance_id)
    task = spiff.find_task(case.wf, row.id)
    if task is None:
        return None
    before = dict(task.data)
    data = dict(before)
    extra = {**multi_instance_variables(task), "task_id": row.id, "task_name": row.name, "listener_id": listener.id}
    uow.services.sandbox.execute(listener.script or "", data, extra)
    changed = {k: v for k, v in data.items() if k not in before or before[k] is not v}
    removed = [k for k in before if k not in data]
    for open_task in spiff.all_tasks(case.wf, spiff.TaskState.NOT_FINISHED_MASK):
        open_task.data.update(changed)
        for name in removed:
            open_task.data.pop(name, None)
    save_case(uow, case)
    return changed


def _rearm(uow: Any, job: Any, payload: dict[str, Any]) -> None:
    """A cycle's next firing (cron: the next instant after now; R[n]/…: one duration on, n-1 left)."""
    cycles = int(payload.get("cycles", 0))
    if payload.get("cron"):
        nxt = cron.parse(payload["cron"]).next_after(max(uow.now, job.due), uow.services.tz)
    elif cycles not in (0, 1) and payload.get("duration_s"):
        from datetime import timedelta

        nxt = job.due + timedelta(seconds=float(payload["duration_s"]))
        payload = {**payload, "cycles": cycles - 1 if cycles > 0 else -1}
    else:
        return
    if nxt is not None:
        _insert(uow, job.instance_id, job.activity_id, job.task_id, nxt, payload)
