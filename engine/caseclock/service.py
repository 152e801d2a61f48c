"""The façade of the case clock: ``engine.cases`` (one command = one transaction)."""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import select

from engine.notifications import UserNotificationsMixin
from engine.persistence.models import OutboxMessage

from . import clock
from . import urge as urging


class CaseService:
    """The clock of a case: ``clock(case)``, ``accept``, ``suspend`` (挂起), ``resume``, ``extend`` (延期),
    ``recompute_provisional``, ``urge`` (催办). A case is named by its id or its business key (办件编号)."""

    def __init__(self, ex: Any) -> None:
        self._ex = ex

    def clock(self, case: str) -> clock.ClockView | None:
        return self._ex.read(lambda s: clock.get_clock(s, self._ex.services, case, self._ex.clock.now()))

    def accept(self, case: str, actor: str | None = None) -> clock.ClockView:
        return self._ex.run(partial(clock.accept, instance_id=case, actor=actor))

    def suspend(self, case: str, *, reason: str, kind: str = "other", expected_days: int | None = None,
                actor: str | None = None) -> clock.ClockView:
        return self._ex.run(partial(clock.suspend, instance_id=case, reason=reason, kind=kind,
                                    expected_days=expected_days, actor=actor))

    def resume(self, case: str, actor: str | None = None) -> clock.ClockView:
        return self._ex.run(partial(clock.resume, instance_id=case, actor=actor))

    def extend(self, case: str, *, days: int, reason: str, approver: str, actor: str | None = None) -> clock.ClockView:
        return self._ex.run(partial(clock.extend, instance_id=case, days=days, reason=reason, approver=approver,
                                    actor=actor))

    def recompute_provisional(self, actor: str | None = None) -> list[str]:
        return self._ex.run(partial(clock.recompute_provisional, actor=actor))

    def urge(self, case: str, task_id: str, message: str, actor: str | None = None) -> urging.UrgeView:
        """催办: remind the holder of the case's open task ``task_id`` (``TaskUrged`` + a notification)."""
        return self._ex.run(partial(urging.urge, instance_id=case, task_id=task_id, message=message, actor=actor))


class NotificationService(UserNotificationsMixin):
    """The outbox, read: ``engine.notifications.list()``; a user's in-app notifications (the bell):
    ``unread_count(user)``, ``for_user(user)``, ``mark_read(user, ids)``, ``mark_all_read(user)``."""

    def __init__(self, ex: Any) -> None:
        self._ex = ex

    def list(self, instance_id: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        def q(session: Any) -> list[dict[str, Any]]:
            stmt = select(OutboxMessage).order_by(OutboxMessage.created, OutboxMessage.id)
            if instance_id:
                stmt = stmt.where(OutboxMessage.instance_id == instance_id)
            if state:
                stmt = stmt.where(OutboxMessage.state == state)
            return [{"id": m.id, "dedupeKey": m.dedupe_key, "channel": m.channel,
                     "recipients": m.recipients.split(","), "subject": m.subject, "body": m.body,
                     "instanceId": m.instance_id, "taskId": m.task_id, "state": m.state,
                     "created": m.created.isoformat(), "sentAt": m.sent_at.isoformat() if m.sent_at else None}
                    for m in session.scalars(stmt)]
        return self._ex.read(q)
