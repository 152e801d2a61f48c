"""History queries (read side of Camunda's ``/history``): historic cases from the case table (a case row stays
after it ended), historic activity instances from the hash-chained ``history_event`` table (the activities that
wait: user tasks and external service tasks, with their start and end)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.persistence.models import HistoryEvent, Incident, ProcessDefinition, ProcessInstance
from engine.types import HistoricActivityView, HistoricInstanceView, IncidentRecordView

_STATE = {"ACTIVE": "ACTIVE", "SUSPENDED": "SUSPENDED", "COMPLETED": "COMPLETED",
          "TERMINATED": "EXTERNALLY_TERMINATED"}


def _instance_view(row: ProcessInstance, definition: ProcessDefinition | None) -> HistoricInstanceView:
    return HistoricInstanceView(
        id=row.id, business_key=row.business_key, definition_id=row.definition_id,
        definition_key=row.definition_key, definition_name=definition.name if definition else None,
        definition_version=definition.version if definition else None, start_time=row.started_at,
        end_time=row.ended_at, start_user=row.started_by, delete_reason=row.end_reason,
        state=_STATE.get(row.state, row.state))


def historic_instances(session: Session, *, instance_id: str | None = None, instance_ids: tuple[str, ...] = (),
                       business_key: str | None = None, business_key_like: str | None = None,
                       definition_id: str | None = None, definition_key: str | None = None,
                       finished: bool = False, unfinished: bool = False, state: str | None = None,
                       started_by: str | None = None, started_before: datetime | None = None,
                       started_after: datetime | None = None, finished_before: datetime | None = None,
                       finished_after: datetime | None = None, sort_by: str | None = None,
                       sort_order: str = "asc", first_result: int = 0,
                       max_results: int | None = None) -> list[HistoricInstanceView]:
    pi = ProcessInstance
    stmt = select(pi, ProcessDefinition).join(ProcessDefinition, ProcessDefinition.id == pi.definition_id,
                                              isouter=True)
    if instance_id:
        stmt = stmt.where(pi.id == instance_id)
    if instance_ids:
        stmt = stmt.where(pi.id.in_(instance_ids))
    if business_key:
        stmt = stmt.where(pi.business_key == business_key)
    if business_key_like:
        stmt = stmt.where(pi.business_key.like(business_key_like))
    if definition_id:
        stmt = stmt.where(pi.definition_id == definition_id)
    if definition_key:
        stmt = stmt.where(pi.definition_key == definition_key)
    if finished:
        stmt = stmt.where(pi.ended_at.is_not(None))
    if unfinished:
        stmt = stmt.where(pi.ended_at.is_(None))
    if state:
        stored = {v: k for k, v in _STATE.items()}.get(state, state)
        stmt = stmt.where(pi.state == stored)
    if started_by:
        stmt = stmt.where(pi.started_by == started_by)
    if started_before is not None:
        stmt = stmt.where(pi.started_at <= started_before)
    if started_after is not None:
        stmt = stmt.where(pi.started_at >= started_after)
    if finished_before is not None:
        stmt = stmt.where(pi.ended_at <= finished_before)
    if finished_after is not None:
        stmt = stmt.where(pi.ended_at >= finished_after)
    col = {"instanceId": pi.id, "definitionId": pi.definition_id, "definitionKey": pi.definition_key,
           "businessKey": pi.business_key, "startTime": pi.started_at, "endTime": pi.ended_at,
           }.get(sort_by or "startTime", pi.started_at)
    stmt = stmt.order_by(col.desc() if sort_order == "desc" else col.asc(), pi.id).offset(first_result)
    if max_results is not None:
        stmt = stmt.limit(max_results)
    return [_instance_view(row, definition) for row, definition in session.execute(stmt)]


def historic_instance(session: Session, instance_id: str) -> HistoricInstanceView:
    found = historic_instances(session, instance_id=instance_id)
    if not found:
        raise NotFound(f"historic process instance '{instance_id}' does not exist")
    return found[0]


_STARTS = {"TaskCreated": "userTask", "ExternalTaskCreated": "serviceTask"}
_ENDS = {"TaskCompleted": True, "ExternalTaskCompleted": True, "TaskCancelled": False}


def historic_activities(session: Session, *, instance_id: str | None = None, activity_id: str | None = None,
                        activity_type: str | None = None, task_assignee: str | None = None,
                        finished: bool = False, unfinished: bool = False, canceled: bool = False,
                        completed: bool = False) -> list[HistoricActivityView]:
    """Activity instances of the activities that wait (user tasks, external service tasks), in start order,
    rebuilt from the history events of cases that still exist. ``instance_id`` limits it to one case."""
    ev = HistoryEvent
    stmt = (select(ev.event_type, ev.instance_id, ev.task_id, ev.activity_id, ev.timestamp, ev.actor, ev.payload)
            .where(ev.event_type.in_(list(_STARTS) + list(_ENDS) + ["TaskClaimed", "TaskAssigned",
                                                                   "TaskUnclaimed"]))
            .order_by(ev.timestamp, ev.id))
    if instance_id:
        stmt = stmt.where(ev.chain == instance_id)
    rows = session.execute(stmt).all()
    ids = {r.instance_id for r in rows if r.instance_id}
    cases: dict[str, tuple[str, str]] = {}
    if ids:
        cases = {i: (d, k) for i, d, k in session.execute(
            select(ProcessInstance.id, ProcessInstance.definition_id, ProcessInstance.definition_key)
            .where(ProcessInstance.id.in_(ids)))}
    import json

    acts: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r.instance_id not in cases or not r.task_id:
            continue
        if r.event_type in _STARTS:
            payload = json.loads(r.payload or "{}")
            acts[r.task_id] = {"type": _STARTS[r.event_type], "activity": r.activity_id, "instance": r.instance_id,
                               "name": payload.get("name"), "assignee": payload.get("assignee"),
                               "start": r.timestamp, "end": None, "completed": False, "canceled": False}
            continue
        act = acts.get(r.task_id)
        if act is None:
            continue
        if r.event_type in ("TaskClaimed", "TaskAssigned", "TaskUnclaimed"):
            payload = json.loads(r.payload or "{}")
            act["assignee"] = None if r.event_type == "TaskUnclaimed" else (
                payload.get("assignee", payload.get("userId", r.actor)))
        elif act["end"] is None:
            act["end"] = r.timestamp
            act["completed"] = _ENDS[r.event_type]
            act["canceled"] = not _ENDS[r.event_type]
    out = []
    for task_id, a in acts.items():
        definition_id, definition_key = cases[a["instance"]]
        view = HistoricActivityView(
            id=f"{a['activity']}:{task_id}", activity_id=a["activity"], activity_name=a["name"],
            activity_type=a["type"], instance_id=a["instance"], definition_id=definition_id,
            definition_key=definition_key, task_id=task_id if a["type"] == "userTask" else None,
            assignee=a["assignee"], start_time=a["start"], end_time=a["end"], canceled=a["canceled"],
            completed=a["completed"])
        if activity_id and view.activity_id != activity_id or activity_type and view.activity_type != activity_type:
            continue
        if task_assignee and view.assignee != task_assignee:
            continue
        if finished and view.end_time is None or unfinished and view.end_time is not None:
            continue
        if canceled and not view.canceled or completed and not view.completed:
            continue
        out.append(view)
    return out


def incidents(session: Session, *, incident_id: str | None = None, instance_id: str | None = None,
              incident_type: str | None = None, activity_id: str | None = None,
              definition_id: str | None = None, open_only: bool = True) -> list[IncidentRecordView]:
    stmt = (select(Incident, ProcessInstance.definition_id)
            .join(ProcessInstance, ProcessInstance.id == Incident.instance_id)
            .order_by(Incident.created, Incident.id))
    if open_only:
        stmt = stmt.where(Incident.resolved_at.is_(None))
    if incident_id:
        stmt = stmt.where(Incident.id == incident_id)
    if instance_id:
        stmt = stmt.where(Incident.instance_id == instance_id)
    if incident_type:
        stmt = stmt.where(Incident.incident_type == incident_type)
    if activity_id:
        stmt = stmt.where(Incident.activity_id == activity_id)
    if definition_id:
        stmt = stmt.where(ProcessInstance.definition_id == definition_id)
    return [IncidentRecordView(i.id, i.incident_type, i.message, i.created, i.instance_id, d, i.activity_id,
                               i.resolved_at) for i, d in session.execute(stmt)]
