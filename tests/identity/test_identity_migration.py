"""Migration 0008 (identity) down to 0007 and up again; a concurrent duplicate account is one clear Conflict."""

from __future__ import annotations

import threading

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from engine.bootstrap import build_engine
from engine.errors import Conflict
from engine.persistence import migrate
from engine.persistence.base import Base
from engine.settings import Settings

TABLES = {"identity_user", "identity_group", "identity_membership", "identity_user_role"}


def test_down_to_0007_and_up_again(database_url, clock):
    engine = build_engine(Settings(database_url=database_url), clock=clock)
    engine.identity.add_user("mig", "password-1", groups=["market"], roles=["admin"], create_groups=True)
    assert TABLES <= set(inspect(engine.db).get_table_names())
    engine.close()

    command.downgrade(migrate.alembic_config(engine.db), "0007")
    assert migrate.current_revision(engine.db) == "0007"
    assert not TABLES & set(inspect(engine.db).get_table_names())
    engine.db.dispose()

    again = build_engine(Settings(database_url=database_url), clock=clock)  # upgrades to head on the way
    try:
        assert migrate.current_revision(again.db) == migrate.head_revision()
        with again.db.connect() as conn:
            opts = {"include_object": migrate.include_object(conn.dialect.name)}  # PostgreSQL-only indexes
            assert compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata) == []
        assert again.identity.users() == []
        again.identity.add_user("mig", "password-1", roles=["reviewer"])
        assert again.identity.authenticate("mig", "password-1").roles == ("reviewer",)
    finally:
        again.close()


def test_two_admins_adding_the_same_login_at_once(engine):
    results: list[object] = []
    barrier = threading.Barrier(2)

    def add() -> None:
        barrier.wait()
        try:
            results.append(engine.identity.add_user("twin", "password-1", roles=["clerk"]))
        except Conflict as exc:
            results.append(exc)
    threads = [threading.Thread(target=add) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "UserView"]
    assert "user 'twin' already exists" in str(next(r for r in results if isinstance(r, Conflict)))
    assert [u.id for u in engine.identity.users()] == ["twin"]
