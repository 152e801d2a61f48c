"""Database engine factory: SQLite (WAL, foreign keys, busy timeout, IMMEDIATE write transactions) or PostgreSQL."""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

WRITE_OPTION = "onewindow_write"
CHANGES_AT_BEGIN = "onewindow_changes_at_begin"  # connection info: sqlite3 total_changes when BEGIN ran


BUSY_TIMEOUT_MS = 30000


def begin_immediate(raw: Any, timeout: float = BUSY_TIMEOUT_MS / 1000) -> None:
    """``BEGIN IMMEDIATE`` on a raw sqlite3 connection, waiting for the write lock in short steps.

    SQLite's own busy handler sleeps 1, 2, 5, 10 ... ms between attempts, several times longer than our write
    transactions hold the lock; polling every 0.1-2 ms lets a queue of writers through far faster."""
    raw.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + timeout
        delay = 0.0001
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                    raise
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 1.5, 0.002)
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """Build the SQLAlchemy engine for ``url``; creates the SQLite file's folder when needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, echo)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        # psycopg 3 is the driver we ship; accept plain postgresql:// URLs
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    return engine


IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: Engine, idle: float = IDLE_PING_SECONDS) -> None:
    """Test a pooled connection before use only when it has lain idle for ``idle`` seconds or more.

    ``pool_pre_ping`` would test it before every use: one more round trip on every command and every query
    (of a completion's five to eight). A connection given back a moment ago is used as it is; if the server went
    away in between, the first statement fails as a disconnect, SQLAlchemy discards the pool's connections and
    the executor runs the command again on a new one (``Executor.run``: only when the transaction had not
    reached its COMMIT)."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is not None and time.monotonic() - since < idle:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool replaces the connection (up to three times) on DisconnectionError
            raise DisconnectionError(f"a pooled connection failed its test after {idle:.0f} s idle: {exc}") from exc


_CHECKED_IN = "onewindow_checked_in"


def _sqlite_engine(url: str, database: str | None, echo: bool) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # a pool keeps connections open: closing the last connection of a WAL database checkpoints it (slow); as many
    # kept as a server has request threads plus its timer and job threads (``onewindow serve``: 8 + 2), since a
    # connection beyond the kept ones is closed when given back and the next one opened costs its PRAGMAs and a
    # schema read (60 of them in 1,800 requests of 20 REST clients with 5 kept)
    engine = create_engine(
        url, echo=echo, pool_size=16, max_overflow=20, pool_timeout=60, pool_use_lifo=True,
        connect_args={"timeout": 30, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # take transaction control away from pysqlite so BEGIN is ours (SQLAlchemy docs recipe)
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock at BEGIN: no snapshot-upgrade failures, writers queue on busy_timeout.
        if conn.get_execution_options().get(WRITE_OPTION):
            begin_immediate(conn.connection.dbapi_connection)
        else:
            conn.exec_driver_sql("BEGIN")
        conn.info[CHANGES_AT_BEGIN] = conn.connection.dbapi_connection.total_changes

    return engine
