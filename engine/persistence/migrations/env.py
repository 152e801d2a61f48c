from __future__ import annotations

from alembic import context

from engine.persistence.base import Base
from engine.persistence import models  # noqa: F401  (registers the tables)
from engine.persistence.migrate import include_object

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          include_object=include_object(connection.dialect.name))
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
