"""Reads and small commands the Camunda API needs beyond the core: a case's activity instance tree, deleting
case variables, a task's identity links (read, add, delete) and its form fields with their current values."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound
from engine.persistence.models import Incident, ProcessInstance, Task, TaskIdentityLink
from engine.types import ActivityInstanceView, FormFieldView, IdentityLinkView, IncidentView

from . import spiff
from .cases import load_case, require_active, save_case


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def activity_type(spec: Any) -> str:
    """Camunda's activityType (the BPMN element name) of a SpiffWorkflow task spec."""
    name = type(spec).__name__
    if name == "ExternalServiceTask":
        return "serviceTask"
    for suffix in ("Task", "Event", "Gateway", "SubProcess", "Activity"):
        if name.endswith(suffix):
            base = re.sub(r"^(OneWindow|Spiff|Bpmn|Camunda)", "", name)
            return _camel(base)
    return _camel(name)


def activity_tree(session: Session, services: Any, instance_id: str) -> ActivityInstanceView:
    row = session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFound(f"process instance '{instance_id}' does not exist")
    incidents = [IncidentView(i.id, i.instance_id, i.activity_id, i.incident_type, i.message, i.created)
                 for i in session.scalars(select(Incident).where(Incident.instance_id == instance_id,
                                                                 Incident.resolved_at.is_(None)))]
    children: list[ActivityInstanceView] = []
    if row.state in ("ACTIVE", "SUSPENDED"):
        model = services.models.get(session, row.definition_id)
        wf = spiff.load(row.workflow_json, model, services.script_engine)
        active = spiff.TaskState.READY | spiff.TaskState.WAITING | spiff.TaskState.STARTED | spiff.TaskState.ERROR
        for t in spiff.all_tasks(wf, active):
            spec = t.task_spec
            bpmn_id = getattr(spec, "bpmn_id", None)
            kind = type(spec).__name__
            if not bpmn_id or "MultiInstance" in kind or "Boundary" in kind:
                continue
            if t.state == spiff.TaskState.WAITING and not getattr(spec, "event_definition", None):
                continue  # joins and subprocess containers waiting on their children
            own = tuple(i for i in incidents if i.activity_id == bpmn_id)
            children.append(ActivityInstanceView(
                id=f"{bpmn_id}:{t.id}", activity_id=bpmn_id, activity_name=getattr(spec, "bpmn_name", None),
                activity_type=activity_type(spec), instance_id=row.id, definition_id=row.definition_id,
                parent_id=row.id, incident_ids=tuple(i.id for i in own), incidents=own, task_id=str(t.id)))
    return ActivityInstanceView(
        id=row.id, activity_id=row.definition_id, activity_name=row.definition_key, activity_type="processDefinition",
        instance_id=row.id, definition_id=row.definition_id, parent_id=None, children=tuple(children),
        incident_ids=tuple(i.id for i in incidents if i.activity_id is None),
        incidents=tuple(i for i in incidents if i.activity_id is None))


def delete_variables(uow: Any, instance_id: str, names: list[str], actor: str | None = None) -> None:
    """Remove variables from a running case (every open token's data)."""
    case = load_case(uow, instance_id)
    require_active(case, "delete variables")
    names = [n for n in names if isinstance(n, str)]
    for task in spiff.all_tasks(case.wf, spiff.TaskState.NOT_FINISHED_MASK):
        for name in names:
            task.data.pop(name, None)
    if case.wf.data:
        for name in names:
            case.wf.data.pop(name, None)
    uow.record("VariablesDeleted", instance_id=instance_id, actor=actor, names=names)
    save_case(uow, case)


# --- identity links ----------------------------------------------------------------------------------------------
def identity_links(session: Session, task_id: str, link_type: str | None = None) -> list[IdentityLinkView]:
    row = session.get(Task, task_id)
    if row is None:
        raise NotFound(f"task '{task_id}' does not exist")
    links = []
    if row.assignee:
        links.append(IdentityLinkView("assignee", row.assignee, None))
    if row.owner:
        links.append(IdentityLinkView("owner", row.owner, None))
    for link in session.scalars(select(TaskIdentityLink).where(TaskIdentityLink.task_id == task_id)
                                .order_by(TaskIdentityLink.id)):
        links.append(IdentityLinkView(link.type, link.user_id, link.group_id))
    return [link for link in links if link_type is None or link.type == link_type]


def _split(text: str | None) -> list[str]:
    return [v for v in (text or "").split(",") if v]


def _open_task(uow: Any, task_id: str) -> Task:
    row = uow.session.scalars(select(Task).where(Task.id == task_id).with_for_update()
                              .execution_options(populate_existing=True)).first()
    if row is None:
        raise NotFound(f"task '{task_id}' does not exist")
    return row


def _check_link(user_id: str | None, group_id: str | None, link_type: str) -> None:
    if bool(user_id) == bool(group_id):
        raise InvalidInput("an identity link names either a userId or a groupId", user_id=user_id,
                           group_id=group_id)
    if not link_type:
        raise InvalidInput("an identity link needs a type (candidate, assignee or owner)")


def add_identity_link(uow: Any, task_id: str, *, user_id: str | None = None, group_id: str | None = None,
                      link_type: str = "candidate", actor: str | None = None) -> None:
    """Camunda's addIdentityLink: ``assignee``/``owner`` set the task's assignee/owner; ``candidate`` (or any
    other type) adds a link, kept once."""
    _check_link(user_id, group_id, link_type)
    row = _open_task(uow, task_id)
    if link_type in ("assignee", "owner"):
        if not user_id:
            raise InvalidInput(f"an {link_type} link names a userId")
        setattr(row, link_type, user_id)
    else:
        exists = uow.session.scalars(select(TaskIdentityLink.id).where(
            TaskIdentityLink.task_id == task_id, TaskIdentityLink.type == link_type,
            TaskIdentityLink.user_id.is_(None) if user_id is None else TaskIdentityLink.user_id == user_id,
            TaskIdentityLink.group_id.is_(None) if group_id is None else TaskIdentityLink.group_id == group_id,
        )).first()
        if exists is None:
            uow.session.add(TaskIdentityLink(task_id=task_id, type=link_type, user_id=user_id, group_id=group_id))
            if link_type == "candidate":
                column = "candidate_groups" if group_id else "candidate_users"
                values = _split(getattr(row, column))
                if (group_id or user_id) not in values:
                    setattr(row, column, ",".join(values + [group_id or user_id]))
    uow.record("TaskIdentityLinkAdded", instance_id=row.instance_id, task_id=row.id, actor=actor,
               activity_id=row.task_definition_key, type=link_type, userId=user_id, groupId=group_id)


def delete_identity_link(uow: Any, task_id: str, *, user_id: str | None = None, group_id: str | None = None,
                         link_type: str = "candidate", actor: str | None = None) -> None:
    _check_link(user_id, group_id, link_type)
    row = _open_task(uow, task_id)
    if link_type in ("assignee", "owner"):
        if getattr(row, link_type) == user_id:
            setattr(row, link_type, None)
    else:
        uow.session.execute(delete(TaskIdentityLink).where(
            TaskIdentityLink.task_id == task_id, TaskIdentityLink.type == link_type,
            TaskIdentityLink.user_id.is_(None) if user_id is None else TaskIdentityLink.user_id == user_id,
            TaskIdentityLink.group_id.is_(None) if group_id is None else TaskIdentityLink.group_id == group_id))
        if link_type == "candidate":
            column = "candidate_groups" if group_id else "candidate_users"
            setattr(row, column, ",".join(v for v in _split(getattr(row, column)) if v != (group_id or user_id)))
    uow.record("TaskIdentityLinkDeleted", instance_id=row.instance_id, task_id=row.id, actor=actor,
               activity_id=row.task_definition_key, type=link_type, userId=user_id, groupId=group_id)


# --- forms ---------------------------------------------------------------------------------------------------------
def form_fields(session: Session, services: Any, task_id: str) -> list[tuple[FormFieldView, Any]]:
    """The ``camunda:formField``s of a task with each field's current value (the task's variable of that name,
    else the field's default value)."""
    from engine.definitions.camunda import lookup

    from .instances import task_variables

    row = session.get(Task, task_id)
    if row is None:
        raise NotFound(f"task '{task_id}' does not exist")
    model = services.models.get(session, row.definition_id)
    meta = None
    for key, m in model.meta.items():
        if m.element_id == row.task_definition_key and (key == row.task_definition_key or key.endswith(
                ":" + row.task_definition_key)):
            meta = m
            break
    meta = meta or lookup(model.meta, "", row.task_definition_key)
    if meta is None or not meta.form_fields:
        return []
    data = task_variables(session, services, task_id) if row.state == "ACTIVE" else {}
    out = []
    for f in meta.form_fields:
        required = any(name == "required" for name, _cfg in f.constraints)
        view = FormFieldView(id=f.id, label=f.label, type=f.type, default_value=f.default_value,
                             required=required, constraints=f.constraints, options=f.options,
                             properties=f.properties)
        out.append((view, data[f.id] if f.id in data else _typed_default(f.type, f.default_value)))
    return out


def _typed_default(kind: str, value: str | None) -> Any:
    if value is None:
        return None
    try:
        if kind == "long":
            return int(value)
        if kind == "boolean":
            return value.strip().lower() == "true"
    except ValueError:
        return value
    return value


def candidate_group_counts(session: Session) -> list[tuple[str | None, int]]:
    """Open tasks per candidate group (Camunda's task report); tasks with no candidate group count under None."""
    from sqlalchemy import func

    by_group = session.execute(
        select(TaskIdentityLink.group_id, func.count(func.distinct(Task.id)))
        .join(Task, Task.id == TaskIdentityLink.task_id)
        .where(Task.state == "ACTIVE", TaskIdentityLink.group_id.is_not(None), TaskIdentityLink.type == "candidate")
        .group_by(TaskIdentityLink.group_id).order_by(TaskIdentityLink.group_id)).all()
    grouped = select(TaskIdentityLink.task_id).where(TaskIdentityLink.group_id.is_not(None),
                                                     TaskIdentityLink.type == "candidate")
    none = session.scalar(select(func.count()).select_from(Task).where(Task.state == "ACTIVE",
                                                                        Task.id.not_in(grouped))) or 0
    out: list[tuple[str | None, int]] = [(None, int(none))] if none else []
    return out + [(g, int(c)) for g, c in by_group]
