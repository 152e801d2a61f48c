"""External service tasks (``camunda:type="external"``): at-most-once locking for workers."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select

from engine.errors import Conflict, InvalidInput, NotFound
from engine.persistence.models import ExternalTask, ProcessInstance, Variable
from engine.types import ExternalTaskView

from . import spiff, values
from .cases import load_case, require_active, run_steps, save_case


def _view(row: ExternalTask, business_key: str | None = None,
          variables: dict[str, Any] | None = None) -> ExternalTaskView:
    return ExternalTaskView(id=row.id, topic=row.topic, activity_id=row.activity_id, instance_id=row.instance_id,
                            definition_id=row.definition_id, worker_id=row.worker_id,
                            lock_expiration=row.lock_expiration, retries=row.retries,
                            error_message=row.error_message, state=row.state, business_key=business_key,
                            variables=variables or {})


def fetch_and_lock(uow: Any, worker_id: str, topics: list[tuple[str, int]], max_tasks: int = 1) -> list[ExternalTaskView]:
    """Lock up to ``max_tasks`` unlocked (or lock-expired) tasks of the given topics for ``worker_id``.
    ``topics`` is a list of (topic name, lock duration in ms)."""
    if not worker_id:
        raise InvalidInput("fetchAndLock needs a workerId")
    durations = dict(topics)
    stmt = (select(ExternalTask).join(ProcessInstance, ProcessInstance.id == ExternalTask.instance_id)
            .where(ExternalTask.state == "ACTIVE", ExternalTask.topic.in_(list(durations)),
                   ProcessInstance.state == "ACTIVE",
                   or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0),
                   or_(ExternalTask.lock_expiration.is_(None), ExternalTask.lock_expiration <= uow.now))
            .order_by(ExternalTask.priority.desc(), ExternalTask.created).limit(max_tasks)
            .with_for_update(skip_locked=True))
    out = []
    for row in uow.session.scalars(stmt).all():
        row.worker_id = worker_id
        row.lock_expiration = uow.now + timedelta(milliseconds=durations[row.topic])
        instance = uow.session.get(ProcessInstance, row.instance_id)
        variables = {v.name: json.loads(v.value_json) for v in uow.session.scalars(
            select(Variable).where(Variable.instance_id == row.instance_id))}
        uow.record("ExternalTaskLocked", instance_id=row.instance_id, task_id=row.id, actor=worker_id,
                   topic=row.topic)
        out.append(_view(row, instance.business_key if instance else None, variables))
    return out


def _locked_for(uow: Any, task_id: str, worker_id: str, action: str) -> ExternalTask:
    row = uow.session.scalars(select(ExternalTask).where(ExternalTask.id == task_id).with_for_update()
                              .execution_options(populate_existing=True)).first()
    if row is None:
        raise NotFound(f"external task '{task_id}' does not exist")
    if row.state != "ACTIVE":
        raise Conflict(f"external task '{task_id}' is already {row.state.lower()}")
    if row.worker_id != worker_id:
        raise Conflict(f"external task '{task_id}' cannot be {action} by worker '{worker_id}': "
                       f"it is locked by {row.worker_id or 'nobody'}")
    if row.lock_expiration is None or row.lock_expiration <= uow.now:
        raise Conflict(f"external task '{task_id}': the lock of worker '{worker_id}' has expired")
    return row


def complete(uow: Any, task_id: str, worker_id: str, variables: dict[str, Any] | None = None) -> None:
    variables = values.check_variables(variables)
    row = _locked_for(uow, task_id, worker_id, "completed")
    case = load_case(uow, row.instance_id)
    require_active(case, "complete an external task")
    task = spiff.find_task(case.wf, row.id)
    if task is None or not task.has_state(spiff.TaskState.STARTED):
        raise Conflict(f"external task '{task_id}' is no longer active in its case")
    task.data.update(variables)
    task.complete()
    row.state = "COMPLETED"
    uow.record("ExternalTaskCompleted", instance_id=row.instance_id, task_id=row.id, actor=worker_id,
               activity_id=row.activity_id, variables=variables)
    run_steps(uow, case)
    save_case(uow, case)


def failure(uow: Any, task_id: str, worker_id: str, *, message: str, retries: int, retry_timeout_ms: int = 0) -> None:
    row = _locked_for(uow, task_id, worker_id, "failed")
    row.retries = max(0, retries)
    row.error_message = message
    row.lock_expiration = uow.now + timedelta(milliseconds=retry_timeout_ms) if retry_timeout_ms else None
    row.worker_id = None if not retry_timeout_ms else row.worker_id
    uow.record("ExternalTaskFailed", instance_id=row.instance_id, task_id=row.id, actor=worker_id,
               message=message, retries=row.retries)
    if row.retries == 0:
        from engine.persistence.models import Incident
        import uuid

        uow.session.add(Incident(id=str(uuid.uuid4()), instance_id=row.instance_id, activity_id=row.activity_id,
                                 incident_type="failedExternalTask", message=message, created=uow.now))
        instance = uow.session.get(ProcessInstance, row.instance_id)
        if instance is not None:
            instance.has_incident = True


def list_external(session: Any, *, topic: str | None = None, instance_id: str | None = None) -> list[ExternalTaskView]:
    stmt = select(ExternalTask).order_by(ExternalTask.created)
    if topic:
        stmt = stmt.where(ExternalTask.topic == topic)
    if instance_id:
        stmt = stmt.where(ExternalTask.instance_id == instance_id)
    return [_view(r) for r in session.scalars(stmt)]
