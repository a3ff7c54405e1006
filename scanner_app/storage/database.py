"""Open a door database: one SQLite file per paired server, WAL, migrated to head on open.

Layout under the data folder::

    active-server                 the folder name of the server in use
    servers/<slug>/door.sqlite3   the database (+ -wal, -shm)
    servers/<slug>/secret.key     the encryption key, when there is no OS keyring (mode 0600)

Every transaction starts with ``BEGIN IMMEDIATE``: the scan path and the sync thread both write,
and taking the write lock up front means a transaction never fails half-way on a lock upgrade;
SQLite's busy timeout makes the other side wait (sync transactions are kept short).
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

logger = logging.getLogger(__name__)

UNPAIRED = "unpaired"
DB_NAME = "door.sqlite3"
BUSY_TIMEOUT_MS = 10_000
_MIGRATIONS = Path(__file__).with_name("migrations")


def server_slug(server_url: str) -> str:
    """A folder name for one server: readable host and port, plus a hash of the whole URL."""
    parts = urlsplit(server_url.strip())
    netloc = (parts.netloc or parts.path).lower()
    host = re.sub(r"[^a-z0-9.-]+", "-", netloc).strip("-")
    canonical = f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/') if parts.netloc else ''}"
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:10]
    return f"{host[:60] or 'server'}-{digest}"


def server_dir(data_dir: Path, slug: str) -> Path:
    return data_dir / "servers" / slug


def active_slug(data_dir: Path) -> str:
    try:
        slug = (data_dir / "active-server").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return UNPAIRED
    return slug if re.fullmatch(r"[a-z0-9.-]+", slug) else UNPAIRED


def set_active_slug(data_dir: Path, slug: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / "active-server.tmp"
    tmp.write_text(slug + "\n", encoding="utf-8")
    tmp.replace(data_dir / "active-server")


def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _on_begin(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(path: Path) -> sa.Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )
    sa.event.listen(engine, "connect", _on_connect)
    sa.event.listen(engine, "begin", _on_begin)
    return engine


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def upgrade(engine: sa.Engine) -> None:
    """Bring the database to the newest schema (a no-op when it is already there)."""
    config = _alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.begin() as connection:
        if MigrationContext.configure(connection).get_current_revision() == head:
            return
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    logger.info("door database upgraded to %s", head)


def open_engine(data_dir: Path, slug: str) -> sa.Engine:
    engine = create_engine(server_dir(data_dir, slug) / DB_NAME)
    upgrade(engine)
    return engine


def remove_server_files(data_dir: Path, slug: str) -> None:
    """Delete a server's folder: the database, its WAL and the key file."""
    folder = server_dir(data_dir, slug)
    if folder.exists():
        shutil.rmtree(folder)
    if active_slug(data_dir) == slug:
        (data_dir / "active-server").unlink(missing_ok=True)
