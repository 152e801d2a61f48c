"""Deadlines of human tasks: the warning (followUp) and timeout (due) jobs of a task, and what its ``onTimeout``
policy does when the due time passes without an answer:

* WARN_ONLY — the task turns red; its handler, the department leader and the supervisors are notified.
* DEEMED_APPROVED (超时默认同意) — the system completes the task with opinion 默认同意 and ``deemed = true``
  (variables from ``deemedVariables``), records why, and opens the follow-up task 出具正式意见 (default 1 wd) for
  the same people: the department must still put its formal opinion on file.
* ESCALATE — a supervision task 督办 for ``escalateTo`` (default: group ``supervisor``); the task stays open.

Every automatic action is a history event with its reason, and happens at most once: it runs in the job's
transaction.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from engine.definitions.camunda import lookup
from engine.jobs.handlers import handler
from engine.persistence.models import CaseClock, Comment, Job, ProcessInstance, Task, TaskIdentityLink
from engine.persistence.fastwrite import fixed_in

from . import config
from .config import local_text
from .clock import CLOCK_TASK_JOBS, TASK_JOBS, calendar_for

_J = Job.__table__
_CANCEL_TASK_JOBS = (update(_J).where(_J.c.task_id == bindparam("tid"), fixed_in(_J.c.state, ("PENDING", "PAUSED")),
                                      fixed_in(_J.c.job_type, TASK_JOBS), _J.c.id != bindparam("firing"))
                     .values(state="CANCELLED", executed_at=bindparam("at"), version=_J.c.version + 1))
PAUSED_DUE = "_onewindow_paused_due"  # on a BPMN timer task paused by a suspension: its due time (ISO)
FAR = "9999-12-31T00:00:00+00:00"


def policy_of(meta: Any) -> config.TaskPolicy | None:
    if meta is None or meta.kind != "userTask":
        return None
    props = meta.properties or {}
    if not any(k in props for k in config.TASK_KEYS) and not meta.due_date:
        return None
    cached = getattr(meta, "_policy", None)
    if cached is None:
        cached = config.task_policy(props)
        object.__setattr__(meta, "_policy", cached)
    return cached


def follow_up_for(uow: Any, meta: Any, due: datetime | None, follow_up: datetime | None,
                  region: str | None = None) -> datetime | None:
    """followUp = camunda:followUpDate, else due - warnBefore."""
    if follow_up is not None or due is None:
        return follow_up
    policy = policy_of(meta)
    if policy is None or policy.warn_before is None:
        return None
    return policy.warn_before.subtract(calendar_for(uow, region), due)


def provisional_payload(uow: Any, instance_id: str, task_id: str, activity_id: str, meta: Any,
                        due: datetime | None) -> dict[str, Any] | None:
    """A due date ``workdays(n)`` estimated Monday-Friday (a year without calendar data): flagged in the history and
    remembered in the task's jobs, to be recomputed when the year is added."""
    from engine.calendar.service import ProvisionalInstant

    if not isinstance(due, ProvisionalInstant):
        return None
    policy = policy_of(meta)
    uow.record("TaskDueProvisional", instance_id=instance_id, task_id=task_id, activity_id=activity_id,
               due=due.isoformat(), reason="a year on the way has no official calendar data: Monday-Friday estimate")
    return {"provisional": {"start": due.start.isoformat(), "n": due.n, "region": due.region, "shifted": 0,
                            "warnBefore": policy.warn_before.text if policy and policy.warn_before else None}}


def recompute_provisional_tasks(uow: Any, actor: str | None = None) -> list[str]:
    """Recompute the provisional due dates of open tasks (and their followUp and jobs) whose years are now known;
    returns the ids of their cases."""
    done = []
    jobs = uow.session.scalars(select(Job).where(Job.job_type == "task-timeout", Job.state.in_(("PENDING", "PAUSED")),
                                                 Job.payload.like('%"provisional"%'))).all()
    for job in jobs:
        body = json.loads(job.payload or "{}")
        p = body.get("provisional")
        task = uow.session.get(Task, job.task_id)
        if not p or task is None or task.state != "ACTIVE":
            continue
        cal = calendar_for(uow, p.get("region"))
        due = cal.add_working_days(datetime.fromisoformat(p["start"]), int(p["n"]) + int(p.get("shifted") or 0))
        if cal.estimated:
            continue
        old = task.due
        follow_up = config.parse_span(p["warnBefore"]).subtract(cal, due) if p.get("warnBefore") else None
        task.due, job.due = due, due
        body.pop("provisional")
        job.payload = json.dumps(body, ensure_ascii=False)
        if follow_up is not None:
            task.follow_up = follow_up
            for warn in uow.session.scalars(select(Job).where(Job.task_id == task.id, Job.job_type == "task-warning",
                                                              Job.state.in_(("PENDING", "PAUSED")))):
                warn.due = follow_up
        uow.new_job_due(min(d for d in (due, follow_up) if d is not None))
        uow.record("TaskDueRecomputed", instance_id=task.instance_id, task_id=task.id,
                   activity_id=task.task_definition_key, actor=actor, previousDue=old.isoformat() if old else None,
                   due=due.isoformat(), reason="the calendar now knows every year on the way")
        done.append(task.instance_id)
    return done


def _clock_state(uow: Any, instance_id: str) -> str | None:
    """The state of the case's clock; a case without one is looked up once per command, not once per new task
    (``session.get`` remembers rows it found, not rows it did not)."""
    if instance_id in uow.without_clock:
        return None
    clock = uow.session.get(CaseClock, instance_id)
    if clock is None:
        uow.without_clock.add(instance_id)
        return None
    return clock.state


def create_task_jobs(uow: Any, instance_id: str, task_id: str, activity_id: str, meta: Any,
                     due: datetime | None, follow_up: datetime | None, payload: dict[str, Any] | None = None) -> None:
    """The warning job (at followUp) and the timeout job (at due) of a new task; PAUSED while the case's clock is
    suspended."""
    if due is None and follow_up is None:
        return
    policy = policy_of(meta)
    state = "PAUSED" if _clock_state(uow, instance_id) == "SUSPENDED" else "PENDING"
    body = dict(payload or {})
    if policy is not None:
        body.update(onTimeout=policy.on_timeout, escalateTo=policy.escalate_to,
                    formalOpinionLimit=policy.formal_opinion_limit.text, deemedVariables=policy.deemed_variables)
    for kind, at in (("task-warning", follow_up), ("task-timeout", due)):
        if at is None:
            continue
        uow.insert(_J, id=str(uuid.uuid4()), job_type=kind, instance_id=instance_id, activity_id=activity_id,
                   task_id=task_id, definition_id=None, payload=json.dumps(body, ensure_ascii=False), due=at,
                   state=state, attempts=0, last_error=None, executed_by=None, executed_at=None, retry_at=None,
                   created=uow.now, version=1)
        if state == "PENDING":
            uow.new_job_due(at)


def cancel_task_jobs(uow: Any, task_id: str) -> None:
    uow.write(_CANCEL_TASK_JOBS, {"tid": task_id, "at": uow.now, "firing": uow.firing_job_id or ""})


# --- engine-made tasks (outside the diagram) -------------------------------------------------------------------
def create_standalone_task(uow: Any, *, instance_id: str, definition_id: str, parent: Task, origin: str,
                           key: str, name: str, groups: list[str], users: list[str], assignee: str | None,
                           due: datetime | None, description: str) -> str:
    tid = str(uuid.uuid4())
    uow.insert(Task.__table__, id=tid, instance_id=instance_id, definition_id=definition_id,
               task_definition_key=key, name=name, description=description, assignee=assignee, owner=None,
               delegation_state=None, created=uow.now, due=due, follow_up=None, priority=parent.priority,
               form_key=None, state="ACTIVE", ended_at=None, completed_by=None, lane=parent.lane,
               candidate_groups=",".join(groups), candidate_users=",".join(users), origin=origin,
               parent_task_id=parent.id, deemed=False)
    for g in groups:
        uow.insert(TaskIdentityLink.__table__, task_id=tid, type="candidate", group_id=g, user_id=None)
    for u in users:
        uow.insert(TaskIdentityLink.__table__, task_id=tid, type="candidate", group_id=None, user_id=u)
    uow.record("TaskCreated", instance_id=instance_id, task_id=tid, activity_id=key, name=name, assignee=assignee,
               candidateGroups=groups, candidateUsers=users, due=due, origin=origin, parentTaskId=parent.id)
    if due is not None:
        create_task_jobs(uow, instance_id, tid, key, None, due, None, {"onTimeout": "WARN_ONLY"})
    return tid


def _people(row: Task) -> list[str]:
    if row.assignee:
        return [f"user:{row.assignee}"]
    return [f"group:{g}" for g in row.candidate_groups.split(",") if g] + \
        [f"user:{u}" for u in row.candidate_users.split(",") if u]


def _case_name(uow: Any, instance_id: str) -> str:
    row = uow.session.get(ProcessInstance, instance_id)
    return (row.business_key or row.id) if row is not None else instance_id


@handler("task-warning")
def _warn(uow: Any, job: Any, worker_id: str | None) -> str:
    row = uow.session.get(Task, job.task_id)
    if row is None or row.state != "ACTIVE":
        return "cancelled"
    uow.record("TaskDeadlineWarning", instance_id=row.instance_id, task_id=row.id, activity_id=row.task_definition_key,
               actor="system", signal="WARNING", due=row.due.isoformat() if row.due else None,
               reason=f"the task is due at {row.due.isoformat() if row.due else '?'} (followUp {job.due.isoformat()})")
    from engine import outbox

    outbox.enqueue(uow, dedupe_key=f"task-warning:{job.id}", recipients=_people(row),
                   subject=f"【预警】{row.name} 即将到期（办件 {_case_name(uow, row.instance_id)}）",
                   body=f"待办“{row.name}”将于 {local_text(uow, row.due)} 到期，请及时办理。",
                   instance_id=row.instance_id, task_id=row.id)
    return "fired"


@handler("task-timeout")
def _timeout(uow: Any, job: Any, worker_id: str | None) -> str:
    row = uow.session.get(Task, job.task_id, with_for_update=True, populate_existing=True)
    if row is None or row.state != "ACTIVE":
        return "cancelled"
    instance = uow.session.get(ProcessInstance, row.instance_id)
    if instance is None or instance.state in ("COMPLETED", "TERMINATED"):
        return "cancelled"
    if instance.state == "SUSPENDED" and row.origin is None:
        return "suspended"
    payload = json.loads(job.payload or "{}")
    policy = payload.get("onTimeout") or "WARN_ONLY"
    case_name = _case_name(uow, row.instance_id)
    due = row.due.isoformat() if row.due else job.due.isoformat()
    due_text = local_text(uow, row.due or job.due)
    uow.record("TaskOverdue", instance_id=row.instance_id, task_id=row.id, activity_id=row.task_definition_key,
               actor="system", signal="OVERDUE", policy=policy, due=due,
               reason=f"no answer by the due time {due} (onTimeout={policy})")
    from engine import outbox

    people = _people(row)
    if policy == "DEEMED_APPROVED" and row.origin is None:
        if not _deem(uow, row, payload, due):
            return "cancelled"
        outbox.enqueue(uow, dedupe_key=f"task-timeout:{job.id}", recipients=people + ["role:leader"],
                       subject=f"【超时默认同意】{row.name}（办件 {case_name}）",
                       body=f"“{row.name}”在 {due_text} 前未答复，按超时默认同意规则由系统办理（默认同意），"
                            f"请在期限内出具正式意见。", instance_id=row.instance_id, task_id=row.id)
    elif policy == "ESCALATE" and row.origin is None:
        group = payload.get("escalateTo") or "supervisor"
        cal = calendar_for(uow)
        sup = create_standalone_task(
            uow, instance_id=row.instance_id, definition_id=row.definition_id, parent=row, origin="escalation",
            key=f"{row.task_definition_key}__escalation", name=f"督办：{row.name}（已超期）", groups=[group], users=[],
            assignee=None, due=config.parse_span("1wd").add(cal, uow.now),
            description=f"“{row.name}”已超过办理期限 {due}，请督促办理。")
        uow.record("TaskEscalated", instance_id=row.instance_id, task_id=row.id, activity_id=row.task_definition_key,
                   actor="system", escalationTaskId=sup, escalateTo=group,
                   reason=f"no answer by the due time {due} (onTimeout=ESCALATE)")
        outbox.enqueue(uow, dedupe_key=f"task-timeout:{job.id}", recipients=[f"group:{group}"] + people,
                       subject=f"【督办】{row.name} 已超期（办件 {case_name}）",
                       body=f"“{row.name}”已超过办理期限 {due_text}，已生成督办任务。", instance_id=row.instance_id,
                       task_id=row.id)
    else:
        outbox.enqueue(uow, dedupe_key=f"task-timeout:{job.id}", recipients=people + ["role:leader", "role:supervisor"],
                       subject=f"【超期】{row.name}（办件 {case_name}）",
                       body=f"“{row.name}”已超过办理期限 {due_text}，请尽快办理。", instance_id=row.instance_id,
                       task_id=row.id)
    return "fired"


def _deem(uow: Any, row: Task, payload: dict[str, Any], due: str) -> bool:
    """超时默认同意: complete the review task as the system, then open 出具正式意见 for the same people."""
    from engine.runtime import spiff, values
    from engine.runtime.cases import load_case, run_steps, save_case

    case = load_case(uow, row.instance_id)
    task = spiff.find_task(case.wf, row.id)
    if task is None or not task.has_state(spiff.TaskState.READY):
        return False
    variables = dict(payload.get("deemedVariables") or config.DEFAULT_DEEMED)
    task.data.update(variables)
    m = lookup(case.model.meta, task.workflow.spec.name, task.task_spec.bpmn_id)
    if m is not None:
        for name, expr in m.outputs:
            task.data[name] = values.evaluate(uow.services.sandbox, expr, task.data)
    task.run()
    row.state, row.ended_at, row.completed_by, row.deemed = "COMPLETED", uow.now, "system", True
    uow.ended_task_ids.add(row.id)
    cancel_task_jobs(uow, row.id)
    reason = f"no answer by the due time {due}: deemed approved (超时默认同意, onTimeout=DEEMED_APPROVED)"
    uow.session.add(Comment(id=str(uuid.uuid4()), task_id=row.id, instance_id=row.instance_id, user_id="system",
                            time=uow.now, message=f"默认同意（{due} 前未答复，系统按超时默认同意办理）"))
    uow.record("TaskDeemedApproved", instance_id=row.instance_id, task_id=row.id, activity_id=row.task_definition_key,
               actor="system", variables=variables, reason=reason)
    uow.record("TaskCompleted", instance_id=row.instance_id, task_id=row.id, activity_id=row.task_definition_key,
               actor="system", variables=variables, deemed=True)
    run_steps(uow, case)
    save_case(uow, case)
    limit = config.parse_span(payload.get("formalOpinionLimit") or "1wd")
    follow = create_standalone_task(
        uow, instance_id=row.instance_id, definition_id=row.definition_id, parent=row, origin="formal-opinion",
        key=f"{row.task_definition_key}__formalOpinion", name=f"出具正式意见：{row.name}",
        groups=[g for g in row.candidate_groups.split(",") if g],
        users=[u for u in row.candidate_users.split(",") if u], assignee=row.assignee,
        due=limit.add(calendar_for(uow), uow.now),
        description=f"“{row.name}”已按超时默认同意办理，请在 {limit.text} 内出具正式意见。")
    uow.record("FormalOpinionRequested", instance_id=row.instance_id, task_id=follow, actor="system",
               parentTaskId=row.id, limit=limit.text, reason="a deemed approval must be followed by a formal opinion")
    return True


# --- suspension: pause and shift -------------------------------------------------------------------------------
def _clock_timers(wf: Any) -> list[Any]:
    from engine.jobs.timers import waiting_timers

    out = []
    for task, _due in waiting_timers(wf).values():
        expression = getattr(task.task_spec.event_definition, "expression", "") or ""
        if "workdays(" in expression:
            out.append(task)
    return out


def pause_timers(uow: Any, instance_id: str, now: datetime) -> int:
    """BPMN timers written in working days (``${workdays(n)}``) stop with the clock: their due time is kept aside
    and they cannot fire until the clock resumes."""
    from engine.jobs.timers import timer_due
    from engine.runtime.cases import load_case, save_case

    row = uow.session.get(ProcessInstance, instance_id)
    if row is None or row.state not in ("ACTIVE", "SUSPENDED"):
        return 0
    case = load_case(uow, instance_id)
    timers = _clock_timers(case.wf)
    for task in timers:
        task.internal_data[PAUSED_DUE] = timer_due(task).isoformat()
        task.internal_data["event_value"] = FAR
    if timers:
        uow.record("TimersPaused", instance_id=instance_id, timers=[t.task_spec.bpmn_id for t in timers])
        save_case(uow, case)
    return len(timers)


def shift_case(uow: Any, row: ProcessInstance, cal: Any, days: int, since: datetime) -> dict[str, int]:
    """After a suspension of ``days`` working days that began at ``since``: every open deadline of the case that
    was still running moves ``days`` working days later — tasks' due and followUp, their jobs, paused timers."""
    from engine.runtime import spiff
    from engine.runtime.cases import load_case, save_case

    moved_tasks = 0
    tasks = {t.id: t for t in uow.session.scalars(select(Task).where(Task.instance_id == row.id,
                                                                     Task.state == "ACTIVE"))}
    for t in tasks.values():
        changed = False
        if t.due is not None and t.due > since:
            t.due = config.shift_working_days(cal, t.due, days)
            changed = True
        if t.follow_up is not None and t.follow_up > since:
            t.follow_up = config.shift_working_days(cal, t.follow_up, days)
            changed = True
        moved_tasks += changed
    for job in uow.session.scalars(select(Job).where(Job.instance_id == row.id, Job.state == "PAUSED",
                                                     Job.job_type.in_(CLOCK_TASK_JOBS))):
        task = tasks.get(job.task_id or "")
        if task is None:
            job.state, job.executed_at = "CANCELLED", uow.now
            continue
        if job.due > since:
            job.due = config.shift_working_days(cal, job.due, days)
            body = json.loads(job.payload or "{}")
            if body.get("provisional"):
                body["provisional"]["shifted"] = int(body["provisional"].get("shifted") or 0) + days
                job.payload = json.dumps(body, ensure_ascii=False)
        job.state = "SUSPENDED" if row.state == "SUSPENDED" else "PENDING"  # a Camunda-suspended case
        uow.new_job_due(job.due)
    moved_timers = 0
    if row.state in ("ACTIVE", "SUSPENDED"):
        case = load_case(uow, row.id)
        for task in spiff.all_tasks(case.wf, spiff.TaskState.WAITING):
            paused = task.internal_data.pop(PAUSED_DUE, None)
            if paused is None:
                continue
            due = datetime.fromisoformat(paused)
            task.internal_data["event_value"] = config.shift_working_days(cal, due, days).isoformat() \
                if due > since else due.isoformat()
            moved_timers += 1
        if moved_timers:
            save_case(uow, case)
    return {"tasks": moved_tasks, "timers": moved_timers}
