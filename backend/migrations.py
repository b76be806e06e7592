"""Bring a database's schema up to date with Alembic, from code (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations
from backend.db import make_engine
from backend.settings import Settings


def upgrade_to_head(settings: Settings) -> None:
    """Apply every migration not yet applied to ``settings.database_url``."""
    settings.make_dirs()
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
