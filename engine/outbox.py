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


class SmtpNotifier:
    """E-mail: each message goes to the e-mail addresses of the users it was fanned out to (``message["to"]``;
    users without an address and recipients that are not users get nothing by mail), in one SMTP session, with
    ``Message-ID: <outbox id@onewindow>`` so a resend after a crash is recognisable. ``also`` is another notifier
    that receives every message too (the log, the JSON-lines file). Settings: ``ONEWINDOW_SMTP_HOST``, ``_PORT``
    (25; 465 = implicit TLS), ``_USER``/``_PASSWORD`` (login, with STARTTLS when the server offers it), ``_FROM``."""

    def __init__(self, host: str, port: int = 25, *, user: str | None = None, password: str | None = None,
                 sender: str = "onewindow@localhost", timeout: float = 10.0, also: Notifier | None = None) -> None:
        self.host, self.port, self.user, self.password = host, int(port), user, password
        self.sender, self.timeout, self.also = sender, timeout, also

    def send(self, message: dict[str, Any]) -> None:
        if self.also is not None:
            self.also.send(message)
        to = [p["email"] for p in message.get("to") or () if p.get("email")]
        if not to:
            return
        import smtplib
        from email.message import EmailMessage
        from email.utils import formatdate

        mail = EmailMessage()
        mail["Subject"] = message["subject"]
        mail["From"] = self.sender
        mail["To"] = ", ".join(to)
        mail["Message-ID"] = f"<{message['id']}@onewindow>"
        mail["Date"] = formatdate(localtime=False)
        mail.set_content(message["body"])
        smtp_class = smtplib.SMTP_SSL if self.port == 465 else smtplib.SMTP
        with smtp_class(self.host, self.port, timeout=self.timeout) as smtp:
            if self.user:
                smtp.ehlo()
                if self.port != 465 and smtp.has_extn("starttls"):
                    smtp.starttls()
                    smtp.ehlo()
                smtp.login(self.user, self.password or "")
            smtp.send_message(mail, from_addr=self.sender, to_addrs=to)


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
    # the in-app bell: one unread notification per person behind the recipients, with the decision
    from engine.notifications import fan_out

    fan_out(uow, message_id=mid, recipients=recipients, kind=channel, task_id=task_id)
    return mid


def _people(session: Any, message_id: str) -> list[dict[str, Any]]:
    """The users the message was fanned out to (engine.notifications), with their e-mail addresses when known."""
    from sqlalchemy import select

    from engine.persistence.models import Notification, User

    rows = session.execute(select(Notification.user_id, User.email).outerjoin(User, User.id == Notification.user_id)
                           .where(Notification.message_id == message_id).order_by(Notification.user_id))
    return [{"user": user_id, "email": email} for user_id, email in rows]


@handler("outbox-delivery")
def _deliver(uow: Any, job: Any, worker_id: str | None) -> str:
    msg = uow.session.get(OutboxMessage, job.task_id)
    if msg is None or msg.state != "PENDING":
        return "cancelled"
    notifier = getattr(uow.services, "notifier", None) or LogNotifier()
    notifier.send({"id": msg.id, "channel": msg.channel, "recipients": msg.recipients.split(","),
                   "subject": msg.subject, "body": msg.body, "instanceId": msg.instance_id, "taskId": msg.task_id,
                   "created": msg.created.isoformat(), "to": _people(uow.session, msg.id)})
    msg.state, msg.sent_at = "SENT", uow.now
    return "fired"
