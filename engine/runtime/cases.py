"""Loading, stepping and saving one case (process instance) inside a unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, defer

from engine.definitions.loader import ProcessModel
from engine.errors import NotFound, ScriptError, SuspendedEntity
from engine.persistence.models import Incident, ProcessInstance

from . import spiff
from .projection import sync_projection
from engine.jobs import continuations
from engine.jobs.timers import sync_timer_jobs
from engine.caseclock import clock as case_clock


@dataclass
class Case:
    row: ProcessInstance
    wf: spiff.OneWindowWorkflow
    model: ProcessModel


_INSTANCE = (select(ProcessInstance).where(ProcessInstance.id == bindparam("iid"))
             .options(defer(ProcessInstance.workflow_json)).execution_options(populate_existing=True))
_INSTANCE_FOR_UPDATE = _INSTANCE.with_for_update()


def get_instance_row(session: Session, instance_id: str, *, for_update: bool = False) -> ProcessInstance:
    row = session.scalars(_INSTANCE_FOR_UPDATE if for_update else _INSTANCE, {"iid": instance_id}).first()
    if row is None:
        raise NotFound(f"process instance '{instance_id}' does not exist")
    return row


class WorkflowCache:
    """Loaded workflows of recently used cases, keyed by case id and row version.

    A command *takes* a workflow out (so no two commands share one mutable object) and the executor puts it back
    after a successful commit with the new version. A rolled-back command puts nothing back. A version mismatch
    (another process changed the case) means a miss: the workflow is loaded from the database.
    """

    def __init__(self, size: int = 512) -> None:
        import threading
        from collections import OrderedDict

        self._items: OrderedDict[str, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def take(self, instance_id: str, version: int) -> Any | None:
        with self._lock:
            item = self._items.pop(instance_id, None)
        if item is not None and item[0] == version:
            return item[1]
        return None

    def put(self, instance_id: str, version: int, wf: Any) -> None:
        with self._lock:
            self._items[instance_id] = (version, wf)
            self._items.move_to_end(instance_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def load_case(uow: Any, instance_id: str) -> Case:
    locked = getattr(uow, "locked", None)
    row = locked.pop(instance_id, None) if locked else None  # already locked with its batch (jobs/executor.py)
    if row is None:
        row = get_instance_row(uow.session, instance_id, for_update=True)
    model = uow.services.models.get(uow.session, row.definition_id)
    wf = uow.services.workflows.take(row.id, row.version)
    if wf is None or wf.spec is not model.spec:
        wf = spiff.load(row.workflow_json, model, uow.services.script_engine)
    uow.cases[row.id] = row
    case = Case(row=row, wf=wf, model=model)
    uow.loaded[row.id] = case
    return case


def require_active(case: Case, action: str) -> None:
    if case.row.state == "SUSPENDED":
        raise SuspendedEntity(f"cannot {action}: case '{case.row.business_key or case.row.id}' is suspended",
                              instance_id=case.row.id)
    if case.row.state in ("COMPLETED", "TERMINATED"):
        from engine.errors import Conflict

        raise Conflict(f"cannot {action}: case '{case.row.business_key or case.row.id}' has ended "
                       f"({case.row.state.lower()})", instance_id=case.row.id)


def run_steps(uow: Any, case: Case, on_error: str = "incident") -> str | None:
    """Run the engine until only wait states remain. A failing script or expression does not roll the caller's
    action back: the failing activity is left in ERROR, the case gets an incident, and the caller is told.
    ``on_error="return"`` (an async continuation's job): nothing is marked, the error's text is returned and the
    caller rolls back (the job is retried)."""
    try:
        case.wf.do_engine_steps()
    except (WorkflowTaskException, WorkflowException, SpiffWorkflowException) as exc:
        if on_error == "return":
            cause = getattr(exc, "exception", None) or exc.__cause__
            return str(getattr(cause, "message", None) or exc)
        _raise_incident(uow, case, exc)
    return None


def _raise_incident(uow: Any, case: Case, exc: Exception) -> None:
    task = getattr(exc, "task", None)
    # SpiffWorkflow raises some errors with the task (scripts), others only with its spec (a gateway without a
    # matching flow raises WorkflowException(task_spec=...)).
    spec = getattr(task, "task_spec", None) if task is not None else getattr(exc, "task_spec", None)
    activity = getattr(spec, "bpmn_id", None)
    cause = getattr(exc, "exception", None) or exc.__cause__
    reason = cause.reason if isinstance(cause, ScriptError) else "error"
    message = cause.message if isinstance(cause, ScriptError) else str(exc)
    if task is not None and not task.has_state(spiff.TaskState.ERROR):
        try:
            task.error()
        except Exception:  # the task may be in a state that cannot move to ERROR
            pass
    uow.insert(Incident.__table__, id=str(uuid.uuid4()), instance_id=case.row.id, activity_id=activity,
               incident_type="failedScript" if isinstance(cause, ScriptError) else "failedActivity",
               message=message, created=uow.now, resolved_at=None)
    case.row.has_incident = True
    uow.record("IncidentCreated", instance_id=case.row.id, activity_id=activity, reason=reason, message=message)
    uow.defer_error(ScriptError(f"case '{case.row.business_key or case.row.id}' stopped at "
                                f"'{activity or '?'}' with an incident: {message}", reason=reason))


def save_case(uow: Any, case: Case) -> None:
    snap = spiff.scan(case.wf)
    sync_projection(uow, case.row, case.wf, case.model, snap)
    sync_timer_jobs(uow, case.row, case.wf)
    continuations.sync(uow, case.row, case.wf)
    case_clock.on_save(uow, case, snap.completed or case.row.state in ("COMPLETED", "TERMINATED"))
    ending = snap.completed and case.row.state not in ("COMPLETED", "TERMINATED")
    end_events = spiff.reached_end_events(case.wf) if ending else []  # before the compaction drops any
    # compact only after the projection has seen how every task ended
    removed = spiff.compact(case.wf, uow.services.settings.compact_threshold)
    if removed:
        uow.record("HistoryCompacted", instance_id=case.row.id, removedTasks=removed)
    if ending:
        case.row.state = "COMPLETED"
        case.row.ended_at = uow.now
        uow.record("ProcessInstanceCompleted", instance_id=case.row.id, endEvents=end_events)
    case.row.active_activity_ids = ",".join(snap.active_ids)
    case.row.workflow_json = spiff.dump(case.wf)
    case.row.serializer_version = spiff.SERIALIZER_VERSION
