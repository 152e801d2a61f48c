"""The unit of work and the executor: one façade call = one command = one transaction.

Only this module opens, commits and rolls back sessions. A command that loses an optimistic-locking race
(a stale case version, a history chain collision, SQLite's busy writer) is re-run from scratch on fresh data,
a bounded number of times; then the caller gets ``OptimisticLockConflict``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import history
from engine.clock import Clock
from engine.errors import EngineError, OptimisticLockConflict
from engine.persistence.db import WRITE_OPTION
from engine.persistence.models import ExternalTask, HistoryEvent, Incident, Task, TaskIdentityLink, Variable
from engine.runtime.spiff import engine_clock

T = TypeVar("T")
INSERT_ORDER = (Task.__table__, TaskIdentityLink.__table__, ExternalTask.__table__, Variable.__table__,
                Incident.__table__, HistoryEvent.__table__)


class UnitOfWork:
    """What a command gets: the session, the clock, the engine services and the history it records."""

    def __init__(self, session: Session, clock: Clock, services: Any) -> None:
        self.session = session
        self.clock = clock
        self.services = services
        self.events: list[history.PendingEvent] = []
        self.deferred_error: EngineError | None = None
        self.now = clock.now()
        self.cases: dict[str, Any] = {}  # instance id -> process_instance row touched by this command
        self.loaded: dict[str, Any] = {}  # instance id -> Case (row + live workflow) loaded by this command
        self.inserts: dict[Any, list[dict[str, Any]]] = {}  # table -> rows, written after the ORM flush

    def insert(self, table: Any, **row: Any) -> None:
        """Queue a plain INSERT (Core, executemany) for rows nothing in this command reads back."""
        self.inserts.setdefault(table, []).append(row)

    def write_inserts(self) -> None:
        for table in INSERT_ORDER:
            rows = self.inserts.pop(table, None)
            if rows:
                self.session.execute(insert(table), rows)
        for table, rows in self.inserts.items():
            self.session.execute(insert(table), rows)
        self.inserts.clear()

    def record(self, event_type: str, *, instance_id: str | None = None, actor: str | None = None,
               task_id: str | None = None, activity_id: str | None = None, **payload: Any) -> None:
        self.events.append(history.PendingEvent(event_type, instance_id, actor, task_id, activity_id, payload))

    def defer_error(self, error: EngineError) -> None:
        """Commit the state (e.g. a case now in incident) and then raise ``error`` to the caller."""
        if self.deferred_error is None:
            self.deferred_error = error


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, StaleDataError | IntegrityError):
        return True
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
        return "locked" in text or "deadlock" in text or "could not serialize" in text or "busy" in text
    return False


class Executor:
    def __init__(self, db: Engine, clock: Clock, services: Any, *, max_attempts: int = 10) -> None:
        self.db = db
        self.write_db = db.execution_options(**{WRITE_OPTION: True})
        self.clock = clock
        self.services = services
        self.max_attempts = max_attempts

    def run(self, command: Callable[[UnitOfWork], T]) -> T:
        """Run a state-changing command in one transaction (retried on optimistic-locking races)."""
        last: BaseException | None = None
        for attempt in range(self.max_attempts):
            with Session(bind=self.write_db, expire_on_commit=False, autoflush=False) as session:
                uow = UnitOfWork(session, self.clock, self.services)
                try:
                    with engine_clock(self.clock):
                        result = command(uow)
                        history.append(uow, uow.events, uow.now, uow.cases)
                        session.flush()
                        uow.write_inserts()
                        session.commit()
                        self._cache_workflows(uow)
                except EngineError:
                    session.rollback()
                    raise
                except Exception as exc:
                    session.rollback()
                    if not _retryable(exc):
                        raise
                    last = exc
                    time.sleep(min(0.2, 0.005 * (2**attempt)) * random.random())
                    continue
            if uow.deferred_error is not None:
                raise uow.deferred_error
            return result
        raise OptimisticLockConflict(
            f"the case was changed concurrently and {self.max_attempts} attempts did not get through: {last}")

    def _cache_workflows(self, uow: UnitOfWork) -> None:
        cache = getattr(self.services, "workflows", None)
        if cache is None:
            return
        for instance_id, case in uow.loaded.items():
            if case.row.state not in ("COMPLETED", "TERMINATED"):
                cache.put(instance_id, case.row.version, case.wf)

    def read(self, query: Callable[[Session], T]) -> T:
        """Run a read-only query in its own transaction."""
        with Session(bind=self.db, expire_on_commit=False) as session, engine_clock(self.clock):
            try:
                return query(session)
            finally:
                session.rollback()
