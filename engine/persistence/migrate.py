"""Schema migrations with Alembic, driven from code (``onewindow db upgrade``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def include_object(dialect: str) -> Any:
    """Alembic's ``include_object`` hook for comparing the models with a database of ``dialect``: leaves out what the
    models create on other dialects only (``Index(...).ddl_if(dialect="postgresql")``: the trigram indexes)."""

    def include(obj: Any, _name: str | None, type_: str, reflected: bool, _compare_to: Any) -> bool:
        only = getattr(obj, "_ddl_if", None)
        return reflected or only is None or only.dialect is None or only.dialect == dialect

    return include


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or migrate the schema to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def ensure_current(engine: Engine) -> None:
    """Upgrade only when the schema is behind (running Alembic on every start costs a second)."""
    try:
        if current_revision(engine) == head_revision():
            return
    except Exception:  # no database yet, or no version table: let upgrade create it
        pass
    upgrade(engine)
