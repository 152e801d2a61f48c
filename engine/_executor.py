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

from sqlalchemy import Connection, Engine, event, inspect
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from engine import history
from engine.clock import Clock
from engine.errors import EngineError, OptimisticLockConflict
from engine.persistence.db import CHANGES_AT_BEGIN, WRITE_OPTION, begin_immediate
from engine.persistence.fastwrite import pipeline, prepared_insert, prepared_statement, prepared_versioned_update
from engine.persistence.models import (
    ExternalTask,
    HistoryEvent,
    Incident,
    Job,
    ProcessInstance,
    Task,
    TaskIdentityLink,
    Variable,
)
from engine.runtime.spiff import engine_clock

T = TypeVar("T")
_VERSIONED = (ProcessInstance, Task, Job)
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
        self.locked: dict[str, Any] = {}  # instance id -> case row already read FOR UPDATE (a batch, a completion)
        self.inserts: dict[Any, list[dict[str, Any]]] = {}  # table -> rows, written after the ORM flush
        self.writes: list[tuple[Any, dict[str, Any]]] = []  # Core UPDATE/DELETE statements, run after the flush
        self.ended_task_ids: set[str] = set()  # task rows this command ended itself (the projection leaves them)
        self.firing_job_id: str | None = None  # the job this command fires (marked DONE by the job executor)
        self.firing_worker: str | None = None  # who fires it
        self.next_job_due: Any = None  # the earliest due time of the jobs this command created
        self.without_clock: set[str] = set()  # instance ids found to have no case clock (policies._clock_state)

    def new_job_due(self, due: Any) -> None:
        if self.next_job_due is None or due < self.next_job_due:
            self.next_job_due = due

    def write(self, statement: Any, params: dict[str, Any]) -> None:
        """Queue a Core UPDATE or DELETE; it runs in the write phase, after the ORM flush and before the inserts."""
        self.writes.append((statement, params))

    def write_statements(self) -> None:
        writes, self.writes = self.writes, []
        if writes:
            conn = self.session.connection()  # Core statements: no need for the ORM's execution path
            for statement, params in writes:
                conn.execute(statement, params)

    def send_statements(self) -> list[Any]:
        """Send the queued Core statements that compile to one fixed SQL text (no list parameter) on the DB-API
        cursor, in order, up to the first one that does not; inside a ``pipeline`` they travel with the other
        writes. Returns the open cursors (closed by the caller once the pipeline has synced)."""
        conn = self.session.connection()
        cursors: list[Any] = []
        while self.writes:
            prepared = prepared_statement(conn, self.writes[0][0])
            if prepared is None:
                break
            cursors.append(prepared.send(conn, [self.writes.pop(0)[1]]))
        return cursors

    def insert(self, table: Any, **row: Any) -> None:
        """Queue a plain INSERT (Core, executemany) for rows nothing in this command reads back."""
        self.inserts.setdefault(table, []).append(row)

    def write_inserts(self) -> None:
        if not self.inserts:
            return
        conn = self.session.connection()
        ordered = [(t, self.inserts.pop(t)) for t in INSERT_ORDER if t in self.inserts] + list(self.inserts.items())
        self.inserts.clear()
        for table, rows in ordered:
            groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for row in rows:
                groups.setdefault(tuple(row), []).append(row)
            for keys, same in groups.items():
                prepared_insert(conn, table, keys).executemany(conn, same)

    def record(self, event_type: str, *, instance_id: str | None = None, actor: str | None = None,
               task_id: str | None = None, activity_id: str | None = None, **payload: Any) -> None:
        self.events.append(history.PendingEvent(event_type, instance_id, actor, task_id, activity_id, payload))

    def defer_error(self, error: EngineError) -> None:
        """Commit the state (e.g. a case now in incident) and then raise ``error`` to the caller."""
        if self.deferred_error is None:
            self.deferred_error = error


def _update_versioned_rows(session: Session) -> list[tuple[Any, int, str]]:
    """Send the UPDATEs of the changed cases, tasks and jobs (the rows with a version column).

    It is what the ORM flush would do (``UPDATE ... SET changed columns, version = v + 1 WHERE id = ? AND
    version = v``; no row matched = someone else changed it = ``StaleDataError``, so the command is re-run),
    at a fraction of the flush's cost on the hottest path of the engine. The rows of one table that changed the
    same columns (a batch of timers: its cases, its jobs marked DONE) go in one executemany; each row's guard
    matches at most one row (its id), so the summed row count equals the number of rows only if every guard held.
    Returns (cursor, rows expected, what) for ``_check_versioned_rows``, which reads the counts (inside a
    pipeline they are known only once it has synced) before the commit."""
    dirty = [obj for obj in session.dirty if type(obj) in _VERSIONED]
    if not dirty:
        return []
    conn = session.connection()
    groups: dict[tuple[Any, tuple[str, ...]], list[tuple[Any, dict[str, Any]]]] = {}
    for obj in dirty:
        state = inspect(obj)
        keys = tuple(sorted(k for k in state.committed_state if k != "version"))
        if not keys:
            continue
        params = {k: state.dict[k] for k in keys}
        params.update(_id=obj.id, _version=obj.version, _new_version=obj.version + 1)
        groups.setdefault((type(obj).__table__, keys), []).append((obj, params))
    sent: list[tuple[Any, int, str]] = []
    try:
        for (table, keys), rows in groups.items():
            cursor = prepared_versioned_update(conn, table, keys).send(conn, [params for _, params in rows])
            sent.append((cursor, len(rows), f"{table.name} " + ", ".join(f"'{obj.id}'" for obj, _ in rows)))
            for obj, params in rows:
                for k in keys:
                    set_committed_value(obj, k, params[k])
                set_committed_value(obj, "version", obj.version + 1)
                # written: out of the session, so the flush (and the commit's flush) has nothing left to look at;
                # the object keeps its loaded values (expire_on_commit is off) for whoever still reads it (a
                # failed guard rolls the whole command back and it is re-run in a new session)
                session.expunge(obj)
    except BaseException:
        for cursor, _, _ in sent:
            cursor.close()
        raise
    return sent


def _check_versioned_rows(sent: list[tuple[Any, int, str]]) -> None:
    stale = None
    for cursor, expected, what in sent:
        matched = cursor.rowcount
        cursor.close()
        if stale is None and matched != expected:
            stale = f"{what}: {expected - matched} of {expected} changed by another transaction"
    if stale is not None:
        raise StaleDataError(stale)


def _write(session: Session, uow: UnitOfWork) -> None:
    """The write phase: the versioned UPDATEs, the ORM flush, the queued Core statements, the inserts.

    On PostgreSQL the versioned UPDATEs, the queued Core statements and the inserts are pipelined
    (``fastwrite.pipeline``): one round trip for all of them when the ORM has nothing to write (a completion, a
    batch of timers), else one before and one after those (which read their results one by one). The queued
    statements keep their place after the versioned UPDATEs and before the inserts either way."""
    conn = session.connection()
    cursors: list[Any] = []
    try:
        with pipeline(conn):
            sent = _update_versioned_rows(session)
            merged = not (session.new or session.deleted or session.dirty)
            if merged:
                cursors = uow.send_statements()
                merged = not uow.writes
            if merged:
                uow.write_inserts()
    finally:
        for cursor in cursors:
            cursor.close()
    _check_versioned_rows(sent)
    if not merged:
        session.flush()
        uow.write_statements()
        with pipeline(conn):
            uow.write_inserts()


def _take_write_lock(session: Session) -> None:
    """SQLite: end the read transaction of an optimistic command and begin a write transaction.

    If the command already wrote (its read transaction was upgraded to a write transaction), it keeps that
    transaction: nothing it wrote may be committed on its own."""
    conn = session.connection()
    raw = conn.connection.dbapi_connection
    if raw is None or raw.total_changes != conn.info.get(CHANGES_AT_BEGIN):
        return
    raw.execute("ROLLBACK")
    begin_immediate(raw)


class _ReadSession(Session):
    """The session of ``Executor.read``: it never writes (on PostgreSQL it runs in autocommit, where a flush
    would be committed at once)."""


@event.listens_for(_ReadSession, "before_flush")
def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read-only query tried to write: run it as a command (Executor.run)")


def _retryable(exc: BaseException, committing: bool = False) -> bool:
    if isinstance(exc, StaleDataError | IntegrityError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        # the connection was lost (a database restart: pooled connections are not tested before each use,
        # db._ping_when_idle); nothing was committed unless it was lost during the COMMIT itself, whose outcome
        # is unknown: that one is not run again
        return not committing
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
        return "locked" in text or "deadlock" in text or "could not serialize" in text or "busy" in text
    return False


class Executor:
    def __init__(self, db: Engine, clock: Clock, services: Any, *, max_attempts: int = 10) -> None:
        self.db = db
        self.write_db = db.execution_options(**{WRITE_OPTION: True})
        self.sqlite = db.dialect.name == "sqlite"
        # PostgreSQL reads in autocommit: no BEGIN and no ROLLBACK round trips. Under READ COMMITTED (the
        # engine's level) every statement of a transaction takes its own snapshot anyway, so a read of several
        # statements sees what it saw inside a transaction. SQLite: a read transaction (one WAL snapshot).
        self.read_db = db if self.sqlite else db.execution_options(isolation_level="AUTOCOMMIT")
        self.clock = clock
        self.services = services
        self.max_attempts = max_attempts
        # called after a commit that created jobs, with their earliest due time (a worker re-arms its alarm)
        self.on_job_scheduled: Callable[[Any], None] | None = None

    def run(self, command: Callable[[UnitOfWork], T], *, optimistic: bool = False, clock: Clock | None = None) -> T:
        """Run a state-changing command in one transaction (retried on optimistic-locking races).

        On SQLite only one transaction writes at a time. By default a command takes the write lock when it
        begins. An ``optimistic`` command (one whose every decision is guarded by a row version it writes:
        completing a task, starting a case) computes in a read transaction and takes the write lock only to
        write, so the SpiffWorkflow work of several processes runs in parallel; a row changed in between makes
        its versioned UPDATE miss and the command is re-run on fresh data.
        """
        last: BaseException | None = None
        deferred = optimistic and self.sqlite
        clock = clock or self.clock
        for attempt in range(self.max_attempts):
            committing = False
            with Session(bind=self.db if deferred else self.write_db, expire_on_commit=False,
                         autoflush=False) as session:
                uow = UnitOfWork(session, clock, self.services)
                try:
                    with engine_clock(clock):
                        result = command(uow)
                        # (an optimistic command chains its history before it locks: the case rows it extends
                        # are version-guarded, and the unique (chain, seq) guards engine-wide events)
                        history.append(uow, uow.events, uow.now, uow.cases)
                        if deferred:
                            _take_write_lock(session)
                        _write(session, uow)
                        committing = True
                        session.commit()
                        self._cache_workflows(uow)
                        if uow.next_job_due is not None and self.on_job_scheduled is not None:
                            self.on_job_scheduled(uow.next_job_due)
                except EngineError:
                    session.rollback()
                    raise
                except Exception as exc:
                    session.rollback()
                    if not _retryable(exc, committing):
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

    def read_rows(self, query: Callable[[Connection], T]) -> T:
        """Run a read-only query of Core statements in its own transaction, on a plain connection: no ORM session
        to set up and tear down (a third of the cost of a small inbox query)."""
        def run() -> T:
            with self.read_db.connect() as conn, engine_clock(self.clock):
                try:
                    return query(conn)
                finally:
                    conn.rollback()
        return _once_more_if_disconnected(run)

    def read(self, query: Callable[[Session], T]) -> T:
        """Run a read-only query in its own transaction."""
        def run() -> T:
            with _ReadSession(bind=self.read_db, expire_on_commit=False) as session, engine_clock(self.clock):
                try:
                    return query(session)
                finally:
                    session.rollback()
        return _once_more_if_disconnected(run)


def _once_more_if_disconnected(read: Callable[[], T]) -> T:
    """A read whose connection was lost (a database restart: pooled connections are not tested before each use)
    is simply run again, on a new connection."""
    try:
        return read()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return read()
