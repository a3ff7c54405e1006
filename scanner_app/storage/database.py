"""Open a door database: one SQLCipher file per paired server, WAL, migrated to head on open.

Layout under the data folder (folders 0700, files 0600: this user's only)::

    active-server                 the folder name of the server in use
    servers/<slug>/door.sqlite3   the database (+ -wal, -shm), every page encrypted
    servers/<slug>/secret.key     the door's secret, when there is no OS keyring (vault.py)

The whole file is encrypted by SQLCipher 4 (AES-256-CBC, HMAC-SHA512 per page) under a raw
256-bit key (``PRAGMA key = "x'...'"``: no PBKDF2 at open, the key is random, not a password).
Pages are decrypted into SQLite's page cache, so reading cached pages costs nothing extra. A plain
database left by an older door is encrypted in place on first open (``sqlcipher_export``).

Every transaction starts with ``BEGIN IMMEDIATE``: the scan path and the sync thread both write,
and taking the write lock up front means a transaction never fails half-way on a lock upgrade;
SQLite's busy timeout makes the other side wait (sync transactions are kept short).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
import sqlcipher3

logger = logging.getLogger(__name__)

UNPAIRED = "unpaired"
DB_NAME = "door.sqlite3"
BUSY_TIMEOUT_MS = 10_000
HEAD = "0005"  # the newest migration: a database already there opens without loading Alembic
PLAIN_HEADER = b"SQLite format 3\x00"  # an encrypted file starts with its random salt instead
_MIGRATIONS = Path(__file__).with_name("migrations")
_SIDE_FILES = ("-wal", "-shm", "-journal")


class UnreadableDatabase(RuntimeError):
    """The database cannot be opened: its key is lost, or the file is damaged or foreign."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"the door database {path} cannot be read (its key is lost, or the file is "
            "damaged). Move its folder aside and pair this door again: the server keeps "
            "every ticket, and scans this door already uploaded."
        )
        self.path = path


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
    private_folder(data_dir)
    tmp = data_dir / "active-server.tmp"
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(slug + "\n")
    tmp.replace(data_dir / "active-server")


def private_folder(folder: Path) -> None:
    """Make ``folder`` (and missing parents) and leave it 0700, even if it was made wider."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)


def _private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if missing; narrow it and its side files if not.

    SQLite gives the -wal and -shm files the mode of the database file, so creating the
    database 0600 keeps them private as well.
    """
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for candidate in (path, *(path.with_name(path.name + s) for s in _SIDE_FILES)):
        if candidate.exists():
            candidate.chmod(0o600)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_plain(path: Path) -> bool:
    """True for an unencrypted SQLite file (an older door's), False for encrypted or empty."""
    try:
        with path.open("rb") as handle:
            return handle.read(len(PLAIN_HEADER)) == PLAIN_HEADER
    except FileNotFoundError:
        return False


def encrypt_plain(path: Path, key: str) -> None:
    """Rewrite the plain database at ``path`` encrypted with ``key``, then put it in its place.

    A crash before the final rename leaves the plain file as it was (the half-written copy is
    removed on the next try); after it, the encrypted one. The plain file's blocks are freed,
    not overwritten: on an SSD nothing can promise to overwrite them.
    """
    tmp = path.with_name(path.name + ".encrypting")
    for leftover in (tmp, *(tmp.with_name(tmp.name + s) for s in _SIDE_FILES)):
        leftover.unlink(missing_ok=True)
    _private_file(tmp)
    plain = sqlcipher3.connect(str(path), isolation_level=None)
    try:
        plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        plain.execute(f"ATTACH DATABASE ? AS encrypted KEY \"x'{_hex(key)}'\"", (str(tmp),))
        plain.execute("SELECT sqlcipher_export('encrypted')")
        version = plain.execute("PRAGMA user_version").fetchone()[0]
        plain.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        plain.execute("DETACH DATABASE encrypted")
    finally:
        plain.close()
    with tmp.open("rb+") as handle:
        os.fsync(handle.fileno())
    for side in _SIDE_FILES:  # the plain database's, emptied by the checkpoint and close above
        path.with_name(path.name + side).unlink(missing_ok=True)
    tmp.replace(path)
    _fsync_folder(path.parent)
    logger.info("door database %s encrypted in place", path)


def _hex(key: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", key):
        raise ValueError("a door database key is 64 lower-case hex digits")
    return key


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _on_begin(connection: sa.Connection) -> None:
    # On the driver itself: this runs before every scan, and SQLAlchemy's execute costs ~0.1 ms.
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute("BEGIN IMMEDIATE")


def create_engine(path: Path, key: str | None) -> sa.Engine:
    """An engine on the database at ``path``, encrypted with ``key`` (64 hex digits).

    ``key=None`` opens a plain SQLite file: only the benchmarks do, to compare.
    """
    private_folder(path.parent)
    _private_file(path)
    connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
    if key is None:
        engine = sa.create_engine(sa.URL.create("sqlite", database=str(path)),
                                  connect_args=connect_args)
    else:
        if is_plain(path):
            encrypt_plain(path, key)
        # The dialect sends PRAGMA key first on every connection; QueuePool, as plain pysqlite
        # uses for a file (the dialect's default, SingletonThreadPool, would keep one per thread).
        url = sa.URL.create("sqlite+pysqlcipher", password=f"x'{_hex(key)}'",
                            database=str(path))
        engine = sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.QueuePool)
    sa.event.listen(engine, "connect", _on_connect)
    sa.event.listen(engine, "begin", _on_begin)
    return engine


def _current_revision(connection: sa.Connection) -> str | None:
    has_table = connection.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).first()
    if has_table is None:
        return None
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def upgrade(engine: sa.Engine) -> None:
    """Bring the database to the newest schema (a no-op when it is already there).

    A new, empty database is made at the newest schema from the models and stamped ``HEAD``
    (Alembic's import and its first run cost ~0.4 s of a door's first start or self-test; a
    test holds the two ways to the same schema); an older one runs the migrations."""
    with engine.begin() as connection:
        revision = _current_revision(connection)
        if revision == HEAD:
            return
        if revision is None and not _has_tables(connection):
            _create_at_head(connection)
            logger.info("door database created at %s", HEAD)
            return
        migrate(connection)
    logger.info("door database upgraded to %s", HEAD)


def migrate(connection: sa.Connection) -> None:
    """Run Alembic's migrations up to ``HEAD``."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _has_tables(connection: sa.Connection) -> bool:
    return connection.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table'").first() is not None


def _create_at_head(connection: sa.Connection) -> None:
    from scanner_app.storage.models import Base

    Base.metadata.create_all(connection)
    connection.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                               "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))")
    connection.exec_driver_sql("INSERT INTO alembic_version (version_num) VALUES (?)", (HEAD,))


def open_engine(data_dir: Path, slug: str, key: str | None) -> sa.Engine:
    """Open (creating, encrypting or upgrading as needed) one server's database.

    Raises ``UnreadableDatabase`` when the key does not open it or it is not a database.
    """
    for folder in (data_dir, data_dir / "servers"):
        private_folder(folder)
    path = server_dir(data_dir, slug) / DB_NAME
    engine: sa.Engine | None = None
    try:
        engine = create_engine(path, key)
        upgrade(engine)
    except (sa.exc.DatabaseError, sqlcipher3.DatabaseError) as exc:
        if engine is not None:
            engine.dispose()
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise UnreadableDatabase(path) from exc
        raise
    return engine


def remove_server_files(data_dir: Path, slug: str) -> None:
    """Delete a server's folder: the database, its WAL and the key file."""
    folder = server_dir(data_dir, slug)
    if folder.exists():
        shutil.rmtree(folder)
    if active_slug(data_dir) == slug:
        (data_dir / "active-server").unlink(missing_ok=True)
