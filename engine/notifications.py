"""In-app notifications (the bell): who receives an outbox message, and each user's read state.

``outbox.enqueue`` calls ``fan_out`` in the transaction that decides the message: the recipients of the message
(``user:x``, ``group:g``, ``role:r``; ``case:…`` and ``role:applicant`` are not people of the app) become one
``notification`` row per user:

* ``user:x`` → x;
* ``group:g`` → the active members of department g at that moment;
* ``role:supervisor`` (and any role other than ``leader``) → the active users with that role;
* ``role:leader`` → the active leaders *of the departments concerned*: the departments named in the recipients, the
  task's candidate groups, and the departments of the users named (a leader of another department is not told).

A rolled-back decision leaves no row. The bell counts the user's rows with ``read_at IS NULL`` (one indexed query);
``engine.notifications.for_user / unread_count / mark_read / mark_all_read`` read and change them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.persistence.models import Membership, Notification, OutboxMessage, Task, User, UserRole

ROLE_PEOPLE = ("clerk", "reviewer", "leader", "supervisor", "designer", "admin")
MAX_PAGE = 200


@dataclass(frozen=True)
class NotificationView:
    message_id: str
    kind: str  # the outbox channel: notice (warnings, overdue), urge, assignment, ...
    subject: str
    body: str
    instance_id: str | None
    task_id: str | None
    created: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.message_id, "kind": self.kind, "subject": self.subject, "body": self.body,
                "instanceId": self.instance_id, "taskId": self.task_id, "created": self.created.isoformat(),
                "readAt": self.read_at.isoformat() if self.read_at else None}


def resolve(session: Session, recipients: list[str], task_id: str | None = None) -> list[str]:
    """The user ids behind ``recipients`` (see the module's rules), in a stable order, without duplicates."""
    users: list[str] = []
    groups: list[str] = []
    roles: list[str] = []
    for r in recipients:
        kind, _, name = str(r).partition(":")
        if not name:
            continue
        if kind == "user":
            users.append(name)
        elif kind == "group":
            groups.append(name)
        elif kind == "role" and name in ROLE_PEOPLE:
            roles.append(name)
    out = list(users)
    if groups:
        out += session.scalars(
            select(Membership.user_id).join(User, User.id == Membership.user_id)
            .where(Membership.group_id.in_(groups), User.active.is_(True)).order_by(Membership.user_id)).all()
    wide = [r for r in roles if r != "leader"]
    if wide:
        out += session.scalars(
            select(UserRole.user_id).join(User, User.id == UserRole.user_id)
            .where(UserRole.role.in_(wide), User.active.is_(True)).order_by(UserRole.user_id)).all()
    if "leader" in roles:
        departments = set(groups)
        if task_id is not None:
            task = session.get(Task, task_id)
            if task is not None:
                departments |= {g for g in (task.candidate_groups or "").split(",") if g}
        if users:
            departments |= set(session.scalars(select(Membership.group_id).where(Membership.user_id.in_(users))))
        if departments:
            out += session.scalars(
                select(UserRole.user_id).join(User, User.id == UserRole.user_id)
                .join(Membership, Membership.user_id == UserRole.user_id)
                .where(UserRole.role == "leader", User.active.is_(True), Membership.group_id.in_(departments))
                .order_by(UserRole.user_id)).all()
    return list(dict.fromkeys(out))


def fan_out(uow: Any, *, message_id: str, recipients: list[str], kind: str, task_id: str | None) -> list[str]:
    """One unread notification per user behind ``recipients`` (in the current transaction)."""
    people = resolve(uow.session, recipients, task_id)
    for user_id in people:
        uow.insert(Notification.__table__, user_id=user_id, message_id=message_id, kind=kind, created=uow.now,
                   read_at=None)
    return people


# --- reads and the read state ------------------------------------------------------------------------------------
def unread_count(session: Session, user_id: str) -> int:
    return int(session.scalar(select(func.count()).select_from(Notification)
                              .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0)


def for_user(session: Session, user_id: str, *, unread_only: bool = False, limit: int = 50,
             offset: int = 0) -> list[NotificationView]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1-{MAX_PAGE}, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"offset must be a whole number ≥ 0, got {offset!r}")
    stmt = (select(Notification, OutboxMessage).join(OutboxMessage, OutboxMessage.id == Notification.message_id)
            .where(Notification.user_id == user_id)
            .order_by(Notification.created.desc(), Notification.message_id.desc()).limit(limit).offset(offset))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return [NotificationView(n.message_id, n.kind, m.subject, m.body, m.instance_id, m.task_id, n.created, n.read_at)
            for n, m in session.execute(stmt)]


def mark_read(uow: Any, *, user_id: str, message_ids: list[str] | None) -> int:
    """Mark the user's notifications ``message_ids`` (None: all of them) read; returns how many changed. Someone
    else's notification is never touched (the user id is part of the key)."""
    stmt = (update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=uow.now).execution_options(synchronize_session=False))
    if message_ids is not None:
        ids = [str(m) for m in message_ids if m]
        if not ids:
            return 0
        stmt = stmt.where(Notification.message_id.in_(ids))
    return int(uow.session.execute(stmt).rowcount or 0)


class UserNotificationsMixin:
    """The per-user side of ``engine.notifications`` (mixed into caseclock's NotificationService)."""

    _ex: Any

    def unread_count(self, user_id: str) -> int:
        """How many notifications of ``user_id`` are unread (the bell's number; one indexed query)."""
        return self._ex.read(lambda s: unread_count(s, user_id))

    def for_user(self, user_id: str, *, unread_only: bool = False, limit: int = 50,
                 offset: int = 0) -> list[NotificationView]:
        """The user's notifications, newest first."""
        return self._ex.read(lambda s: for_user(s, user_id, unread_only=unread_only, limit=limit, offset=offset))

    def mark_read(self, user_id: str, message_ids: list[str]) -> int:
        return self._ex.run(lambda uow: mark_read(uow, user_id=user_id, message_ids=list(message_ids)))

    def mark_all_read(self, user_id: str) -> int:
        return self._ex.run(lambda uow: mark_read(uow, user_id=user_id, message_ids=None))
