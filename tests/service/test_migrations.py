"""The migrations build exactly the schema the models declare, and undo cleanly."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import migrations
from backend.db import make_engine
from backend.migrations import upgrade_to_head
from backend.models import Base
from backend.settings import Settings

from ..real_services import fresh_database_url


def test_upgrade_builds_the_models_schema_and_downgrade_removes_it(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url=fresh_database_url(tmp_path, "migrations"))
    upgrade_to_head(settings)
    upgrade_to_head(settings)  # a second run has nothing to do
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            indexes = {index["name"] for index in inspect(connection).get_indexes("experiment")}
            assert "ix_experiment_status_created_at_id" in indexes

        config = Config()
        config.set_main_option("script_location", str(Path(migrations.__file__).parent))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
