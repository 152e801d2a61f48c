"""Commands on cases: start, correlate a message, suspend, resume, terminate, set variables."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.definitions.deployment import resolve_definition
from engine.errors import Conflict, InvalidInput, NotFound, SuspendedEntity
from engine.persistence.models import Incident, Job, ProcessDefinition, ProcessInstance, Task, Variable
from engine.types import IncidentView, InstanceView

from . import projection, spiff, values
from .cases import Case, load_case, require_active, run_steps, save_case


class MessageCorrelationError(InvalidInput):
    code = "MismatchingMessageCorrelationException"


def instance_view(session: Session, row: ProcessInstance, *, with_variables: bool = False) -> InstanceView:
    incidents: tuple[IncidentView, ...] = ()
    if row.has_incident:
        incidents = tuple(
            IncidentView(i.id, i.instance_id, i.activity_id, i.incident_type, i.message, i.created)
            for i in session.scalars(select(Incident).where(Incident.instance_id == row.id,
                                                            Incident.resolved_at.is_(None))).all()
        )
    variables: dict[str, Any] = {}
    if with_variables:
        for v in session.scalars(select(Variable).where(Variable.instance_id == row.id).order_by(Variable.name)):
            variables[v.name] = {"type": v.type, "value": json.loads(v.value_json)}
    return InstanceView(
        id=row.id, definition_id=row.definition_id, definition_key=row.definition_key,
        business_key=row.business_key, state=row.state, suspended=row.state == "SUSPENDED",
        ended=row.state in ("COMPLETED", "TERMINATED"),
        active_activity_ids=tuple(a for a in row.active_activity_ids.split(",") if a),
        started_at=row.started_at, ended_at=row.ended_at, has_incident=row.has_incident, incidents=incidents,
        variables=variables,
    )


def _new_case(uow: Any, definition: ProcessDefinition, business_key: str | None, started_by: str | None) -> Case:
    if definition.suspended:
        raise SuspendedEntity(f"process definition '{definition.id}' is suspended")
    model = uow.services.models.get(uow.session, definition.id)
    wf = spiff.new_workflow(model, uow.services.script_engine)
    projection.mark_new(wf)
    row = ProcessInstance(id=str(uuid.uuid4()), definition_id=definition.id, definition_key=definition.key,
                          business_key=business_key, state="ACTIVE", has_incident=False, workflow_json="",
                          serializer_version=spiff.SERIALIZER_VERSION, active_activity_ids="",
                          started_at=uow.now, started_by=started_by, history_seq=0, history_head="0" * 64)
    uow.session.add(row)
    uow.cases[row.id] = row
    case = Case(row=row, wf=wf, model=model)
    uow.loaded[row.id] = case
    uow.record("ProcessInstanceStarted", instance_id=row.id, actor=started_by, definitionId=definition.id,
               businessKey=business_key)
    return case


def start_instance(uow: Any, *, key: str | None = None, definition_id: str | None = None,
                   business_key: str | None = None, variables: dict[str, Any] | None = None,
                   started_by: str | None = None) -> InstanceView:
    variables = values.check_variables(variables)
    definition = resolve_definition(uow.session, key=key, definition_id=definition_id)
    if definition.startable_by_message and not _has_none_start(uow, definition):
        raise InvalidInput(f"process '{definition.key}' starts with a message: correlate message "
                           f"'{definition.startable_by_message.split(',')[0]}' instead")
    case = _new_case(uow, definition, business_key, started_by)
    start = case.wf.get_next_task(spec_name="Start")
    if start is not None:
        start.data.update(variables)
    _skip_timer_start(case.wf)
    run_steps(uow, case)
    save_case(uow, case)
    return instance_view(uow.session, case.row)


def _skip_timer_start(wf: Any) -> None:
    """A case of a process with a timer start event is started by its timer job (or by hand, as Camunda allows):
    either way the start event must not wait for the timer again inside the case."""
    from SpiffWorkflow.bpmn.specs.defaults import StartEvent
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    for task in spiff.all_tasks(wf):
        spec = task.task_spec
        if isinstance(spec, StartEvent) and isinstance(spec.event_definition, TimerEventDefinition) \
                and task.workflow is wf:
            if type(spec.event_definition).__name__.startswith("Cycle"):
                # a cycle start event runs its outputs once per elapsed cycle: exactly one, already elapsed
                task.internal_data["event_value"] = {"cycles": 1, "next": "2000-01-01T00:00:00+00:00",
                                                     "duration": 0}
            else:
                task.internal_data["event_fired"] = True


def _has_none_start(uow: Any, definition: ProcessDefinition) -> bool:
    model = uow.services.models.get(uow.session, definition.id)
    from SpiffWorkflow.bpmn.specs.defaults import StartEvent

    for spec in model.spec.task_specs.values():
        if isinstance(spec, StartEvent) and type(spec.event_definition).__name__ == "NoneEventDefinition":
            return True
    return False


def correlate_message(uow: Any, name: str, *, business_key: str | None = None,
                      correlation_keys: dict[str, Any] | None = None, variables: dict[str, Any] | None = None,
                      all_matches: bool = False, actor: str | None = None) -> list[InstanceView]:
    """Deliver a message to the waiting case(s) it correlates with, or start a case at a message start event."""
    if not name:
        raise InvalidInput("a message needs a name")
    variables = values.check_variables(variables)
    session = uow.session
    stmt = select(ProcessInstance.id).where(ProcessInstance.state == "ACTIVE")
    if business_key is not None:
        stmt = stmt.where(ProcessInstance.business_key == business_key)
    for k, v in (correlation_keys or {}).items():
        stmt = stmt.where(ProcessInstance.id.in_(
            select(Variable.instance_id).where(Variable.name == k, Variable.value_json == values.dump_value(v))))
    matches: list[Case] = []
    for instance_id in session.scalars(stmt.order_by(ProcessInstance.started_at)).all():
        case = load_case(uow, instance_id)
        if name in spiff.waiting_message_names(case.wf):
            matches.append(case)
    starters = _message_start_definitions(session, name) if not matches else []
    total = len(matches) + len(starters)
    if total == 0:
        where = f" with business key '{business_key}'" if business_key else ""
        raise MessageCorrelationError(f"message '{name}' correlates with no case{where}: no case waits for it and "
                                      "no process starts with it")
    if total > 1 and not all_matches:
        raise MessageCorrelationError(f"message '{name}' correlates with {total} cases/definitions; "
                                      "give a business key or correlation keys, or correlate to all")
    results = []
    for case in matches:
        if case.row.state != "ACTIVE":
            continue
        spiff.send_message(case.wf, spiff.message_definition(name), variables)
        uow.record("MessageCorrelated", instance_id=case.row.id, actor=actor, message=name, variables=variables)
        cancelled = spiff.interrupt_for_event_subprocess(case.wf, name, case.model.meta)
        if cancelled:
            uow.record("ActivitiesInterrupted", instance_id=case.row.id, actor=actor, message=name,
                       activities=sorted(set(cancelled)))
        run_steps(uow, case)
        save_case(uow, case)
        results.append(instance_view(session, case.row))
    for definition in starters:
        case = _new_case(uow, definition, business_key, actor)
        case.wf.do_engine_steps()
        spiff.send_message(case.wf, spiff.message_definition(name), variables)
        uow.record("MessageCorrelated", instance_id=case.row.id, actor=actor, message=name, variables=variables)
        run_steps(uow, case)
        save_case(uow, case)
        results.append(instance_view(session, case.row))
    return results


def _message_start_definitions(session: Session, name: str) -> list[ProcessDefinition]:
    rows = session.scalars(select(ProcessDefinition).where(ProcessDefinition.startable_by_message.is_not(None))
                           .order_by(ProcessDefinition.key, ProcessDefinition.version.desc())).all()
    latest: dict[str, ProcessDefinition] = {}
    for r in rows:
        latest.setdefault(r.key, r)
    return [r for r in latest.values() if name in (r.startable_by_message or "").split(",") and not r.suspended]


def set_suspended(uow: Any, instance_id: str, suspended: bool, actor: str | None = None) -> InstanceView:
    case = load_case(uow, instance_id)
    if case.row.state in ("COMPLETED", "TERMINATED"):
        raise Conflict(f"case '{case.row.business_key or instance_id}' has ended and cannot be "
                       f"{'suspended' if suspended else 'resumed'}")
    target = "SUSPENDED" if suspended else "ACTIVE"
    if case.row.state != target:
        case.row.state = target
        case.row.version = case.row.version  # the version column still bumps on flush
        uow.record("ProcessInstanceSuspended" if suspended else "ProcessInstanceResumed", instance_id=instance_id,
                   actor=actor)
        # as in Camunda, the case's jobs are suspended with it (they neither fire nor count as due) and fire on
        # activation if they fell due meanwhile
        uow.write(_SET_JOB_STATE, {"iid": instance_id, "old": "PENDING" if suspended else "SUSPENDED",
                                   "new": "SUSPENDED" if suspended else "PENDING"})
    return instance_view(uow.session, case.row)


_J = Job.__table__
_SET_JOB_STATE = (update(_J).where(_J.c.instance_id == bindparam("iid"), _J.c.state == bindparam("old"),
                                   _J.c.job_type != "outbox-delivery")
                  .values(state=bindparam("new"), version=_J.c.version + 1))
_CANCEL_JOBS = (update(_J).where(_J.c.instance_id == bindparam("iid"), _J.c.job_type != "outbox-delivery",
                                 _J.c.state.in_(("PENDING", "SUSPENDED", "PAUSED")))
                .values(state="CANCELLED", executed_at=bindparam("at"), version=_J.c.version + 1))


def terminate(uow: Any, instance_id: str, *, reason: str | None = None, actor: str | None = None) -> InstanceView:
    case = load_case(uow, instance_id)
    if case.row.state in ("COMPLETED", "TERMINATED"):
        raise Conflict(f"case '{case.row.business_key or instance_id}' has already ended ({case.row.state.lower()})")
    case.wf.cancel()
    case.row.state = "TERMINATED"
    case.row.ended_at = uow.now
    case.row.end_reason = reason
    uow.record("ProcessInstanceTerminated", instance_id=instance_id, actor=actor, reason=reason)
    save_case(uow, case)
    uow.write(_CANCEL_JOBS, {"iid": instance_id, "at": uow.now})  # whatever the case still waited for
    return instance_view(uow.session, case.row)


def set_variables(uow: Any, instance_id: str, variables: dict[str, Any], actor: str | None = None) -> InstanceView:
    variables = values.check_variables(variables)
    case = load_case(uow, instance_id)
    require_active(case, "set variables")
    mask = spiff.TaskState.NOT_FINISHED_MASK
    for task in spiff.all_tasks(case.wf, mask):
        task.data.update(variables)
    uow.record("VariablesSet", instance_id=instance_id, actor=actor, variables=variables)
    save_case(uow, case)
    return instance_view(uow.session, case.row, with_variables=True)


def get_instance(session: Session, instance_id: str) -> InstanceView:
    row = session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFound(f"process instance '{instance_id}' does not exist")
    return instance_view(session, row, with_variables=True)


def active_task_ids(session: Session, instance_id: str) -> list[str]:
    return list(session.scalars(select(Task.id).where(Task.instance_id == instance_id, Task.state == "ACTIVE")))


def _read_case(session: Session, services: Any, instance_id: str) -> Any:
    row = session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFound(f"process instance '{instance_id}' does not exist")
    model = services.models.get(session, row.definition_id)
    return spiff.load(row.workflow_json, model, services.script_engine)


def case_variables(session: Session, services: Any, instance_id: str) -> dict[str, Any]:
    from .projection import current_variables

    return current_variables(_read_case(session, services, instance_id))


def task_variables(session: Session, services: Any, task_id: str) -> dict[str, Any]:
    row = session.get(Task, task_id)
    if row is None:
        raise NotFound(f"task '{task_id}' does not exist")
    wf = _read_case(session, services, row.instance_id)
    task = spiff.find_task(wf, task_id)
    if task is None:
        from .projection import current_variables

        return current_variables(wf)
    return dict(task.data)
