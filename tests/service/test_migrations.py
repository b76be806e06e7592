"""The migrations build exactly the schema the models declare, and undo cleanly."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect, select, text

import migrations
from backend.auth.service import hash_secret
from backend.db import make_engine, make_session_factory
from backend.migrations import upgrade_to_head
from backend.models import Base
from backend.settings import Settings
from backend.shares import service as share_service
from backend.shares.models import Share

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


def test_share_links_made_before_freezing_are_frozen_from_their_runs(tmp_path: Path) -> None:
    """A link made before links kept their own copy shows the same run after the upgrade,
    and keeps showing it once the experiment is renamed or deleted."""
    settings = Settings(home=tmp_path, database_url=fresh_database_url(tmp_path, "freeze"))
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    engine = make_engine(settings.database_url)
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    meta = {"engine_version": "1", "spec_hash": "ab" * 32, "seed": 7, "accesses": 500,
            "epochs": 1, "sim_seconds": 0.1}  # fmt: skip
    arrays = zlib.compress(json.dumps({"series": {"faults": [3]}, "heatmap": None}).encode())
    token = "t" * 43
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "6f9bcf7e49d0")
            tables = MetaData()
            tables.reflect(connection)
            insert = {name: tables.tables[name].insert() for name in tables.tables}
            connection.execute(insert["experiment"], {"id": 1, "name": "before", "description": "",
                "kind": "single", "spec": {}, "sweep": None, "status": "succeeded",
                "created_at": now, "updated_at": now})  # fmt: skip
            connection.execute(insert["experiment_tag"], {"experiment_id": 1, "tag": "old"})
            connection.execute(insert["run"], {"id": 5, "experiment_id": 1, "point_index": 0,
                "params": {}, "spec": {"controls": {"seed": 7}}, "spec_hash": "ab" * 32,
                "engine_version": "1", "trace_file": None, "status": "succeeded",
                "cancel_requested": False, "reused_result": False, "attempts": 1,
                "worker_hostname": "secret-host", "accesses_done": 500, "accesses_total": 500,
                "error": None, "created_at": now, "started_at": now,
                "finished_at": now})  # fmt: skip
            connection.execute(insert["result"], {"run_id": 5, "spec_hash": "ab" * 32,
                "engine_version": "1", "meta": meta, "summary": {"faults": 3},
                "arrays": arrays, "created_at": now})  # fmt: skip
            connection.execute(insert["share"], {"id": 1, "token_hash": hash_secret(token),
                "view": "run", "created_at": now})  # fmt: skip
            connection.execute(insert["share_run"], {"share_id": 1, "position": 0, "run_id": 5})
        upgrade_to_head(settings)
        with engine.begin() as connection:
            connection.execute(text("UPDATE experiment SET name = 'renamed'"))
            connection.execute(text("DELETE FROM experiment"))
        with make_session_factory(engine)() as session:
            view = share_service.read_shared(session, token=token)
            assert [run.id for run in view.runs] == [5]
            assert view.runs[0].summary == {"faults": 3} and view.runs[0].accesses == 500
            assert [(e.name, e.tags) for e in view.experiments] == [("before", ["old"])]
            assert "secret-host" not in view.model_dump_json()
            result = share_service.read_shared_result(session, token=token, run_id=5)
            assert result.series == {"faults": [3]}
            share = session.scalars(select(Share)).one()
            assert len(share.public_id) == 22
    finally:
        engine.dispose()
