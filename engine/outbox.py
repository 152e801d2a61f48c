"""The outbox: notifications (warnings, overdue notices, escalations) leave the engine once.

A command that decides to notify writes an ``outbox`` row in its own transaction, together with a delivery job
due at once. The job (``outbox-delivery``) hands the message to the notifier and marks it SENT in the job's
transaction: a crash before that commit makes the job run again, and the message is handed over again with the
same id — notifiers deduplicate on it (the message id is the idempotency key), so the recipient sees it once.
The message is never lost: it is written with the decision, or not at all. A rolled-back decision sends nothing.

Notifiers are the edge of the system (mail, SMS, the government IM): ``LogNotifier`` (default) writes to the
log, ``JsonlNotifier`` appends to a JSON-lines file (``ONEWINDOW_NOTIFY_FILE``), deduplicating on the id.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from pathlib import Path
from typing import Any, Protocol

from engine.jobs.handlers import handler
from engine.persistence.models import Job, OutboxMessage

log = logging.getLogger("onewindow.notify")


class Notifier(Protocol):
    def send(self, message: dict[str, Any]) -> None: ...


class LogNotifier:
    def send(self, message: dict[str, Any]) -> None:
        log.info("notify %s: %s", message["recipients"], message["subject"])


class JsonlNotifier:
    """Appends each message to a JSON-lines file once (a message id already in the file is skipped)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _seen(self) -> set[str]:
        if not self.path.exists():
            return set()
        return {json.loads(line)["id"] for line in self.path.read_text(encoding="utf-8").splitlines() if line}

    def send(self, message: dict[str, Any]) -> None:
        with self._lock:
            if message["id"] in self._seen():
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(message, ensure_ascii=False, default=str) + "\n")


def enqueue(uow: Any, *, dedupe_key: str, recipients: list[str], subject: str, body: str,
            instance_id: str | None = None, task_id: str | None = None, channel: str = "notice") -> str | None:
    """Queue a notification in the current transaction. ``dedupe_key`` names the decision (e.g.
    ``task-timeout:<job id>``): the same decision never queues a second message."""
    existing = uow.session.query(OutboxMessage.id).filter(OutboxMessage.dedupe_key == dedupe_key).first()
    if existing is not None:
        return None
    mid = str(uuid.uuid4())
    recipients = [r for r in dict.fromkeys(recipients) if r]
    uow.insert(OutboxMessage.__table__, id=mid, dedupe_key=dedupe_key, channel=channel,
               recipients=",".join(recipients), subject=subject, body=body, instance_id=instance_id,
               task_id=task_id, state="PENDING", created=uow.now, sent_at=None)
    # the delivery job belongs to the case (its history records the delivery) but is never suspended or cancelled
    # with it: a notice about a case goes out whatever happens to the case
    uow.insert(Job.__table__, id=str(uuid.uuid4()), job_type="outbox-delivery", instance_id=instance_id,
               activity_id=None, task_id=mid, definition_id=None, payload=None, due=uow.now, state="PENDING",
               attempts=0, last_error=None, executed_by=None, executed_at=None, retry_at=None, created=uow.now,
               version=1)
    uow.new_job_due(uow.now)
    return mid


@handler("outbox-delivery")
def _deliver(uow: Any, job: Any, worker_id: str | None) -> str:
    msg = uow.session.get(OutboxMessage, job.task_id)
    if msg is None or msg.state != "PENDING":
        return "cancelled"
    notifier = getattr(uow.services, "notifier", None) or LogNotifier()
    notifier.send({"id": msg.id, "channel": msg.channel, "recipients": msg.recipients.split(","),
                   "subject": msg.subject, "body": msg.body, "instanceId": msg.instance_id, "taskId": msg.task_id,
                   "created": msg.created.isoformat()})
    msg.state, msg.sent_at = "SENT", uow.now
    return "fired"
