"""Shared set-up of the case view and status page tests: an app on the test's engine, users of each role, a
parallel-approval case with a completed, an active and an overdue task."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

CST = timezone(timedelta(hours=8))
FIXTURES = Path(__file__).parent.parent / "fixtures" / "web"
PASSWORD = "correct-horse-1"
USERS = {  # id: (departments, roles)
    "clerk1": (("window",), ("clerk",)),
    "rev_fire": (("fire",), ("reviewer",)),
    "rev_market": (("market",), ("reviewer",)),
    "rev_tax": (("tax",), ("reviewer",)),
    "boss": ((), ("supervisor",)),
    "root": ((), ("admin",)),
}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


@pytest.fixture
def web_app(engine):  # type: ignore[no-untyped-def]
    from web.app import create_app

    engine.repository.deploy([("case_view.bpmn", (FIXTURES / "case_view.bpmn").read_bytes())])
    for uid, (groups, roles) in USERS.items():
        engine.identity.add_user(uid, PASSWORD, name=uid, groups=groups, roles=roles, create_groups=True,
                                 actor="test")
    app = create_app(engine, config={"REST_AUTH": False, "SECRET_KEY": "test-secret", "TESTING": True,
                                     "WTF_CSRF_ENABLED": False})
    return app


def login(client: Any, user_id: str) -> Any:
    """Log ``user_id`` in through the login form (a fresh session each time)."""
    client.post("/logout")
    r = client.post("/login", data={"username": user_id, "password": PASSWORD})
    assert r.status_code in (302, 303), r.text
    return client


def start_case(engine, clock, key: str = "GD-20260401-0001", **variables: Any):  # type: ignore[no-untyped-def]
    """Accepted Wednesday 2026-04-01 09:00; 市场监管 approves; the 3-working-day reviews are due Tuesday 04-07
    17:30 (Qingming 04-04..06 skipped); the clock is left on Wednesday 04-08 09:00: 消防 is overdue, 人防 on time."""
    clock.set(at(2026, 4, 1, 9, 0))
    variables = {"applicantPhone": "138-0013-1234", "deliveryMethod": "mail", "applicantName": "张三", **variables}
    case = engine.runtime.start("case_view", business_key=key, variables=variables)
    (intake,) = engine.tasks.list(instance_id=case.id)
    engine.tasks.complete(intake.id, "clerk1")
    tasks = {t.task_definition_key: t for t in engine.tasks.list(instance_id=case.id)}
    engine.tasks.complete(tasks["review_market"].id, "rev_market")
    clock.set(at(2026, 4, 8, 9, 0))
    return case, tasks
