"""退回 (return a task to an earlier step of its case) and 补正 (request missing materials: the case clock stops
until they come).

**Where the diagram allows a return.** The open user task ``T`` of a case may be returned to an activity ``A`` when

1. ``A`` is a user task of the same process scope (the same top-level process, or the same embedded-subprocess
   instance) that was completed earlier on the path that led to ``T``: in SpiffWorkflow's execution tree the
   completed task of ``A`` is an ancestor of ``T`` (the most recent completion of ``A`` counts; ``A`` is not
   ``T``'s own activity; multi-instance tasks neither return nor are returned to);
2. no other work of the case runs below that completion of ``A``: returning out of one branch of a parallel (or
   inclusive) gateway while another branch is still open, or waits at the join, is refused, naming that branch;
3. the path from ``A`` to ``T`` does not pass a joining gateway whose split lies after ``A``: returning into one
   branch of a parallel region that has already joined is refused (the other branches' results would stand
   unchecked; return to a step before the split instead, which redoes every branch);
4. when ``T`` carries ``<camunda:property name="returnTargets" value="a,b"/>`` only those activity ids are
   offered (``value="none"``: the task cannot be returned); without the property every activity that passes 1-3.

**What a return does** (Camunda 7: process instance modification ``startBeforeActivity(A)`` + ``cancel(T)``), in one
transaction guarded by the task's and the case's row versions: ``T`` ends ``CANCELLED`` (``completed_by`` = the
user who returned it, so it is in their 已办), its deadline jobs and its boundary timers' jobs are cancelled; the
branch below ``A`` is dropped (``reset_from_task_id``) and ``A`` becomes active again as a *new* task (a new id: the
earlier completion stays in the history), with the case's current data, its due date, follow-up, jobs and boundary
timers computed afresh as for a new task, assigned to whoever completed ``A`` last time (unless that was the
system). The required reason becomes a comment on ``T`` (``退回至“A”：reason``) and the history gets
``TaskReturned`` (reason, target activity, new task id, assignee).

**补正.** ``request_correction`` suspends the case clock with kind ``supplement`` (the reason lists the missing
materials), comments on the task and records ``CorrectionRequested``; ``correction_received`` resumes the clock
(every running deadline moves by the suspended working days) and records ``CorrectionReceived``. While the case
waits for 补正 its diagram's tasks cannot be completed or returned (``pending_correction``; a ``Conflict`` that
says since when and what is missing).
"""

from __future__ import annotations

import uuid
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins import InclusiveGatewayMixin, ParallelGatewayMixin, UserTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask

from engine.caseclock import clock as case_clock
from engine.caseclock import policies
from engine.definitions.camunda import lookup
from engine.errors import Conflict, InvalidInput, NotFound, TaskNotActive
from engine.persistence.models import CaseClock, CaseSuspension, Comment, HistoryEvent, ProcessInstance, Task
from engine.runtime import spiff
from engine.runtime.cases import get_instance_row, load_case, require_active, run_steps, save_case
from engine.types import TaskView

from .queries import task_view

RETURN_TARGETS = "returnTargets"
_RUNNING = spiff.TaskState.READY | spiff.TaskState.WAITING | spiff.TaskState.STARTED | spiff.TaskState.ERROR
MAX_REASON = 2000


@dataclass(frozen=True)
class ReturnTarget:
    """An earlier step a task may (``allowed``) or may not (``refusal`` says why) be returned to."""

    activity_id: str
    name: str
    assignee: str | None  # who completed it last time: the returned task goes back to them
    completed_at: datetime | None
    allowed: bool = True
    refusal: str | None = None
    why: str | None = None  # not allowed because: "returnTargets" | "running" (a branch runs) | "joined"
    blocking: tuple[str, ...] = ()  # "running": the names of the branches' open steps

    def as_json(self) -> dict[str, Any]:
        return {"activityId": self.activity_id, "name": self.name, "assignee": self.assignee,
                "completedAt": self.completed_at.isoformat() if self.completed_at else None,
                "allowed": self.allowed, "refusal": self.refusal, "why": self.why, "blocking": list(self.blocking)}


# --- where the diagram allows a return -------------------------------------------------------------------------
def _label(task: Any) -> str:
    spec = task.task_spec
    return getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name


def _is_user_task(task: Any) -> bool:
    spec = task.task_spec
    return isinstance(spec, UserTaskMixin) and bool(getattr(spec, "bpmn_id", None)) \
        and not isinstance(spec, MultiInstanceTask) and spiff.mi_parent(task) is None


def _gateway(spec: Any) -> tuple[bool, bool]:
    """(is a join, is a split) for a parallel or inclusive gateway."""
    if not isinstance(spec, ParallelGatewayMixin | InclusiveGatewayMixin):
        return False, False
    return len(spec.inputs) > 1, len(spec.outputs) > 1


def _own(task: Any) -> set[Any]:
    """The task's own subtree and its boundary events: what a return of the task itself ends."""
    own = {t.id for t in spiff._subtree(task)}
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit):
        own.add(parent.id)
        own.update(c.id for c in parent.children if c.has_state(spiff.TaskState.WAITING))
    return own


def _allowed_ids(model: Any, task: Any) -> set[str] | None:
    meta = lookup(model.meta, task.workflow.spec.name, task.task_spec.bpmn_id)
    if meta is None or RETURN_TARGETS not in (meta.properties or {}):
        return None
    value = (meta.properties[RETURN_TARGETS] or "").strip()
    if value.lower() in ("", "none", "-"):
        return set()
    return {v.strip() for v in value.split(",") if v.strip()}


def _targets(session: Session, model: Any, task: Any) -> list[tuple[ReturnTarget, Any]]:
    """Every earlier user task on the path to ``task`` (nearest first, one per activity), each with whether a
    return to it is allowed and, if not, why; and the SpiffWorkflow task to reset."""
    name = _label(task)
    if spiff.mi_parent(task) is not None:
        return []
    allowed = _allowed_ids(model, task)
    own = _own(task)
    wf = task.workflow
    # the other work of this scope that is under way, each with its ancestors (a return to an ancestor ends it)
    running = [(t, {a.id for a in spiff._ancestors(t)}) for t in spiff.all_tasks(wf, _RUNNING)
               if t.workflow is wf and t.id not in own]
    found: list[tuple[ReturnTarget, Any]] = []
    seen = {task.task_spec.bpmn_id}
    open_joins = 0
    node = task.parent
    while node is not None:
        spec = node.task_spec
        is_join, is_split = _gateway(spec)
        if is_split and open_joins:
            open_joins -= 1
        if is_join:
            open_joins += 1
        if _is_user_task(node) and node.has_state(spiff.TaskState.COMPLETED) and spec.bpmn_id not in seen:
            seen.add(spec.bpmn_id)
            refusal = why = None
            names: tuple[str, ...] = ()
            target_name = _label(node)
            blocking = [t for t, ancestors in running if node.id in ancestors]
            if allowed is not None and spec.bpmn_id not in allowed:
                why = "returnTargets"
                refusal = (f"the diagram does not let '{name}' return to '{target_name}' (returnTargets: "
                           f"{', '.join(sorted(allowed)) or 'none'})")
            elif blocking:
                why, names = "running", tuple(sorted({_label(t) for t in blocking}))
                branch = ", ".join(f"'{n}'" for n in names)
                refusal = (f"cannot return '{name}' to '{target_name}': the parallel branch {branch} of the case is "
                           f"still running after '{target_name}' and would be cancelled")
            elif open_joins:
                why = "joined"
                refusal = (f"cannot return '{name}' to '{target_name}': '{target_name}' is one branch of a parallel "
                           f"gateway that has already joined; return to a step before the split instead")
            found.append((ReturnTarget(spec.bpmn_id, target_name, None, None, refusal is None, refusal, why, names),
                          node))
        node = node.parent
    if not found:
        return []
    rows = {r.id: r for r in session.scalars(select(Task).where(Task.id.in_([str(n.id) for _, n in found])))}
    out = []
    for target, node in found:
        row = rows.get(str(node.id))
        who = row.completed_by if row is not None and row.completed_by != "system" else None
        out.append((ReturnTarget(target.activity_id, row.name if row is not None and row.name else target.name,
                                 who, row.ended_at if row is not None else None, target.allowed, target.refusal,
                                 target.why, target.blocking),
                    node))
    return out


def _open_task(uow_or_session: Any, task_id: str) -> Task:
    session = getattr(uow_or_session, "session", uow_or_session)
    row = session.get(Task, task_id)
    if row is None:
        raise NotFound(f"task '{task_id}' does not exist")
    return row


def return_targets(session: Session, services: Any, task_id: str, *, include_refused: bool = False) \
        -> list[ReturnTarget]:
    """The earlier steps task ``task_id`` may be returned to (nearest first); ``include_refused`` adds the ones on
    its path it may not be returned to, each with the sentence saying why."""
    row = _open_task(session, task_id)
    if row.state != "ACTIVE" or row.origin is not None:
        return []
    instance = session.get(ProcessInstance, row.instance_id)
    if instance is None or instance.state != "ACTIVE":
        return []
    model = services.models.get(session, instance.definition_id)
    wf = spiff.load(instance.workflow_json, model, services.script_engine)
    task = spiff.find_task(wf, row.id)
    if task is None or not task.has_state(spiff.TaskState.READY):
        return []
    return [t for t, _ in _targets(session, model, task) if include_refused or t.allowed]


def _returned_already(session: Session, row: Task) -> str:
    event = session.scalars(select(HistoryEvent).where(HistoryEvent.task_id == row.id,
                                                       HistoryEvent.event_type == "TaskReturned")
                            .order_by(HistoryEvent.id.desc()).limit(1)).first()
    if event is None:
        by = f" by {row.completed_by}" if row.completed_by else ""
        return f"it is already {row.state.lower()}{by}"
    import json

    target = json.loads(event.payload or "{}").get("targetName") or event.activity_id
    return f"it was already returned to '{target}' by {event.actor or '?'} at {event.timestamp.isoformat()}"


def _rekey(task: Any) -> str:
    """Give a task that is about to run again a new id: the old id stays the earlier, completed task's."""
    wf = task.workflow
    old, new = task.id, uuid.uuid4()
    wf.tasks.pop(old)
    task.id = new
    wf.tasks[new] = task
    parent = task.parent
    if parent is not None:
        parent._children = [new if c == old else c for c in parent._children]
    for child in task.children:
        child._parent = new
    # a waiting event (the step's boundary timer) is known to the event manager by its id
    for owner in {id(w): w for w in (wf, getattr(wf, "top_workflow", None)) if w is not None}.values():
        manager = getattr(owner, "event_manager", None)
        if manager is not None and old in manager.tasks:
            manager.tasks[new] = manager.tasks.pop(old)
    return str(new)


def return_to(uow: Any, task_id: str, target_activity_id: str, reason: str, user_id: str | None) -> TaskView:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("a return (退回) needs a reason: it is recorded as the task's comment")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"the reason of a return is at most {MAX_REASON} characters, got {len(reason)}")
    if not target_activity_id or not str(target_activity_id).strip():
        raise InvalidInput("a return (退回) needs the activity to return to")
    target_activity_id = str(target_activity_id).strip()
    from .commands import _locked_task

    row = _locked_task(uow, task_id)
    label = row.name or row.id
    if row.state != "ACTIVE":
        raise TaskNotActive(f"cannot return task '{label}': {_returned_already(uow.session, row)}",
                            task_id=row.id, state=row.state)
    if row.origin is not None:
        raise Conflict(f"task '{label}' was made by the engine ({row.origin}), not by the diagram: it cannot be "
                       f"returned", task_id=row.id)
    if row.delegation_state == "PENDING":
        raise Conflict(f"task '{label}' is delegated to {row.assignee}: it must be resolved before it is returned",
                       task_id=row.id)
    if user_id and row.assignee and row.assignee != user_id and row.owner != user_id:
        from engine.errors import TaskAlreadyClaimed

        raise TaskAlreadyClaimed(f"task '{label}' is claimed by {row.assignee}, not {user_id}",
                                 task_id=row.id, current_assignee=row.assignee)
    case = load_case(uow, row.instance_id)
    require_active(case, f"return task '{label}'")
    require_no_correction(uow.session, case.row, f"return task '{label}'", case.model)
    task = spiff.find_task(case.wf, row.id)
    if task is None or not task.has_state(spiff.TaskState.READY) or not task.task_spec.manual:
        raise TaskNotActive(f"task '{label}' is no longer active in its case", task_id=row.id)
    options = _targets(uow.session, case.model, task)
    chosen = next(((t, n) for t, n in options if t.activity_id == target_activity_id), None)
    if chosen is None:
        offered = [t.activity_id for t, _ in options if t.allowed]
        raise InvalidInput(f"task '{label}' cannot be returned to '{target_activity_id}': it is not an earlier step "
                           f"completed on the way to this task"
                           + (f" (allowed: {', '.join(offered)})" if offered else " (no step can be returned to)"))
    target, node = chosen
    if not target.allowed:
        raise Conflict(target.refusal or f"task '{label}' cannot be returned to '{target.name}'", task_id=row.id)

    # the returning task ends; its jobs stop with it (its boundary timers' jobs: when the tree is saved)
    row.state, row.ended_at, row.completed_by = "CANCELLED", uow.now, user_id
    uow.ended_task_ids.add(row.id)
    policies.cancel_task_jobs(uow, row.id)
    data = deepcopy(task.data)
    case.wf.reset_from_task_id(node.id, data=data)
    new_id = _rekey(node)
    split = node.parent
    if split is not None and isinstance(split.task_spec, BoundaryEventSplit):
        for sibling in list(split.children):  # its boundary events were reset too: new timers, new ids
            if sibling is not node:
                _rekey(sibling)
    # SpiffWorkflow 3.2.0 leaves the waiting events of the dropped branch (the returned task's boundary timers) in
    # the event manager, where the next refresh_timers would update tasks without a parent
    manager = case.wf.event_manager
    for key, waiting in list(manager.tasks.items()):
        if waiting.workflow.tasks.get(waiting.id) is not waiting or key != waiting.id:
            manager.tasks.pop(key)
    run_steps(uow, case)
    save_case(uow, case)
    assignee = target.assignee
    created = False
    for queued in uow.inserts.get(Task.__table__, []):
        if queued["id"] == new_id:
            created = True
            if assignee:
                queued["assignee"] = assignee
    if not created:  # never expected: the reset task did not become an open user task
        raise Conflict(f"task '{label}' could not be returned to '{target.name}': the step did not become active "
                       f"again", task_id=row.id)
    for event in uow.events:
        if event.event_type == "TaskCreated" and event.task_id == new_id and assignee:
            event.payload["assignee"] = assignee
            event.payload["reason"] = f"returned by {user_id or '?'}: back to the user who completed it"
    message = f"退回至“{target.name}”：{reason}"
    uow.session.add(Comment(id=str(uuid.uuid4()), task_id=row.id, instance_id=row.instance_id, user_id=user_id,
                            time=uow.now, message=message))
    uow.record("CommentAdded", instance_id=row.instance_id, task_id=row.id, actor=user_id, message=message)
    uow.record("TaskReturned", instance_id=row.instance_id, task_id=row.id, actor=user_id,
               activity_id=row.task_definition_key, name=row.name, reason=reason, target=target.activity_id,
               targetName=target.name, newTaskId=new_id, assignee=assignee)
    return task_view(uow.session, row, case.row)


# --- 补正 ------------------------------------------------------------------------------------------------------
def pending_correction(session: Session, instance_id: str) -> CaseSuspension | None:
    """The open 补正 suspension of a case's clock, if the case waits for materials."""
    clock = session.get(CaseClock, instance_id)
    if clock is None or clock.state != "SUSPENDED":
        return None
    return session.scalars(select(CaseSuspension).where(
        CaseSuspension.instance_id == instance_id, CaseSuspension.ended_at.is_(None),
        CaseSuspension.kind == "supplement")).first()


def corrections_pending(session: Session, *, search: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Every open 补正 suspension with its case (number, definition, since, by, reason), oldest first."""
    stmt = (select(CaseSuspension.instance_id, CaseSuspension.reason, CaseSuspension.started_at,
                   CaseSuspension.started_by, ProcessInstance.business_key, ProcessInstance.definition_key)
            .join(ProcessInstance, ProcessInstance.id == CaseSuspension.instance_id)
            .where(CaseSuspension.ended_at.is_(None), CaseSuspension.kind == "supplement",
                   ProcessInstance.state == "ACTIVE")
            .order_by(CaseSuspension.started_at).limit(max(1, min(int(limit), 1000))))
    if search:
        stmt = stmt.where(ProcessInstance.business_key.contains(search.strip()[:100], autoescape=True))
    return [{"instanceId": r.instance_id, "businessKey": r.business_key, "definitionKey": r.definition_key,
             "reason": r.reason, "startedAt": r.started_at, "startedBy": r.started_by}
            for r in session.execute(stmt)]


def require_no_correction(session: Session, instance: ProcessInstance, action: str, model: Any = None) -> None:
    """Conflict while the case waits for 补正. ``model``: a diagram without time limits has no clock (no query)."""
    if model is not None and case_clock.model_config(model) is None:
        return
    waiting = pending_correction(session, instance.id)
    if waiting is not None:
        raise Conflict(f"cannot {action}: case '{instance.business_key or instance.id}' waits for 补正 since "
                       f"{waiting.started_at.isoformat()} ({waiting.reason}); record the materials as received "
                       f"first", instance_id=instance.id, suspension_id=waiting.id)


def _materials(materials: Any) -> list[str]:
    if materials is None:
        return []
    if isinstance(materials, str):
        materials = materials.replace("；", "\n").replace(";", "\n").splitlines()
    return [str(m).strip() for m in materials if str(m).strip()]


def request_correction(uow: Any, task_id: str, *, materials: Any = None, reason: str | None = None,
                       expected_days: int | None = None, user_id: str | None = None) -> case_clock.ClockView:
    items = _materials(materials)
    reason = (reason or "").strip()
    if not items and not reason:
        raise InvalidInput("a 补正 request needs the missing materials or a reason (the applicant is told in "
                           "writing what to bring)")
    if len(reason) > MAX_REASON or sum(len(m) for m in items) > MAX_REASON:
        raise InvalidInput(f"a 补正 request is at most {MAX_REASON} characters of materials and of reason")
    from .commands import _locked_task

    row = _locked_task(uow, task_id)
    label = row.name or row.id
    if row.state != "ACTIVE":
        raise TaskNotActive(f"cannot request 补正 from task '{label}': it is already {row.state.lower()}"
                            + (f" by {row.completed_by}" if row.completed_by else ""), task_id=row.id)
    instance = get_instance_row(uow.session, row.instance_id, for_update=True)
    text = "；".join(p for p in (("需补正材料：" + "、".join(items)) if items else "", reason) if p)
    view = case_clock.suspend(uow, instance.id, reason=text, kind="supplement", expected_days=expected_days,
                              actor=user_id)
    # the case row changes version: a completion that read the clock before this commit is re-run and refused
    flag_modified(instance, "state")
    uow.cases[instance.id] = instance
    suspension_id = view.suspensions[-1]["id"] if view.suspensions else None
    message = f"要求补正：{text}"
    uow.session.add(Comment(id=str(uuid.uuid4()), task_id=row.id, instance_id=row.instance_id, user_id=user_id,
                            time=uow.now, message=message))
    uow.record("CommentAdded", instance_id=row.instance_id, task_id=row.id, actor=user_id, message=message)
    uow.record("CorrectionRequested", instance_id=row.instance_id, task_id=row.id, actor=user_id,
               activity_id=row.task_definition_key, materials=items, reason=text, expectedWorkingDays=expected_days,
               suspensionId=suspension_id)
    return view


def correction_received(uow: Any, task_id: str | None = None, *, case: str | None = None,
                        user_id: str | None = None, note: str | None = None) -> case_clock.ClockView:
    if task_id:
        row = _open_task(uow, task_id)
        instance_id = row.instance_id
    elif case:
        instance = uow.session.get(ProcessInstance, case) or uow.session.scalars(
            select(ProcessInstance).where(ProcessInstance.business_key == case)).first()
        if instance is None:
            raise NotFound(f"no case with id or business key '{case}'")
        row, instance_id = None, instance.id
    else:
        raise InvalidInput("补正 received needs the task or the case")
    instance = get_instance_row(uow.session, instance_id, for_update=True)
    waiting = pending_correction(uow.session, instance_id)
    if waiting is None:
        raise Conflict(f"case '{instance.business_key or instance.id}' does not wait for 补正 (its clock is not "
                       f"suspended for 补正): nothing to receive", instance_id=instance.id)
    view = case_clock.resume(uow, instance_id, actor=user_id)
    flag_modified(instance, "state")
    uow.cases[instance.id] = instance
    note = (note or "").strip()
    message = "补正材料已收到" + (f"：{note}" if note else "")
    uow.session.add(Comment(id=str(uuid.uuid4()), task_id=row.id if row is not None else None,
                            instance_id=instance_id, user_id=user_id, time=uow.now, message=message))
    uow.record("CommentAdded", instance_id=instance_id, task_id=row.id if row is not None else None, actor=user_id,
               message=message)
    resumed = next((s for s in view.suspensions if s["id"] == waiting.id), None)
    uow.record("CorrectionReceived", instance_id=instance_id, task_id=row.id if row is not None else None,
               actor=user_id, suspensionId=waiting.id, note=note or None,
               workingDays=resumed["workingDays"] if resumed else None,
               requested=waiting.reason)
    return view
