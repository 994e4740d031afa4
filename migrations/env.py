"""Alembic environment: SQLModel metadata, batch mode on SQLite."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table)
from core.db import is_sqlite, make_engine

config = context.config
target_metadata = SQLModel.metadata


def _configure(**kwargs) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=False,
        **kwargs,
    )


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    _configure(url=url, literal_binds=True, render_as_batch=is_sqlite(url))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_with(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"), pool_size=1)
    try:
        with engine.connect() as conn:
            _run_with(conn)
    finally:
        engine.dispose()


def _run_with(connection) -> None:
    _configure(connection=connection, render_as_batch=is_sqlite(connection.engine))
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
