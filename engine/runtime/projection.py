"""After every step: bring the inbox rows (tasks, candidates), external tasks and variables in line with the
workflow. The workflow is the truth; these tables are what the inbox, dashboard and REST queries read."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from engine.definitions.camunda import ActivityMeta, lookup
from engine.definitions.loader import ProcessModel
from engine.persistence.models import ExternalTask, ProcessInstance, Task, TaskIdentityLink, Variable
from engine.scripting import juel

from engine.caseclock import policies
from engine.jobs import listeners
from engine.jobs.timers import TIMER_JOBS_ATTR

from . import spiff, values
from .script_engine import multi_instance_variables


# What the projection rows of a case hold, remembered on its live workflow. A workflow is reused from the cache
# only at the row version it was saved with, so these are exact; a workflow loaded from JSON has neither and the
# projection reads them.
ACTIVE_TASK_IDS_ATTR = "_onewindow_active_task_ids"
VARIABLES_ATTR = "_onewindow_variables"


def mark_new(wf: Any) -> None:
    """A new case: no task rows, no variable rows yet."""
    setattr(wf, ACTIVE_TASK_IDS_ATTR, set())
    setattr(wf, VARIABLES_ATTR, {})
    setattr(wf, TIMER_JOBS_ATTR, {})

# statements built once (building SQL expressions costs more than running them on SQLite)
_T = Task.__table__
_V = Variable.__table__
# tasks of the diagram only: engine-made tasks (origin set: 出具正式意见, 督办) are not the workflow's
_ACTIVE_TASK_IDS = select(_T.c.id).where(_T.c.instance_id == bindparam("iid"), _T.c.state == "ACTIVE",
                                         _T.c.origin.is_(None))
_EXISTING_TASK_IDS = select(_T.c.id).where(_T.c.id.in_(bindparam("ids", expanding=True)))
_END_TASK = (update(_T).where(_T.c.id == bindparam("tid"), _T.c.state == "ACTIVE")
             .values(state=bindparam("new_state"), ended_at=bindparam("ended"), version=_T.c.version + 1))
_VARIABLES = select(_V.c.name, _V.c.type, _V.c.value_json).where(_V.c.instance_id == bindparam("iid"))
_DELETE_VARIABLES = delete(_V).where(_V.c.instance_id == bindparam("iid"),
                                     _V.c.name.in_(bindparam("names", expanding=True)))
_UPDATE_VARIABLE = (update(_V).where(_V.c.instance_id == bindparam("iid"), _V.c.name == bindparam("vname"))
                    .values(type=bindparam("vtype"), value_json=bindparam("vtext")))


def _meta(model: ProcessModel, task: Any) -> ActivityMeta | None:
    return lookup(model.meta, task.workflow.spec.name, getattr(task.task_spec, "bpmn_id", "") or "")


def _mi_context(task: Any) -> dict[str, Any]:
    return multi_instance_variables(task) if spiff.mi_parent(task) is not None else {}


def create_task_row(uow: Any, row: ProcessInstance, task: Any, model: ProcessModel) -> str:
    services = uow.services
    meta = _meta(model, task)
    spec = task.task_spec
    extra = _mi_context(task)
    sandbox = services.sandbox
    if meta is not None:
        for name, expr in meta.inputs:
            task.data[name] = values.evaluate(sandbox, expr, task.data, extra)
    name = getattr(spec, "bpmn_name", None) or spec.bpmn_id
    if name and juel.is_juel(name):
        name = str(values.evaluate(sandbox, name, task.data, extra))
    assignee = None
    groups: list[str] = []
    users: list[str] = []
    due = follow_up = None
    priority, form_key = 50, None
    if meta is not None:
        assignee = values.evaluate(sandbox, meta.assignee, task.data, extra)
        groups = values.as_list(values.evaluate(sandbox, meta.candidate_groups, task.data, extra))
        users = values.as_list(values.evaluate(sandbox, meta.candidate_users, task.data, extra))
        due = values.to_instant(values.evaluate(sandbox, meta.due_date, task.data, extra), uow.now, services.tz)
        follow_up = values.to_instant(values.evaluate(sandbox, meta.follow_up_date, task.data, extra), uow.now,
                                      services.tz)
        if meta.priority:
            priority = int(values.evaluate(sandbox, meta.priority, task.data, extra))
        form_key = meta.form_key
        follow_up = policies.follow_up_for(uow, meta, due, follow_up)
    if form_key is None and getattr(spec, "form", None) is not None:
        form_key = getattr(spec.form, "key", None)
    tid = str(task.id)
    uow.insert(Task.__table__, id=tid, instance_id=row.id, definition_id=row.definition_id,
               task_definition_key=spec.bpmn_id, name=name, description=getattr(spec, "documentation", None),
               assignee=str(assignee) if assignee else None, owner=None, delegation_state=None, created=uow.now,
               due=due, follow_up=follow_up, priority=priority, form_key=form_key, state="ACTIVE", ended_at=None,
               completed_by=None, lane=getattr(spec, "lane", None), candidate_groups=",".join(groups),
               candidate_users=",".join(users), origin=None, parent_task_id=None, deemed=False)
    if due is not None or follow_up is not None:
        policies.create_task_jobs(uow, row.id, tid, spec.bpmn_id, meta, due, follow_up,
                                  policies.provisional_payload(uow, row.id, tid, spec.bpmn_id, meta, due))
    listeners.on_task_created(uow, row, task, meta, tid)  # camunda:taskListener event="timeout" jobs
    for g in groups:
        uow.insert(TaskIdentityLink.__table__, task_id=tid, type="candidate", group_id=g, user_id=None)
    for u in users:
        uow.insert(TaskIdentityLink.__table__, task_id=tid, type="candidate", group_id=None, user_id=u)
    uow.record("TaskCreated", instance_id=row.id, task_id=tid, activity_id=spec.bpmn_id, name=name,
               assignee=str(assignee) if assignee else None, candidateGroups=groups, candidateUsers=users,
               due=due, followUp=follow_up)
    return tid


def sync_projection(uow: Any, row: ProcessInstance, wf: Any, model: ProcessModel, snap: spiff.Snapshot) -> None:
    session = uow.session
    ready = {str(t.id): t for t in snap.ready_manual}
    # the ids of the case's ACTIVE task rows: remembered on a workflow that comes from the cache (it is only ever
    # reused at the row version it was saved with), else read
    known = getattr(wf, ACTIVE_TASK_IDS_ATTR, None)
    if known is None:
        known = set(session.connection().execute(_ACTIVE_TASK_IDS, {"iid": row.id}).scalars().all())
    active = {tid for tid in known if tid in ready}
    new_ids = [tid for tid in ready if tid not in known]
    if new_ids:
        # a READY task whose row has ended (never expected) must not get a second row
        seen = set(session.connection().execute(_EXISTING_TASK_IDS, {"ids": new_ids}).scalars().all()) if known else set()
        for tid in new_ids:
            if tid not in seen:
                create_task_row(uow, row, ready[tid], model)
                active.add(tid)
    setattr(wf, ACTIVE_TASK_IDS_ATTR, active)
    for tid in known:
        if tid in ready:
            continue
        listeners.on_task_ended(uow, model, tid)  # also for the tasks the command ended itself
        if tid in uow.ended_task_ids:  # the command wrote this row itself (completed, with its user)
            continue
        task = spiff.find_task(wf, tid)
        if task is not None and task.has_state(spiff.TaskState.COMPLETED):
            uow.write(_END_TASK, {"tid": tid, "new_state": "COMPLETED", "ended": uow.now})
        else:
            uow.write(_END_TASK, {"tid": tid, "new_state": "CANCELLED", "ended": uow.now})
            uow.record("TaskCancelled", instance_id=row.id, task_id=tid)
        policies.cancel_task_jobs(uow, tid)
    if _has_external(model):
        _sync_external(uow, row, wf, snap, model)
    _sync_variables(uow, row, wf, snap)


def _has_external(model: ProcessModel) -> bool:
    cached = getattr(model, "_has_external", None)
    if cached is None:
        specs = [model.spec, *[s for s in model.subprocess_specs.values() if s is not None]]
        cached = any(isinstance(ts, spiff.ExternalServiceTask) for s in specs for ts in s.task_specs.values())
        object.__setattr__(model, "_has_external", cached)
    return bool(cached)


def _sync_external(uow: Any, row: ProcessInstance, wf: Any, snap: spiff.Snapshot, model: ProcessModel) -> None:
    from .external import notify_after_commit

    session = uow.session
    started = {str(t.id): t for t in snap.started_external}
    active = {e.id: e for e in session.scalars(
        select(ExternalTask).where(ExternalTask.instance_id == row.id, ExternalTask.state == "ACTIVE")).all()}
    for tid, task in started.items():
        if tid not in active and session.get(ExternalTask, tid) is None:
            meta = _meta(model, task)
            priority = 0
            if meta is not None and meta.task_priority:
                priority = int(values.evaluate(uow.services.sandbox, meta.task_priority, task.data,
                                               _mi_context(task)))
            # a plain INSERT after the flush: the case row may be new in this command (no ORM ordering between
            # the two mappers)
            uow.insert(ExternalTask.__table__, id=tid, instance_id=row.id, definition_id=row.definition_id,
                       activity_id=task.task_spec.bpmn_id, topic=task.task_spec.topic or "", state="ACTIVE",
                       worker_id=None, lock_expiration=None, retries=None, error_message=None,
                       created=uow.now, priority=priority)
            notify_after_commit(uow)
            uow.record("ExternalTaskCreated", instance_id=row.id, task_id=tid, activity_id=task.task_spec.bpmn_id,
                       topic=task.task_spec.topic)
    for tid, erow in active.items():
        if tid not in started:
            task = spiff.find_task(wf, tid)
            erow.state = "COMPLETED" if task is not None and task.has_state(spiff.TaskState.COMPLETED) else "CANCELLED"


def current_variables(wf: Any, snap: spiff.Snapshot | None = None) -> dict[str, Any]:
    """Camunda-style process variables: the data of the case's current tokens (or its final data)."""
    snap = snap or spiff.scan(wf)
    if snap.completed:
        data = wf.data or (wf.last_task.data if wf.last_task is not None else {})
        return dict(data)
    merged: dict[str, Any] = {}
    for task in snap.current:
        merged.update(task.data)
    if not merged and wf.last_task is not None:
        merged.update(wf.last_task.data)
    return merged


def _sync_variables(uow: Any, row: ProcessInstance, wf: Any, snap: spiff.Snapshot) -> None:
    data = {k: v for k, v in current_variables(wf, snap).items() if isinstance(k, str) and not k.startswith("__")}
    encoded = {name: (values.camunda_type(v), values.dump_value(v)) for name, v in sorted(data.items())}
    digest = hashlib.sha256(repr(encoded).encode("utf-8")).hexdigest()
    if digest == row.variables_digest:
        return
    row.variables_digest = digest
    cached = getattr(wf, VARIABLES_ATTR, None)
    if cached is None:
        existing = {name: (vtype, text) for name, vtype, text in uow.session.connection().execute(_VARIABLES, {"iid": row.id})}
    else:
        existing = dict(cached)
    setattr(wf, VARIABLES_ATTR, encoded)
    for name, (vtype, text) in encoded.items():
        old = existing.pop(name, None)
        if old is None:
            uow.insert(Variable.__table__, instance_id=row.id, name=name, type=vtype, value_json=text)
        elif old != (vtype, text):
            uow.write(_UPDATE_VARIABLE, {"iid": row.id, "vname": name, "vtype": vtype, "vtext": text})
    if existing:
        uow.write(_DELETE_VARIABLES, {"iid": row.id, "names": sorted(existing)})
