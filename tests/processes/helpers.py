"""What the simulations of the service items share: Beijing time, the diagrams folder, a case's open tasks of the
diagram by activity, completing one, the case's history events of one kind, the window's acceptance, and moving the
clock to fire what is due; the item's automatic steps (``handlers``) run where the item has them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from processes.worker import drain

CST = timezone(timedelta(hours=8))
BPMN = Path(__file__).resolve().parents[2] / "bpmn"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


def open_tasks(eng, case) -> dict:  # type: ignore[no-untyped-def]
    """The case's open tasks of its diagram (not the engine-made 督办 and formal-opinion tasks) by activity id."""
    return {t.task_definition_key: t for t in eng.tasks.list(instance_id=case.id) if t.origin is None}


def complete(eng, case, activity: str, user: str = "u1", **variables):  # type: ignore[no-untyped-def]
    task = open_tasks(eng, case)[activity]
    eng.tasks.complete(task.id, user, variables)
    return task


def events(eng, case, kind: str) -> list:  # type: ignore[no-untyped-def]
    return [e for e in eng.history.events(case.id) if e.event_type == kind]


def accept(eng, clock, case, when: datetime, handlers: Any) -> None:  # type: ignore[no-untyped-def]
    """The window accepts the application at ``when`` (受理); the automatic steps that follow run."""
    clock.set(when)
    complete(eng, case, "intake_review", "clerk1", intakeDecision="ACCEPT")
    drain(eng, handlers)


def fire(eng, clock, when: datetime, handlers: Any = None) -> None:  # type: ignore[no-untyped-def]
    """Move the clock to ``when`` and fire what is due (twice: a fired job may make another one due at once)."""
    clock.set(when)
    eng.jobs.execute_due()
    eng.jobs.execute_due()
    if handlers is not None:
        drain(eng, handlers)
