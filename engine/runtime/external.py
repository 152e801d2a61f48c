"""External service tasks (``camunda:type="external"``): work items for external workers, locked at most once.

A row of ``external_task`` is created by the projection when a case's token reaches an external service task and
is ended when the token leaves it. Workers fetch and lock rows (``fetch_and_lock``): a locked row is invisible to
other workers until its lock expires on the engine clock. PostgreSQL picks rows with ``FOR UPDATE SKIP LOCKED``,
SQLite has one writer at a time, so two concurrent fetches never lock the same row. A worker then reports
``complete``, ``failure`` (retries count down; at 0 an incident), ``bpm_error`` (a BPMN error thrown at the task)
or ``extend_lock``; each is refused (``ExternalTaskLockLost``) unless the task is locked by that worker - Camunda's
rule: the worker that most recently locked the task.

Error details of a failure are kept in the case's history (event ``ExternalTaskFailed``), not on the row.
"""

from __future__ import annotations

import json
import threading
import uuid
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, event, exists, false, func, or_, select
from sqlalchemy.orm import Session

from engine.definitions.camunda import lookup
from engine.errors import ExternalTaskLockLost, InvalidInput, NotFound
from engine.persistence.models import (
    ExternalTask,
    HistoryEvent,
    Incident,
    ProcessDefinition,
    ProcessInstance,
    Variable,
)
from engine.types import ExternalTaskView

from . import spiff, values
from .cases import load_case, require_active, run_steps, save_case

INCIDENT_TYPE = "failedExternalTask"


# --- in-process wake-up for long polling ----------------------------------------------------------------------
class _Availability:
    """Tells long-polling fetches of this process that external tasks may have become available (created,
    unlocked, retries set). Other processes' changes are seen by the fetches' own periodic re-check."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.generation = 0

    def notify(self) -> None:
        with self._cond:
            self.generation += 1
            self._cond.notify_all()

    def wait(self, generation: int, timeout: float) -> int:
        """Wait until the generation moves past ``generation`` or ``timeout`` seconds pass; the current one."""
        with self._cond:
            if self.generation == generation and timeout > 0:
                self._cond.wait(timeout)
            return self.generation


AVAILABLE = _Availability()


def notify_after_commit(uow: Any) -> None:
    """Wake the long-polling fetches once this command has committed (never before: they would find nothing)."""
    session: Session = uow.session
    if session.info.get("_ow_external_notify"):
        return
    session.info["_ow_external_notify"] = True
    event.listen(session, "after_commit", lambda _s: AVAILABLE.notify(), once=True)


# --- requests -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TopicRequest:
    """One topic of a fetch: Camunda's FetchExternalTaskTopicDto."""

    name: str
    lock_duration: int  # ms
    variables: tuple[str, ...] | None = None  # None: all variables
    local_variables: bool = False
    business_key: str | None = None
    process_definition_ids: tuple[str, ...] = ()
    process_definition_keys: tuple[str, ...] = ()
    process_variables: dict[str, Any] = field(default_factory=dict)
    include_extension_properties: bool = False

    @classmethod
    def of(cls, topic: Any) -> "TopicRequest":
        if isinstance(topic, TopicRequest):
            return topic
        if isinstance(topic, str):
            raise InvalidInput(f"topic '{topic}' needs a lock duration")
        name, duration, *rest = topic
        names = rest[0] if rest else None
        return cls(name=name, lock_duration=duration, variables=tuple(names) if names is not None else None)


@dataclass(frozen=True)
class ExternalTaskQuery:
    """Camunda's external task query (GET /external-task); only tasks of running cases (ACTIVE rows)."""

    external_task_id: str | None = None
    external_task_id_in: tuple[str, ...] | None = None
    topic_name: str | None = None
    worker_id: str | None = None
    locked: bool = False
    not_locked: bool = False
    with_retries_left: bool = False
    no_retries_left: bool = False
    lock_expiration_after: datetime | None = None
    lock_expiration_before: datetime | None = None
    activity_id: str | None = None
    activity_id_in: tuple[str, ...] | None = None
    execution_id: str | None = None
    process_instance_id: str | None = None
    process_instance_id_in: tuple[str, ...] | None = None
    process_definition_id: str | None = None
    active: bool = False
    suspended: bool = False
    priority_higher_than_or_equals: int | None = None
    priority_lower_than_or_equals: int | None = None
    sort_by: str | None = None  # id lockExpirationTime processInstanceId processDefinitionId ... priority createTime
    sort_order: str = "asc"
    first_result: int = 0
    max_results: int | None = None


# --- views ----------------------------------------------------------------------------------------------------
_VIEW_COLUMNS = (ExternalTask, ProcessInstance.business_key, ProcessInstance.state, ProcessInstance.definition_key,
                 ProcessDefinition.version_tag)


def _joined() -> Any:
    return (select(*_VIEW_COLUMNS)
            .join(ProcessInstance, ProcessInstance.id == ExternalTask.instance_id)
            .join(ProcessDefinition, ProcessDefinition.id == ExternalTask.definition_id))


def _view(row: ExternalTask, business_key: str | None, instance_state: str | None, definition_key: str | None,
          version_tag: str | None, *, variables: dict[str, Any] | None = None, error_details: str | None = None,
          extension_properties: dict[str, str] | None = None) -> ExternalTaskView:
    return ExternalTaskView(id=row.id, topic=row.topic, activity_id=row.activity_id, instance_id=row.instance_id,
                            definition_id=row.definition_id, worker_id=row.worker_id,
                            lock_expiration=row.lock_expiration, retries=row.retries,
                            error_message=row.error_message, state=row.state, business_key=business_key,
                            variables=variables or {}, error_details=error_details, priority=row.priority or 0,
                            definition_key=definition_key, definition_version_tag=version_tag,
                            suspended=instance_state == "SUSPENDED",
                            extension_properties=extension_properties or {}, created=row.created)


def _error_details(session: Session, row: ExternalTask) -> str | None:
    """The error details of the task's latest failure (kept in the case's history)."""
    if row.error_message is None:
        return None
    payload = session.scalars(select(HistoryEvent.payload).where(
        HistoryEvent.chain == row.instance_id, HistoryEvent.task_id == row.id,
        HistoryEvent.event_type == "ExternalTaskFailed").order_by(HistoryEvent.seq.desc()).limit(1)).first()
    return json.loads(payload).get("errorDetails") if payload else None


def _variable_value(vtype: str, text: str) -> Any:
    value = json.loads(text)
    if vtype == "Date" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _task_variables(uow: Any, row: ExternalTask, names: tuple[str, ...] | None) -> dict[str, Any]:
    """The variables the task sees: the case's variables, and for a task inside a multi-instance activity its own
    data (the element variable) read from the workflow."""
    if names is not None and not names:
        return {}
    model = uow.services.models.get(uow.session, row.definition_id)
    if _in_multi_instance(model, row.activity_id):
        text = uow.session.scalars(select(ProcessInstance.workflow_json)
                                   .where(ProcessInstance.id == row.instance_id)).one()
        task = spiff.find_task(spiff.load(text, model, uow.services.script_engine), row.id)
        data = {k: v for k, v in (task.data if task is not None else {}).items()
                if isinstance(k, str) and not k.startswith("__")}
    else:
        stmt = select(Variable.name, Variable.type, Variable.value_json).where(Variable.instance_id == row.instance_id)
        if names is not None:
            stmt = stmt.where(Variable.name.in_(names))
        data = {n: _variable_value(t, v) for n, t, v in uow.session.execute(stmt)}
    if names is not None:
        data = {k: v for k, v in data.items() if k in names}
    return data


def _in_multi_instance(model: Any, activity_id: str) -> bool:
    cache = getattr(model, "_ow_mi_activities", None)
    if cache is None:
        from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask

        specs = [model.spec, *[s for s in model.subprocess_specs.values() if s is not None]]
        cache = frozenset(ts.bpmn_id for s in specs for ts in s.task_specs.values()
                          if isinstance(ts, MultiInstanceTask) and getattr(ts, "bpmn_id", None))
        object.__setattr__(model, "_ow_mi_activities", cache)
    return activity_id in cache


def _extension_properties(uow: Any, row: ExternalTask) -> dict[str, str]:
    model = uow.services.models.get(uow.session, row.definition_id)
    meta = lookup(model.meta, "", row.activity_id)
    return dict(meta.properties) if meta is not None else {}


# --- fetch and lock -------------------------------------------------------------------------------------------
def _fetchable(now: datetime, topics: list[TopicRequest]) -> Any:
    per_topic = []
    for t in topics:
        conds = [ExternalTask.topic == t.name]
        if t.business_key is not None:
            conds.append(ProcessInstance.business_key == t.business_key)
        if t.process_definition_ids:
            conds.append(ExternalTask.definition_id.in_(t.process_definition_ids))
        if t.process_definition_keys:
            conds.append(ProcessInstance.definition_key.in_(t.process_definition_keys))
        for name, value in (t.process_variables or {}).items():
            conds.append(exists().where(Variable.instance_id == ExternalTask.instance_id, Variable.name == name,
                                        Variable.value_json == values.dump_value(value)))
        per_topic.append(and_(*conds))
    return and_(ExternalTask.state == "ACTIVE", ProcessInstance.state == "ACTIVE",
                or_(*per_topic) if per_topic else false(),
                or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0),
                or_(ExternalTask.lock_expiration.is_(None), ExternalTask.lock_expiration <= now))


def _check_fetch(worker_id: str, topics: list[Any], max_tasks: int) -> list[TopicRequest]:
    if not worker_id or not isinstance(worker_id, str):
        raise InvalidInput("fetchAndLock needs a workerId")
    if not isinstance(max_tasks, int) or isinstance(max_tasks, bool) or max_tasks < 0:
        raise InvalidInput(f"maxTasks must be a number >= 0, got {max_tasks!r}")
    requests = [TopicRequest.of(t) for t in topics or []]
    for t in requests:
        if not t.name or not isinstance(t.name, str):
            raise InvalidInput("every topic needs a topicName")
        if not isinstance(t.lock_duration, int) or isinstance(t.lock_duration, bool) or t.lock_duration <= 0:
            raise InvalidInput(f"topic '{t.name}': lockDuration must be a number of milliseconds > 0, "
                               f"got {t.lock_duration!r}")
    names = [t.name for t in requests]
    if len(set(names)) != len(names):
        raise InvalidInput(f"a topic is given twice: {names}")
    return requests


def has_fetchable(session: Session, now: datetime, worker_id: str, topics: list[Any]) -> bool:
    """A read-only look: is any task of these topics fetchable now? (long polling asks this before locking)"""
    requests = [TopicRequest.of(t) for t in topics or []]
    stmt = (select(ExternalTask.id).join(ProcessInstance, ProcessInstance.id == ExternalTask.instance_id)
            .where(_fetchable(now, requests)).limit(1))
    return session.scalars(stmt).first() is not None


def fetch_and_lock(uow: Any, worker_id: str, topics: list[Any], max_tasks: int = 1,
                   use_priority: bool = False) -> list[ExternalTaskView]:
    """Lock up to ``max_tasks`` fetchable tasks of ``topics`` for ``worker_id``: unlocked or lock expired, retries
    left, case running. ``topics``: TopicRequest, or (name, lock duration ms[, variable names])."""
    requests = _check_fetch(worker_id, topics, max_tasks)
    if not requests or max_tasks == 0:
        return []
    by_name = {t.name: t for t in requests}
    order = ([ExternalTask.priority.desc()] if use_priority else []) + [ExternalTask.created, ExternalTask.id]
    stmt = (select(ExternalTask).join(ProcessInstance, ProcessInstance.id == ExternalTask.instance_id)
            .where(_fetchable(uow.now, requests)).order_by(*order).limit(max_tasks)
            .with_for_update(skip_locked=True, of=ExternalTask)
            .execution_options(populate_existing=True))
    rows = uow.session.scalars(stmt).all()
    out = []
    for row in rows:
        topic = by_name[row.topic]
        row.worker_id = worker_id
        row.lock_expiration = uow.now + timedelta(milliseconds=topic.lock_duration)
        uow.record("ExternalTaskLocked", instance_id=row.instance_id, task_id=row.id, actor=worker_id,
                   activity_id=row.activity_id, topic=row.topic, lockExpiration=row.lock_expiration)
        instance = uow.session.get(ProcessInstance, row.instance_id)
        definition = uow.session.get(ProcessDefinition, row.definition_id)
        out.append(_view(row, instance.business_key, instance.state, instance.definition_key,
                         definition.version_tag if definition is not None else None,
                         variables=_task_variables(uow, row, topic.variables),
                         error_details=_error_details(uow.session, row),
                         extension_properties=_extension_properties(uow, row)
                         if topic.include_extension_properties else None))
    return out


# --- reports of the locking worker ----------------------------------------------------------------------------
def _row(uow: Any, task_id: str) -> ExternalTask:
    row = uow.session.scalars(select(ExternalTask).where(ExternalTask.id == task_id).with_for_update()
                              .execution_options(populate_existing=True)).first()
    if row is None:
        raise NotFound(f"external task '{task_id}' does not exist")
    if row.state != "ACTIVE":
        raise NotFound(f"external task '{task_id}' does not exist any more: it was {row.state.lower()}",
                       state=row.state)
    return row


def _for_worker(uow: Any, task_id: str, worker_id: str, action: str) -> ExternalTask:
    """The task, if ``worker_id`` is the worker that most recently locked it (Camunda's rule)."""
    if not worker_id:
        raise InvalidInput(f"a workerId is needed to report that external task '{task_id}' is {action}")
    row = _row(uow, task_id)
    if row.worker_id != worker_id:
        holder = f"it is locked by worker '{row.worker_id}'" if row.worker_id else "it is not locked"
        if row.worker_id and row.lock_expiration is not None and row.lock_expiration <= uow.now:
            holder = f"its lock by worker '{row.worker_id}' has expired"
        raise ExternalTaskLockLost(f"External task '{task_id}' cannot be {action} by worker '{worker_id}': {holder}",
                                   task_id=task_id, worker_id=worker_id, locked_by=row.worker_id)
    return row


def _started_task(case: Any, row: ExternalTask) -> Any:
    task = spiff.find_task(case.wf, row.id)
    if task is None or not task.has_state(spiff.TaskState.STARTED):
        raise NotFound(f"external task '{row.id}' is no longer active in its case")
    return task


def _open_incidents(uow: Any, row: ExternalTask) -> list[Incident]:
    return list(uow.session.scalars(select(Incident).where(
        Incident.instance_id == row.instance_id, Incident.activity_id == row.activity_id,
        Incident.incident_type == INCIDENT_TYPE, Incident.resolved_at.is_(None))).all())


def _instance(uow: Any, instance_id: str) -> ProcessInstance:
    loaded = uow.loaded.get(instance_id)
    return loaded.row if loaded is not None else uow.session.get(ProcessInstance, instance_id)


def _raise_incident(uow: Any, row: ExternalTask, message: str, actor: str | None) -> None:
    if _open_incidents(uow, row):
        return
    incident_id = str(uuid.uuid4())
    uow.session.add(Incident(id=incident_id, instance_id=row.instance_id, activity_id=row.activity_id,
                             incident_type=INCIDENT_TYPE, message=message, created=uow.now, resolved_at=None))
    instance = _instance(uow, row.instance_id)
    if instance is not None:
        instance.has_incident = True
    uow.record("IncidentCreated", instance_id=row.instance_id, task_id=row.id, activity_id=row.activity_id,
               actor=actor, incidentId=incident_id, incidentType=INCIDENT_TYPE, message=message)


def _resolve_incidents(uow: Any, row: ExternalTask, actor: str | None) -> None:
    incidents = _open_incidents(uow, row)
    if not incidents:
        return
    for incident in incidents:
        incident.resolved_at = uow.now
        uow.record("IncidentResolved", instance_id=row.instance_id, task_id=row.id, activity_id=row.activity_id,
                   actor=actor, incidentId=incident.id, incidentType=INCIDENT_TYPE)
    others = uow.session.scalar(select(func.count()).select_from(Incident).where(
        Incident.instance_id == row.instance_id, Incident.resolved_at.is_(None),
        Incident.id.not_in([i.id for i in incidents])))
    instance = _instance(uow, row.instance_id)
    if instance is not None and not others:
        instance.has_incident = False


def _apply_outputs(uow: Any, case: Any, task: Any, row: ExternalTask, local: dict[str, Any]) -> dict[str, Any]:
    """camunda:outputParameter of the activity, evaluated against its data and the worker's local variables."""
    meta = lookup(case.model.meta, task.workflow.spec.name, row.activity_id)
    if meta is None or not meta.outputs:
        return {}
    scope = {**task.data, **local}
    return {name: values.evaluate(uow.services.sandbox, expr, scope) for name, expr in meta.outputs}


def complete(uow: Any, task_id: str, worker_id: str, variables: dict[str, Any] | None = None,
             local_variables: dict[str, Any] | None = None) -> None:
    """The worker is done: its variables join the case, the service task completes and the case moves on.
    Local variables live only as long as the activity (Camunda): they reach the case through output mappings."""
    variables = values.check_variables(variables)
    local = values.check_variables(local_variables)
    row = _for_worker(uow, task_id, worker_id, "completed")
    case = load_case(uow, row.instance_id)
    require_active(case, f"complete external task '{task_id}'")
    task = _started_task(case, row)
    task.data.update(variables)
    task.data.update(_apply_outputs(uow, case, task, row, local))
    task.complete()
    row.state = "COMPLETED"
    _resolve_incidents(uow, row, worker_id)
    uow.record("ExternalTaskCompleted", instance_id=row.instance_id, task_id=row.id, actor=worker_id,
               activity_id=row.activity_id, variables=variables, localVariables=local)
    run_steps(uow, case)
    save_case(uow, case)


def failure(uow: Any, task_id: str, worker_id: str, *, error_message: str | None = None,
            error_details: str | None = None, retries: int = 0, retry_timeout: int = 0,
            variables: dict[str, Any] | None = None, local_variables: dict[str, Any] | None = None) -> None:
    """The worker failed: ``retries`` left (0: an incident, the task is not fetched any more until retries are
    set again), fetchable again after ``retry_timeout`` ms."""
    for name, number in (("retries", retries), ("retryTimeout", retry_timeout)):
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise InvalidInput(f"{name} must be a number >= 0, got {number!r}")
    variables = values.check_variables(variables)
    values.check_variables(local_variables)
    if error_details is not None and not isinstance(error_details, str):
        error_details = values.dump_value(error_details)
    row = _for_worker(uow, task_id, worker_id, "failed")
    if variables:
        case = load_case(uow, row.instance_id)
        _started_task(case, row).data.update(variables)
        save_case(uow, case)
    row.error_message = error_message
    row.retries = retries
    row.lock_expiration = uow.now + timedelta(milliseconds=retry_timeout)
    uow.record("ExternalTaskFailed", instance_id=row.instance_id, task_id=row.id, actor=worker_id,
               activity_id=row.activity_id, errorMessage=error_message, errorDetails=error_details,
               retries=retries, retryTimeout=retry_timeout)
    if retries == 0:
        _raise_incident(uow, row, error_message or f"external task '{row.activity_id}' failed", worker_id)


def bpm_error(uow: Any, task_id: str, worker_id: str, error_code: str, error_message: str | None = None,
              variables: dict[str, Any] | None = None) -> str | None:
    """The worker reports a business error: BPMN error ``error_code`` is thrown at the service task and caught by
    the matching error boundary event (of the task, else of an enclosing subprocess). Uncaught, it is an incident
    on the task (retries 0). Returns the id of the catching boundary event, or None."""
    if not error_code or not isinstance(error_code, str):
        raise InvalidInput("a BPMN error needs an errorCode")
    variables = values.check_variables(variables)
    row = _for_worker(uow, task_id, worker_id, "reported with a BPMN error")
    case = load_case(uow, row.instance_id)
    require_active(case, f"report a BPMN error on external task '{task_id}'")
    task = _started_task(case, row)
    task.data.update(variables)
    payload = {**deepcopy(task.data), **deepcopy(variables)}
    catcher = spiff.throw_error(task, error_code, payload)
    caught_by = getattr(catcher.task_spec, "bpmn_id", None) if catcher is not None else None
    uow.record("ExternalTaskBpmnError", instance_id=row.instance_id, task_id=row.id, actor=worker_id,
               activity_id=row.activity_id, errorCode=error_code, errorMessage=error_message,
               variables=variables, caughtBy=caught_by)
    if catcher is not None:
        row.state = "CANCELLED"
        _resolve_incidents(uow, row, worker_id)
        run_steps(uow, case)
    else:
        message = (f"BPMN error '{error_code}'" + (f" ({error_message})" if error_message else "")
                   + f" thrown by the worker of external task '{row.activity_id}' was not caught: no error "
                   f"boundary event of the task or of an enclosing subprocess catches this errorCode")
        row.retries = 0
        row.error_message = message
        _raise_incident(uow, row, message, worker_id)
    save_case(uow, case)
    return caught_by


def extend_lock(uow: Any, task_id: str, worker_id: str, new_duration: int) -> None:
    """Extend the lock of the worker that holds it: it now expires ``new_duration`` ms from now. An expired lock
    cannot be extended (Camunda)."""
    if not isinstance(new_duration, int) or isinstance(new_duration, bool) or new_duration <= 0:
        raise InvalidInput(f"newDuration must be a number of milliseconds > 0, got {new_duration!r}")
    row = _for_worker(uow, task_id, worker_id, "extended")
    if row.lock_expiration is None or row.lock_expiration <= uow.now:
        raise ExternalTaskLockLost(f"The lock of external task '{task_id}' cannot be extended by worker "
                                   f"'{worker_id}': it has expired", task_id=task_id, worker_id=worker_id)
    row.lock_expiration = uow.now + timedelta(milliseconds=new_duration)
    uow.record("ExternalTaskLockExtended", instance_id=row.instance_id, task_id=row.id, actor=worker_id,
               activity_id=row.activity_id, lockExpiration=row.lock_expiration)


def unlock(uow: Any, task_id: str, actor: str | None = None) -> None:
    row = _row(uow, task_id)
    previous = row.worker_id
    row.worker_id = None
    row.lock_expiration = None
    uow.record("ExternalTaskUnlocked", instance_id=row.instance_id, task_id=row.id, actor=actor,
               activity_id=row.activity_id, previousWorker=previous)
    notify_after_commit(uow)


def set_retries(uow: Any, task_id: str, retries: int, actor: str | None = None) -> None:
    """Set the retries left (Camunda's PUT /external-task/{id}/retries): > 0 resolves the task's incident and
    makes it fetchable again; 0 raises an incident."""
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise InvalidInput(f"retries must be a number >= 0, got {retries!r}")
    row = _row(uow, task_id)
    row.retries = retries
    uow.record("ExternalTaskRetriesSet", instance_id=row.instance_id, task_id=row.id, actor=actor,
               activity_id=row.activity_id, retries=retries)
    if retries > 0:
        _resolve_incidents(uow, row, actor)
        notify_after_commit(uow)
    else:
        _raise_incident(uow, row, row.error_message or f"retries of external task '{row.activity_id}' set to 0",
                        actor)


# --- queries --------------------------------------------------------------------------------------------------
_SORT = {"id": ExternalTask.id, "lockExpirationTime": ExternalTask.lock_expiration,
         "processInstanceId": ExternalTask.instance_id, "processDefinitionId": ExternalTask.definition_id,
         "processDefinitionKey": ProcessInstance.definition_key, "priority": ExternalTask.priority,
         "createTime": ExternalTask.created}


def _where(q: ExternalTaskQuery, now: datetime) -> list[Any]:
    c: list[Any] = [ExternalTask.state == "ACTIVE"]
    if q.external_task_id:
        c.append(ExternalTask.id == q.external_task_id)
    if q.external_task_id_in is not None:
        c.append(ExternalTask.id.in_(q.external_task_id_in))
    if q.topic_name:
        c.append(ExternalTask.topic == q.topic_name)
    if q.worker_id:
        c.append(ExternalTask.worker_id == q.worker_id)
    if q.locked:
        c.append(ExternalTask.lock_expiration > now)
    if q.not_locked:
        c.append(or_(ExternalTask.lock_expiration.is_(None), ExternalTask.lock_expiration <= now))
    if q.with_retries_left:
        c.append(or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0))
    if q.no_retries_left:
        c.append(ExternalTask.retries == 0)
    if q.lock_expiration_after is not None:
        c.append(ExternalTask.lock_expiration > q.lock_expiration_after)
    if q.lock_expiration_before is not None:
        c.append(ExternalTask.lock_expiration < q.lock_expiration_before)
    if q.activity_id:
        c.append(ExternalTask.activity_id == q.activity_id)
    if q.activity_id_in is not None:
        c.append(ExternalTask.activity_id.in_(q.activity_id_in))
    if q.execution_id:
        c.append(ExternalTask.id == q.execution_id)
    if q.process_instance_id:
        c.append(ExternalTask.instance_id == q.process_instance_id)
    if q.process_instance_id_in is not None:
        c.append(ExternalTask.instance_id.in_(q.process_instance_id_in))
    if q.process_definition_id:
        c.append(ExternalTask.definition_id == q.process_definition_id)
    if q.active:
        c.append(ProcessInstance.state == "ACTIVE")
    if q.suspended:
        c.append(ProcessInstance.state == "SUSPENDED")
    if q.priority_higher_than_or_equals is not None:
        c.append(ExternalTask.priority >= q.priority_higher_than_or_equals)
    if q.priority_lower_than_or_equals is not None:
        c.append(ExternalTask.priority <= q.priority_lower_than_or_equals)
    return c


def query(session: Session, now: datetime, q: ExternalTaskQuery) -> list[ExternalTaskView]:
    if q.sort_by is not None and q.sort_by not in _SORT:
        raise InvalidInput(f"sortBy '{q.sort_by}' is not supported (use one of {', '.join(_SORT)})")
    if q.sort_order not in ("asc", "desc"):
        raise InvalidInput(f"sortOrder must be asc or desc, got '{q.sort_order}'")
    column = _SORT[q.sort_by] if q.sort_by else ExternalTask.created
    order = column.desc() if q.sort_order == "desc" else column.asc()
    stmt = _joined().where(*_where(q, now)).order_by(order, ExternalTask.id).offset(max(0, q.first_result))
    if q.max_results is not None:
        stmt = stmt.limit(max(0, q.max_results))
    out = []
    for row, bk, state, key, tag in session.execute(stmt):
        out.append(_view(row, bk, state, key, tag, error_details=None))
    return out


def count(session: Session, now: datetime, q: ExternalTaskQuery) -> int:
    stmt = (select(func.count()).select_from(ExternalTask)
            .join(ProcessInstance, ProcessInstance.id == ExternalTask.instance_id).where(*_where(q, now)))
    return int(session.scalar(stmt) or 0)


def get(session: Session, task_id: str) -> ExternalTaskView:
    found = session.execute(_joined().where(ExternalTask.id == task_id, ExternalTask.state == "ACTIVE")).first()
    if found is None:
        raise NotFound(f"External task with id {task_id} does not exist")
    row, bk, state, key, tag = found
    return _view(row, bk, state, key, tag, error_details=_error_details(session, row))


def error_details(session: Session, task_id: str) -> str | None:
    row = session.get(ExternalTask, task_id)
    if row is None or row.state != "ACTIVE":
        raise NotFound(f"External task with id {task_id} does not exist")
    return _error_details(session, row)


def list_external(session: Session, *, topic: str | None = None, instance_id: str | None = None,
                  now: datetime | None = None) -> list[ExternalTaskView]:
    """Every external task row (ended ones too) of a topic or case, oldest first."""
    stmt = _joined().order_by(ExternalTask.created, ExternalTask.id)
    if topic:
        stmt = stmt.where(ExternalTask.topic == topic)
    if instance_id:
        stmt = stmt.where(ExternalTask.instance_id == instance_id)
    return [_view(r, bk, st, key, tag) for r, bk, st, key, tag in session.execute(stmt)]
