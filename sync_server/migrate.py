"""Run the packaged Alembic migrations from anywhere (no alembic.ini needed)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

from sync_server.config import Config

logger = logging.getLogger(__name__)
# Next to this module in the installed package (no alembic.ini, works from any directory).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at ``database_url`` up to ``revision``."""
    logger.info("upgrading database to %s", revision)
    command.upgrade(alembic_config(database_url), revision)


def current_heads() -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def upgraded_sessions() -> sessionmaker[Session]:
    """For a command in the app's context: bring the app's database to head, then hand out its
    session factory."""
    config: Config = current_app.extensions["sync_config"]
    upgrade(config.database_url)
    factory: sessionmaker[Session] = current_app.extensions["sync_db_sessionmaker"]
    return factory
