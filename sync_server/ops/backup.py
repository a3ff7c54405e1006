"""Backups: PostgreSQL through ``pg_dump -Fc`` / ``pg_restore``, SQLite through the sqlite3
backup API (a consistent copy even while the server writes).

``pg_dump`` must be at least as new as the server it dumps (it refuses an older one) and
``pg_restore`` must read the dump's format: install the client of the server's major version.
Connection details go to the tools as ``PG*`` variables, never on their command line (where
every user of the machine could read a password).
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

logger = logging.getLogger(__name__)


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why."""


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _pg_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    for variable, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                            ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[variable] = str(value)
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client "
                          "(apt-get install postgresql-client-<server major version>)")
    return path


def _run(args: list[str], url: URL) -> None:
    # The program is pg_dump or pg_restore found on PATH; the arguments are ours.
    done = subprocess.run(args, env=_pg_env(url), capture_output=True, text=True,  # noqa: S603
                          check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()}")


def table_names(database_url: str) -> list[str]:
    engine = sa.create_engine(database_url)
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def backup(database_url: str, path: Path) -> None:
    """Write a copy of the database to ``path`` (PostgreSQL: custom format; SQLite: a file)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        source = _sqlite_file(url)
        if not source.exists():
            raise BackupError(f"no database file {source}")
        with sqlite3.connect(source) as src, sqlite3.connect(path) as dst:
            src.backup(dst)
        src.close()
        dst.close()
    elif url.get_backend_name() == "postgresql":
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={path}"], url)
    else:
        raise BackupError(f"cannot back up a {url.get_backend_name()} database")
    logger.info("backed up %s to %s", url.render_as_string(hide_password=True), path)


def restore(database_url: str, path: Path, *, force: bool = False) -> None:
    """Put the backup at ``path`` into the database; a database with tables is refused unless
    ``force`` (its tables are then replaced)."""
    if not path.is_file():
        raise BackupError(f"no backup file {path}")
    url = make_url(database_url)
    tables = table_names(database_url)
    if tables and not force:
        raise BackupError(f"the database is not empty ({len(tables)} tables): restoring would "
                          "replace them; use --force to do so")
    if url.get_backend_name() == "sqlite":
        target = _sqlite_file(url)
        with sqlite3.connect(path) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        src.close()
        dst.close()
    elif url.get_backend_name() == "postgresql":
        args = [_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction",
                f"--dbname={url.database}"]
        if tables:
            args += ["--clean", "--if-exists"]
        _run([*args, str(path)], url)
    else:
        raise BackupError(f"cannot restore a {url.get_backend_name()} database")
    logger.info("restored %s from %s", url.render_as_string(hide_password=True), path)
