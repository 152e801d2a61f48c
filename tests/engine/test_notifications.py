"""In-app notifications on a real database: the outbox's recipients become one unread row per person (user, group
members, supervisors, the leaders of the departments concerned) in the deciding transaction; assignments notify
the new holder; read state per user; the SMTP channel delivers each message once to a fake server on loopback."""

from __future__ import annotations

import dataclasses
import socket
import socketserver
import threading
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from engine.bootstrap import build_engine
from engine.errors import InvalidInput

CST = timezone(timedelta(hours=8))
FIX = Path(__file__).parent.parent / "caseclock" / "fixtures"
PASSWORD = "password-1"


def _people(eng) -> None:  # type: ignore[no-untyped-def]
    ident = eng.identity
    for gid in ("window", "market", "fire", "civil", "supervision", "lead"):
        ident.add_group(gid, gid)
    ident.add_user("li", PASSWORD, groups=["fire"], roles=["reviewer"], email="li@example.test")
    ident.add_user("m1", PASSWORD, groups=["market"], roles=["reviewer"], email="m1@example.test")
    ident.add_user("m2", PASSWORD, groups=["market"], roles=["reviewer"])
    ident.add_user("gone", PASSWORD, groups=["market"], roles=["reviewer"])
    ident.add_user("mlead", PASSWORD, groups=["market"], roles=["leader"])
    ident.add_user("flead", PASSWORD, groups=["fire"], roles=["leader"])
    ident.add_user("boss", PASSWORD, roles=["supervisor"])
    ident.add_user("root", PASSWORD, roles=["admin"])
    ident.deactivate("gone")


@pytest.fixture
def eng(settings, clock):  # type: ignore[no-untyped-def]
    e = build_engine(settings, clock=clock)
    e.repository.deploy([("clock_parallel.bpmn", (FIX / "clock_parallel.bpmn").read_bytes())])
    _people(e)
    clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=CST))
    yield e
    e.close()


def _started(eng, key: str = "NOTE-1"):  # type: ignore[no-untyped-def]
    case = eng.runtime.start("clock_parallel", business_key=key)
    (intake,) = eng.tasks.list(instance_id=case.id)
    eng.tasks.complete(intake.id, "clerk1")
    return case, {t.task_definition_key: t for t in eng.tasks.list(instance_id=case.id)}


def _counts(eng, *users: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {u: eng.notifications.unread_count(u) for u in users}


def test_urge_reaches_the_members_of_the_department_only(eng):
    case, tasks = _started(eng)
    eng.cases.urge(case.id, tasks["review_market"].id, "市场部请加快", actor="boss")
    assert _counts(eng, "m1", "m2", "gone", "li", "mlead", "boss") == {
        "m1": 1, "m2": 1, "gone": 0, "li": 0, "mlead": 1, "boss": 0}  # mlead is a member of market too
    (note,) = eng.notifications.for_user("m1")
    assert note.kind == "urge" and "催办" in note.subject and "市场部请加快" in note.body and note.unread
    assert note.instance_id == case.id and note.task_id == tasks["review_market"].id


def test_overdue_notice_reaches_holder_leaders_of_the_department_and_supervisors(eng, clock):
    case, tasks = _started(eng)
    eng.tasks.claim(tasks["review_market"].id, "m1")
    clock.set(datetime(2026, 4, 10, 9, 0, tzinfo=CST))  # past every 3-working-day review
    eng.jobs.execute_due()
    overdue = [n for n in eng.notifications.for_user("m1") if "超期" in n.subject]
    assert len(overdue) == 1 and "市场监管审查" in overdue[0].subject
    # role:leader → the leader of market (the task's department and the holder's), not fire's for this task
    assert any("市场监管审查" in n.subject and "超期" in n.subject for n in eng.notifications.for_user("mlead"))
    assert not any("市场监管审查" in n.subject for n in eng.notifications.for_user("flead"))
    assert any("市场监管审查" in n.subject and "超期" in n.subject for n in eng.notifications.for_user("boss"))
    assert not any("市场监管审查" in n.subject for n in eng.notifications.for_user("m2"))  # m1 holds it


def test_assignment_transfer_and_delegation_notify_the_new_holder_in_the_same_transaction(eng):
    case, tasks = _started(eng)
    task = tasks["review_market"]
    eng.tasks.claim(task.id, "m1")  # claiming for oneself tells nobody
    assert _counts(eng, "m1", "m2") == {"m1": 0, "m2": 0}
    eng.tasks.set_assignee(task.id, "m2", actor="m1")  # 转办
    assert _counts(eng, "m1", "m2") == {"m1": 0, "m2": 1}
    (note,) = eng.notifications.for_user("m2")
    assert note.kind == "assignment" and "转办" in note.subject and "NOTE-1" in note.subject
    eng.tasks.delegate(task.id, "li", actor="m2")  # 委派
    (deleg,) = eng.notifications.for_user("li")
    assert "委派" in deleg.subject
    eng.tasks.set_assignee(task.id, "li", actor="boss")  # the same holder again: nothing new
    assert eng.notifications.unread_count("li") == 1
    # a refused assignment (the task is ended) queues nothing
    eng.tasks.set_assignee(tasks["review_fire"].id, None, actor="boss")
    eng.tasks.complete(tasks["review_fire"].id, "li", {"fireApproved": True})
    before = len(eng.notifications.list())
    with pytest.raises(Exception):
        eng.tasks.set_assignee(tasks["review_fire"].id, "m1", actor="boss")
    assert len(eng.notifications.list()) == before and eng.notifications.unread_count("m1") == 0


def test_read_state_is_per_user(eng):
    case, tasks = _started(eng)
    eng.cases.urge(case.id, tasks["review_market"].id, "一", actor="boss")
    eng.cases.urge(case.id, tasks["review_market"].id, "二", actor="boss")
    first, second = eng.notifications.for_user("m1")
    assert eng.notifications.mark_read("m1", [first.message_id]) == 1
    assert eng.notifications.mark_read("m1", [first.message_id]) == 0  # already read
    assert _counts(eng, "m1", "m2") == {"m1": 1, "m2": 2}
    assert eng.notifications.mark_read("li", [second.message_id]) == 0  # not li's: nothing changes
    assert eng.notifications.unread_count("m1") == 1
    assert [n.message_id for n in eng.notifications.for_user("m1", unread_only=True)] == [second.message_id]
    assert eng.notifications.mark_all_read("m1") == 1
    assert _counts(eng, "m1", "m2") == {"m1": 0, "m2": 2}
    with pytest.raises(InvalidInput):
        eng.notifications.for_user("m1", limit=0)


class _FakeSmtp(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to receive messages: the edge of the system, on loopback."""

    def handle(self) -> None:  # pragma: no cover - exercised through smtplib
        self.wfile.write(b"220 fake ESMTP\r\n")
        rcpt: list[str] = []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.decode("ascii", "replace").strip().upper()
            if verb.startswith(("EHLO", "HELO")):
                self.wfile.write(b"250-fake\r\n250 8BITMIME\r\n")
            elif verb.startswith("MAIL FROM"):
                rcpt = []
                self.wfile.write(b"250 ok\r\n")
            elif verb.startswith("RCPT TO"):
                rcpt.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                self.wfile.write(b"250 ok\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go\r\n")
                data = b""
                while True:
                    chunk = self.rfile.readline()
                    if chunk in (b".\r\n", b".\n", b""):
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.received.append((rcpt, message_from_bytes(data, policy=policy.default)))  # type: ignore[attr-defined]
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _FakeSmtp)
    server.received = []  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_smtp_delivers_each_message_once_to_the_users_with_an_address(settings, clock, smtp_server):
    host, port = smtp_server.server_address
    eng = build_engine(dataclasses.replace(settings, smtp_host=host, smtp_port=port, smtp_from="ow@example.test"),
                       clock=clock)
    try:
        eng.repository.deploy([("clock_parallel.bpmn", (FIX / "clock_parallel.bpmn").read_bytes())])
        _people(eng)
        clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=CST))
        case, tasks = _started(eng)
        view = eng.cases.urge(case.id, tasks["review_market"].id, "请今天办完", actor="boss")
        eng.jobs.execute_due()
        eng.jobs.execute_due()  # nothing left to deliver: no second mail
        mails = [(rcpt, m) for rcpt, m in smtp_server.received if "催办" in str(m["Subject"])]
        assert len(mails) == 1
        rcpt, mail = mails[0]
        assert rcpt == ["m1@example.test"]  # m2 and mlead have no address; gone is deactivated
        assert mail["Message-ID"] == f"<{view.message_id}@onewindow>" and mail["From"] == "ow@example.test"
        assert "请今天办完" in mail.get_content()
        assert [n["state"] for n in eng.notifications.list(instance_id=case.id) if n["channel"] == "urge"] == ["SENT"]
    finally:
        eng.close()


def test_smtp_server_down_keeps_the_message_pending_for_a_retry(settings, clock):
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    eng = build_engine(dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=port), clock=clock)
    try:
        _people(eng)
        eng.repository.deploy([("clock_parallel.bpmn", (FIX / "clock_parallel.bpmn").read_bytes())])
        clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=CST))
        case, tasks = _started(eng)
        eng.tasks.set_assignee(tasks["review_fire"].id, "li", actor="boss")
        eng.jobs.execute_due()
        (msg,) = [n for n in eng.notifications.list() if n["channel"] == "assignment"]
        assert msg["state"] == "PENDING"  # the delivery job failed and will be retried; the bell has it already
        assert eng.notifications.unread_count("li") == 1
    finally:
        eng.close()
