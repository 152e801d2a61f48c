"""Commands on human tasks. A task's row is locked (PostgreSQL ``FOR UPDATE``; SQLite's single writer) before it
is checked, so two clerks acting at once are serialised: both succeed where both can, otherwise one gets a
clear conflict."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import defer

from engine.errors import Conflict, InvalidInput, NotFound, SuspendedEntity, TaskAlreadyClaimed, TaskNotActive
from engine.persistence.models import Comment, ProcessInstance, Task
from engine.caseclock import policies
from engine.runtime import spiff, values
from engine.runtime.cases import load_case, require_active, run_steps, save_case
from engine.types import CommentView, TaskView

from .queries import task_view


_LOCKED_TASK = (select(Task).where(Task.id == bindparam("tid")).with_for_update()
                .execution_options(populate_existing=True))


# a completion locks the task and its case: both rows in one round trip (the case's row without its workflow,
# which the workflow cache usually holds; cases.load_case takes the row from ``uow.locked``)
_LOCKED_TASK_AND_CASE = (select(Task, ProcessInstance).join(ProcessInstance, ProcessInstance.id == Task.instance_id)
                         .where(Task.id == bindparam("tid")).options(defer(ProcessInstance.workflow_json))
                         .with_for_update().execution_options(populate_existing=True))


def _locked_task_and_case(uow: Any, task_id: str) -> Task:
    found = uow.session.execute(_LOCKED_TASK_AND_CASE, {"tid": task_id}).first()
    if found is None:  # no such task, or one without a case
        return _locked_task(uow, task_id)
    row, case_row = found
    uow.locked[case_row.id] = case_row
    return row


def _locked_task(uow: Any, task_id: str) -> Task:
    row = uow.session.scalars(_LOCKED_TASK, {"tid": task_id}).first()
    if row is None:
        raise NotFound(f"task '{task_id}' does not exist")
    return row


def _require_open(uow: Any, row: Task, action: str, *, check_instance: bool = True) -> None:
    if row.state != "ACTIVE":
        by = f" by {row.completed_by}" if row.completed_by else ""
        raise TaskNotActive(f"cannot {action} task '{row.name or row.id}': it is already "
                            f"{row.state.lower()}{by}", task_id=row.id, state=row.state)
    if not check_instance:
        return
    instance = uow.session.get(ProcessInstance, row.instance_id)
    if instance is not None and instance.state == "SUSPENDED":
        raise SuspendedEntity(f"cannot {action} task '{row.name or row.id}': its case is suspended",
                              task_id=row.id)


def _require_user(user_id: str | None, action: str) -> str:
    if not user_id or not str(user_id).strip():
        raise InvalidInput(f"{action} needs a user id")
    return str(user_id).strip()


def claim(uow: Any, task_id: str, user_id: str) -> TaskView:
    user_id = _require_user(user_id, "claim")
    row = _locked_task(uow, task_id)
    _require_open(uow, row, "claim")
    if row.assignee and row.assignee != user_id:
        raise TaskAlreadyClaimed(f"task '{row.name or row.id}' is already claimed by {row.assignee}",
                                 task_id=row.id, current_assignee=row.assignee)
    if row.assignee != user_id:  # claiming one's own task again changes nothing (as in Camunda)
        row.assignee = user_id
        uow.record("TaskClaimed", instance_id=row.instance_id, task_id=row.id, actor=user_id,
                   activity_id=row.task_definition_key)
    return task_view(uow.session, row)


def unclaim(uow: Any, task_id: str, user_id: str | None = None) -> TaskView:
    row = _locked_task(uow, task_id)
    _require_open(uow, row, "unclaim")
    if row.assignee is not None:
        previous, row.assignee = row.assignee, None
        uow.record("TaskUnclaimed", instance_id=row.instance_id, task_id=row.id, actor=user_id,
                   activity_id=row.task_definition_key, previousAssignee=previous)
    return task_view(uow.session, row)


def set_assignee(uow: Any, task_id: str, assignee: str | None, actor: str | None = None) -> TaskView:
    row = _locked_task(uow, task_id)
    _require_open(uow, row, "assign")
    previous, row.assignee = row.assignee, (assignee or None)
    uow.record("TaskAssigned", instance_id=row.instance_id, task_id=row.id, actor=actor,
               activity_id=row.task_definition_key, assignee=row.assignee, previousAssignee=previous)
    if row.assignee and row.assignee != previous:
        _notify_assignee(uow, row, "【转办】" if previous else "【分派】", actor)
    return task_view(uow.session, row)


def _notify_assignee(uow: Any, row: Task, label: str, actor: str | None) -> None:
    """Tell the new holder of a task (assigned, transferred or delegated to them by someone else) through the
    outbox, in the command's transaction: the bell and any delivery channel."""
    if not row.assignee or row.assignee == actor:
        return
    from engine import outbox

    instance = uow.session.get(ProcessInstance, row.instance_id) if row.instance_id else None
    case = (instance.business_key or instance.id) if instance is not None else None
    subject = f"{label}{row.name or row.task_definition_key}" + (f"（办件 {case}）" if case else "")
    due = f"；办理期限：{row.due.isoformat()}" if row.due is not None else ""
    outbox.enqueue(uow, dedupe_key=f"assignment:{row.id}:{uuid.uuid4()}", recipients=[f"user:{row.assignee}"],
                   subject=subject, body=f"任务“{row.name or row.task_definition_key}”已交给您办理"
                   f"（经办人：{actor or '系统'}{due}）。", instance_id=row.instance_id, task_id=row.id,
                   channel="assignment")


def delegate(uow: Any, task_id: str, user_id: str, actor: str | None = None) -> TaskView:
    """委派: the task goes to ``user_id`` for an answer and comes back to its owner on resolve."""
    user_id = _require_user(user_id, "delegate")
    row = _locked_task(uow, task_id)
    _require_open(uow, row, "delegate")
    if row.owner is None:
        row.owner = row.assignee or actor
    row.assignee = user_id
    row.delegation_state = "PENDING"
    uow.record("TaskDelegated", instance_id=row.instance_id, task_id=row.id, actor=actor,
               activity_id=row.task_definition_key, owner=row.owner, assignee=user_id)
    _notify_assignee(uow, row, "【委派】", actor)
    return task_view(uow.session, row)


def resolve(uow: Any, task_id: str, user_id: str | None = None, variables: dict[str, Any] | None = None) -> TaskView:
    variables = values.check_variables(variables)
    row = _locked_task(uow, task_id)
    _require_open(uow, row, "resolve")
    if row.delegation_state != "PENDING":
        raise Conflict(f"task '{row.name or row.id}' is not delegated, so it cannot be resolved")
    if user_id and row.assignee and user_id != row.assignee:
        raise TaskAlreadyClaimed(f"task '{row.name or row.id}' was delegated to {row.assignee}, not {user_id}",
                                 task_id=row.id, current_assignee=row.assignee)
    if variables:
        case = load_case(uow, row.instance_id)
        task = spiff.find_task(case.wf, row.id)
        if task is not None:
            task.data.update(variables)
        save_case(uow, case)
    row.assignee, row.delegation_state = row.owner, "RESOLVED"
    uow.record("TaskResolved", instance_id=row.instance_id, task_id=row.id, actor=user_id,
               activity_id=row.task_definition_key, variables=variables)
    return task_view(uow.session, row)


def complete(uow: Any, task_id: str, user_id: str | None, variables: dict[str, Any] | None = None, *,
             access: Any = None) -> TaskView:
    """Complete a task. Completing an unclaimed task is allowed (as in Camunda) and records the user; a task
    claimed by someone else, delegated and not yet resolved, cancelled or completed is refused. ``access`` (an
    ``engine.identity.Access``): the caller's right to complete it is checked on the row read here (Forbidden),
    so a checked completion is one transaction."""
    variables = values.check_variables(variables)
    row = _locked_task_and_case(uow, task_id)
    _require_open(uow, row, "complete", check_instance=False)
    if access is not None:
        from engine.identity.access import require_task_access
        from engine.tasks.queries import _view

        require_task_access(access, _view(row, None, False), "complete")
    if row.delegation_state == "PENDING" and (not user_id or user_id != row.owner):
        raise Conflict(f"task '{row.name or row.id}' is delegated to {row.assignee}: it must be resolved first",
                       task_id=row.id)
    if row.assignee and user_id and row.assignee != user_id and row.owner != user_id:
        raise TaskAlreadyClaimed(f"task '{row.name or row.id}' is claimed by {row.assignee}, not {user_id}",
                                 task_id=row.id, current_assignee=row.assignee)
    if row.origin is not None:  # an engine-made task (出具正式意见, 督办): outside the diagram
        return _complete_standalone(uow, row, user_id, variables)
    case = load_case(uow, row.instance_id)
    require_active(case, "complete a task")
    from .returns import require_no_correction  # while the case waits for 补正 its diagram does not move

    require_no_correction(uow.session, case.row, f"complete task '{row.name or row.id}'", case.model)
    task = spiff.find_task(case.wf, row.id)
    # SpiffWorkflow would happily "complete" a cancelled task: check the workflow's own state
    if task is None or not task.has_state(spiff.TaskState.READY) or not task.task_spec.manual:
        raise TaskNotActive(f"task '{row.name or row.id}' is no longer active in its case", task_id=row.id)
    task.data.update(variables)
    meta = case.model.meta
    from engine.definitions.camunda import lookup

    m = lookup(meta, task.workflow.spec.name, task.task_spec.bpmn_id)
    if m is not None:
        for name, expr in m.outputs:
            task.data[name] = values.evaluate(uow.services.sandbox, expr, task.data)
    task.run()
    row.state, row.ended_at, row.completed_by = "COMPLETED", uow.now, user_id
    uow.ended_task_ids.add(row.id)
    if row.due is not None or row.follow_up is not None:
        policies.cancel_task_jobs(uow, row.id)
    uow.record("TaskCompleted", instance_id=row.instance_id, task_id=row.id, actor=user_id,
               activity_id=row.task_definition_key, variables=variables)
    run_steps(uow, case)
    save_case(uow, case)
    return task_view(uow.session, row, case.row)


def _complete_standalone(uow: Any, row: Task, user_id: str | None, variables: dict[str, Any]) -> TaskView:
    """An engine-made task is completed on its own: its variables (e.g. the formal opinion) are kept in the
    history event; the case's workflow does not move."""
    row.state, row.ended_at, row.completed_by = "COMPLETED", uow.now, user_id
    policies.cancel_task_jobs(uow, row.id)
    uow.record("TaskCompleted", instance_id=row.instance_id, task_id=row.id, actor=user_id,
               activity_id=row.task_definition_key, variables=variables, origin=row.origin,
               parentTaskId=row.parent_task_id)
    return task_view(uow.session, row)


def add_comment(uow: Any, *, task_id: str | None, instance_id: str | None, user_id: str | None,
                message: str) -> CommentView:
    if not message or not message.strip():
        raise InvalidInput("a comment needs a message")
    if task_id is not None:
        row = uow.session.get(Task, task_id)
        if row is None:
            raise NotFound(f"task '{task_id}' does not exist")
        instance_id = row.instance_id
    elif instance_id is None or uow.session.get(ProcessInstance, instance_id) is None:
        raise NotFound(f"process instance '{instance_id}' does not exist")
    c = Comment(id=str(uuid.uuid4()), task_id=task_id, instance_id=instance_id, user_id=user_id, time=uow.now,
                message=message.strip())
    uow.session.add(c)
    uow.record("CommentAdded", instance_id=instance_id, task_id=task_id, actor=user_id, message=c.message)
    return CommentView(c.id, c.task_id, c.instance_id, c.user_id, c.time, c.message)
