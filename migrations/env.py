"""Alembic environment: the service's metadata, and the database URL from the settings."""

from __future__ import annotations

import logging.config

from alembic import context

from backend.models import Base
from backend.settings import get_settings

config = context.config
if config.config_file_name is not None:
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations() -> None:
    # backend/migrations.py passes an open connection; the `alembic` command line does not.
    connection = config.attributes.get("connection")
    if connection is None:
        from backend.db import make_engine

        engine = make_engine(get_settings().database_url)
        with engine.connect() as connection:
            _migrate(connection)
        engine.dispose()
    else:
        _migrate(connection)


def _migrate(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations()
