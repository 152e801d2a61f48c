"""Core INSERT and UPDATE statements compiled once per dialect and run straight on the DB-API cursor.

The engine's hottest writes (a case's row, its task rows, the projection inserts, the history chain) happen while
SQLite's single write lock is held; SQLAlchemy's per-execution work (cache-key lookup, parameter construction,
result set-up) costs several times what SQLite itself needs for them. These statements are still built with
SQLAlchemy and bound with each column type's own processor (``TypeEngine.bind_processor``), so the values stored
are exactly what SQLAlchemy would store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, bindparam, insert, literal, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError


class PreparedWrite:
    def __init__(self, statement: Any, dialect: Dialect, defaults: dict[str, Any] | None = None) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional: Sequence[str] | None = compiled.positiontup
        names = list(self.positional) if self.positional is not None else list(compiled.binds)
        self.names = names
        self.defaults = defaults or {}
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for name in dict.fromkeys(names):
            processor = compiled.binds[name].type.bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor

    def _params(self, values: dict[str, Any]) -> Any:
        def value(name: str) -> Any:
            v = values[name] if name in values else self.defaults[name]
            processor = self.processors.get(name)
            return processor(v) if processor is not None and v is not None else v

        if self.positional is not None:
            return tuple(value(name) for name in self.positional)
        return {name: value(name) for name in dict.fromkeys(self.names)}

    def execute(self, conn: Connection, values: dict[str, Any]) -> int:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        params = self._params(values)
        sql, params = _before_cursor_execute(conn, cursor, self.sql, params, False)
        try:
            cursor.execute(sql, params)
            return int(cursor.rowcount)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(conn, self.sql, params, exc) from exc
        finally:
            cursor.close()

    def send(self, conn: Connection, rows: list[dict[str, Any]]) -> Any:
        """Run the statement once per row and return the open cursor: inside a ``pipeline`` its ``rowcount`` (the
        rows matched in all) is known only once the pipeline has synced; the caller reads it, then closes it."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        params = [self._params(row) for row in rows]
        sql, params = _before_cursor_execute(conn, cursor, self.sql, params, True)
        try:
            if len(params) == 1:
                cursor.execute(sql, params[0])
            else:
                cursor.executemany(sql, params)
        except conn.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise _wrapped(conn, self.sql, params, exc) from exc
        return cursor

    def executemany(self, conn: Connection, rows: list[dict[str, Any]]) -> int:
        """Run the statement once per row; the rows matched in all (psycopg 3 and sqlite3 both sum them)."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        params = [self._params(row) for row in rows]
        sql, params = _before_cursor_execute(conn, cursor, self.sql, params, True)
        try:
            cursor.executemany(sql, params)
            return int(cursor.rowcount)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(conn, self.sql, params, exc) from exc
        finally:
            cursor.close()


@contextmanager
def pipeline(conn: Connection) -> Iterator[None]:
    """psycopg 3 (PostgreSQL): the statements sent inside go to the server without waiting for each other's
    results, and the block's end waits once for all of them (one round trip instead of one per statement or
    executemany). An error of any of them is raised there, as SQLAlchemy would raise it (IntegrityError,
    OperationalError, ...). Other drivers (SQLite): the statements run one by one, as without the block.
    Only for statements whose results are read after the block (``PreparedWrite.send``/``executemany``)."""
    raw = conn.connection.dbapi_connection
    enter = getattr(raw, "pipeline", None)
    if enter is None or conn.dialect.name != "postgresql":
        yield
        return
    base = conn.dialect.loaded_dbapi.Error
    try:
        with enter():
            yield
    except base as exc:
        raise DBAPIError.instance("(pipeline)", None, exc, base) from exc


def _before_cursor_execute(conn: Connection, cursor: Any, sql: str, params: Any, many: bool) -> tuple[str, Any]:
    """The engine's ``before_cursor_execute`` listeners see these statements too (statement counters, tests that
    stop a process inside a transaction); no listener: one attribute test."""
    if conn._has_events or conn.engine._has_events:
        for fn in conn.dispatch.before_cursor_execute:
            sql, params = fn(conn, cursor, sql, params, None, many)
    return sql, params


def _wrapped(conn: Connection, sql: str, params: Any, exc: Exception) -> Exception:
    """A DB-API error as SQLAlchemy would raise it (IntegrityError, OperationalError, ...), so that the executor
    recognises a lost race (a unique history sequence taken, a deadlock) and re-runs the command."""
    return DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error)


_CACHE: dict[tuple[Any, ...], PreparedWrite] = {}


def _scalar_defaults(table: Any) -> dict[str, Any]:
    return {c.key: c.default.arg for c in table.columns if c.default is not None and c.default.is_scalar}


def prepared_insert(conn: Connection, table: Any, keys: tuple[str, ...]) -> PreparedWrite:
    """``INSERT INTO table (keys + columns with a scalar default) VALUES (...)``."""
    cache_key = ("insert", conn.dialect.name, table, keys)
    prepared = _CACHE.get(cache_key)
    if prepared is None:
        stmt = insert(table).values({k: bindparam(k) for k in keys})
        prepared = _CACHE[cache_key] = PreparedWrite(stmt, conn.dialect, _scalar_defaults(table))
    return prepared


_NOT_FIXED = object()


def fixed_in(column: Any, values: Sequence[Any]) -> Any:
    """``column IN (v1, v2, ...)`` with one bound parameter per value: unlike ``column.in_(values)`` (a list
    parameter expanded at each execution) the statement has one fixed SQL text, so ``prepared_statement`` can
    send it."""
    return column.in_([literal(v, column.type) for v in values])


def prepared_statement(conn: Connection, statement: Any) -> PreparedWrite | None:
    """A module-level Core UPDATE or DELETE (the same object every time) compiled once per dialect, or None when
    it has no fixed SQL text (an ``expanding`` list parameter: ``IN :names``): that one runs through SQLAlchemy.
    Values written into the statement itself (``.values(state="DONE")``) are its defaults."""
    cache_key = ("statement", conn.dialect.name, statement)
    prepared = _CACHE.get(cache_key)
    if prepared is None:
        binds = statement.compile(dialect=conn.dialect).binds
        if any(b.expanding for b in binds.values()):
            prepared = _NOT_FIXED
        else:
            prepared = PreparedWrite(statement, conn.dialect,
                                     {name: b.effective_value for name, b in binds.items() if not b.required})
        _CACHE[cache_key] = prepared  # type: ignore[assignment]
    return None if prepared is _NOT_FIXED else prepared  # type: ignore[return-value]


def prepared_versioned_update(conn: Connection, table: Any, keys: tuple[str, ...]) -> PreparedWrite:
    """``UPDATE table SET keys..., version = :_new_version WHERE id = :_id AND version = :_version``."""
    cache_key = ("update", conn.dialect.name, table, keys)
    prepared = _CACHE.get(cache_key)
    if prepared is None:
        stmt = (update(table).where(table.c.id == bindparam("_id"), table.c.version == bindparam("_version"))
                .values({**{k: bindparam(k) for k in keys}, "version": bindparam("_new_version")}))
        prepared = _CACHE[cache_key] = PreparedWrite(stmt, conn.dialect)
    return prepared
