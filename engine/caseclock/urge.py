"""催办 (urge): a supervisor reminds the holder of an open task of a case, through the outbox.

``engine.cases.urge(case, task_id, message, actor)`` is one command in one transaction: it checks that the task is
an open task of the case, records ``TaskUrged`` in the case's history (actor, message, recipients) and queues a
notification to the task's holder — its assignee, or when nobody holds it its candidate users and departments
(candidate groups). Each urge is its own decision (its own message), so urging twice notifies twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine import outbox
from engine.errors import Conflict, InvalidInput, NotFound
from engine.persistence.models import ProcessInstance, Task
from engine.caseclock.config import local_text

MAX_MESSAGE = 500


@dataclass(frozen=True)
class UrgeView:
    instance_id: str
    business_key: str | None
    task_id: str
    task_name: str | None
    recipients: tuple[str, ...]
    message: str
    message_id: str


def recipients_of(task: Task) -> list[str]:
    """The holder of a task: its assignee, else its candidate users and departments."""
    if task.assignee:
        return [f"user:{task.assignee}"]
    return ([f"user:{u}" for u in (task.candidate_users or "").split(",") if u]
            + [f"group:{g}" for g in (task.candidate_groups or "").split(",") if g])


def urge(uow: Any, instance_id: str, task_id: str, message: str, actor: str | None = None) -> UrgeView:
    text = str(message or "").strip()
    if not text:
        raise InvalidInput("an urge (催办) needs a message for the task's holder")
    if len(text) > MAX_MESSAGE:
        raise InvalidInput(f"an urge message is at most {MAX_MESSAGE} characters, got {len(text)}")
    session = uow.session
    row = session.get(ProcessInstance, instance_id) or session.scalars(
        select(ProcessInstance).where(ProcessInstance.business_key == instance_id)).first()
    if row is None:
        raise NotFound(f"no case with id or business key '{instance_id}'")
    name = row.business_key or row.id
    task = session.get(Task, task_id)
    if task is None or task.instance_id != row.id:
        raise NotFound(f"case '{name}' has no task '{task_id}'", instance_id=row.id, task_id=task_id)
    if task.state != "ACTIVE":
        raise Conflict(f"task {task.name or task.id} of case '{name}' is {task.state.lower()}: only an open task "
                       f"can be urged", instance_id=row.id, task_id=task_id, state=task.state)
    recipients = recipients_of(task)
    if not recipients:
        raise Conflict(f"task {task.name or task.id} of case '{name}' has no assignee and no candidates to urge",
                       instance_id=row.id, task_id=task_id)
    uid = str(uuid.uuid4())
    uow.record("TaskUrged", instance_id=row.id, actor=actor, task_id=task.id,
               activity_id=task.task_definition_key, urgeId=uid, message=text, recipients=recipients,
               name=task.name)
    subject = f"【催办】办件 {name}：{task.name or task.task_definition_key}"
    due = f"；办理期限：{local_text(uow, task.due)}" if task.due is not None else ""
    mid = outbox.enqueue(uow, dedupe_key=f"urge:{uid}", recipients=recipients, subject=subject,
                         body=f"{text}（催办人：{actor or '系统'}{due}）", instance_id=row.id, task_id=task.id,
                         channel="urge")
    return UrgeView(row.id, row.business_key, task.id, task.name, tuple(recipients), text, mid or "")
