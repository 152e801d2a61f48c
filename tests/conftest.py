"""Shared fixtures. The whole suite runs on SQLite (a fresh file per test) or, when
ONEWINDOW_TEST_DB=postgresql, on a PostgreSQL server (a fresh database per test, copied from a migrated template).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.bootstrap import build_engine
from engine.clock import FrozenClock
from engine.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
BACKEND = os.environ.get("ONEWINDOW_TEST_DB", "sqlite")
PG_URL = os.environ.get("ONEWINDOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pytest_report_header(config: pytest.Config) -> str:
    return f"onewindow database backend: {BACKEND}"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    if BACKEND != "postgresql":
        yield None
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"ow_tpl_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    from engine.persistence import migrate
    from engine.persistence.db import create_db_engine

    tpl = create_db_engine(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    migrate.upgrade(tpl)
    tpl.dispose()
    yield name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(tmp_path: Path, pg_template: str | None) -> Iterator[str]:
    if BACKEND != "postgresql":
        yield f"sqlite:///{tmp_path / 'onewindow.db'}"
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"ow_t_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))  # Monday 09:30 in Beijing


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, script_time_limit=1.0)


@pytest.fixture
def engine(settings: Settings, clock: FrozenClock):  # type: ignore[no-untyped-def]
    eng = build_engine(settings, clock=clock)
    yield eng
    eng.close()


def fixture_bytes(*parts: str) -> bytes:
    return FIXTURES.joinpath(*parts).read_bytes()


def deploy_fixture(engine, *names: str):  # type: ignore[no-untyped-def]
    return engine.repository.deploy([(Path(n).name, fixture_bytes(n)) for n in names])
