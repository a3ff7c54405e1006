"""Bring a test's database to the migrations' head without running every migration again.

Most server tests want a database at head, and running the real Alembic migrations for each of
them was the suite's biggest fixture cost. Measured alternately in one sitting on the shared
2-core machine (load average 13-15, medians of 5; /tmp scripts, see docs/benchmarks.md):

- PostgreSQL: emptying the schema and migrating, 3.3 s a test (hundreds of DDL statements that
  create ~150 relations; replaying a ``pg_dump`` of the schema in one round trip still took
  2.4 s, a ``CREATE DATABASE … TEMPLATE`` copy 2.2 s). Deleting every row of a database already
  at head, in one transaction, and restarting its sequences: 0.19 s.
- SQLite: migrating a fresh file, 0.25-0.8 s of CPU; copying a migrated file, 1 ms.

So each test process runs the real migrations once per database kind and then:

- SQLite: copies that migrated file to the test's (fresh) path;
- PostgreSQL: if the database's schema (tables, columns, defaults, constraints, indexes,
  functions, types, triggers and Alembic's version row) is exactly the one the migrations made,
  deletes every row and restarts every sequence (``session_replication_role = replica`` lets
  the deletes skip foreign-key order: it needs a superuser, as the test server's ``postgres``
  is); otherwise (first use, a test changed the schema, or the migrations left rows of their
  own) it empties the schema and runs the real migrations.

The migrations still run from empty in the tests that test them (tests/server/
test_migrations_and_openapi.py, tests/server/ops/test_health.py), which take ``database_url``
and call ``upgrade`` themselves; tests/test_database_fixture.py checks this module.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import psycopg

from sync_server.migrate import upgrade

# Everything the migrations make in the public schema, as text, hashed: equal means "at head".
_SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(item, ',' ORDER BY item)) FROM (
  SELECT 'rel:' || c.relname || ':' || c.relkind::text || ':' || coalesce(a.attname, '') || ':'
         || coalesce(format_type(a.atttypid, a.atttypmod), '') || ':'
         || coalesce(a.attnotnull::text, '') || ':'
         || coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS item
  FROM pg_class c
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
  WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT 'con:' || conname || ':' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT 'idx:' || pg_get_indexdef(indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
  WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT 'proc:' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
  UNION ALL SELECT 'type:' || typname FROM pg_type WHERE typnamespace = 'public'::regnamespace
  UNION ALL SELECT 'trigger:' || tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
  UNION ALL SELECT 'schema:' || nspname FROM pg_namespace
  WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
) AS everything
"""
_HAS_VERSION_TABLE = "SELECT to_regclass('public.alembic_version') IS NOT NULL"
_VERSION = "SELECT coalesce(string_agg(version_num, ','), '') FROM public.alembic_version"

_postgres_head: str | None = None  # the fingerprint the real migrations left, once per process


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def empty_postgres(url: str) -> None:
    """Drop everything in the public schema of the database at ``url``."""
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def _fingerprint(conn: psycopg.Connection[tuple[object, ...]]) -> str:
    row = conn.execute(_SCHEMA_FINGERPRINT).fetchone()
    version = conn.execute(_VERSION).fetchone() if _has_versions(conn) else None
    return f"{row[0] if row else ''}/{version[0] if version else ''}"


def _has_versions(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = conn.execute(_HAS_VERSION_TABLE).fetchone()
    return bool(row and row[0])


def _delete_every_row(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    tables = [row[0] for row in conn.execute(
        "SELECT quote_ident(tablename) FROM pg_tables"
        " WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
    sequences = [row[0] for row in conn.execute(
        "SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = 'public'")]
    script = ["SET LOCAL session_replication_role = replica"]
    script += [f"DELETE FROM public.{table}" for table in tables]
    script += [f"ALTER SEQUENCE public.{sequence} RESTART" for sequence in sequences]
    conn.execute(";".join(script).encode())  # one round trip, no parameters


def reset_postgres_to_head(url: str) -> None:
    """Make the PostgreSQL database at ``url`` what ``upgrade`` leaves on an empty one."""
    global _postgres_head
    with psycopg.connect(_libpq(url)) as conn:
        if _postgres_head is not None and _fingerprint(conn) == _postgres_head:
            _delete_every_row(conn)
            conn.commit()
            return
    empty_postgres(url)
    upgrade(url)
    with psycopg.connect(_libpq(url)) as conn:
        # Deleting every row is only a reset if the migrations themselves left no rows (seed
        # data): otherwise every reset runs them.
        if not _any_rows(conn):
            _postgres_head = _fingerprint(conn)


def _any_rows(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    tables = [row[0] for row in conn.execute(
        "SELECT quote_ident(tablename) FROM pg_tables"
        " WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
    if not tables:
        return False
    query = " OR ".join(f"EXISTS (SELECT 1 FROM public.{table})" for table in tables)
    row = conn.execute(f"SELECT {query}".encode()).fetchone()
    return bool(row and row[0])


@functools.cache
def _sqlite_head(folder: Path) -> Path:
    path = folder / "head.db"
    upgrade(f"sqlite:///{path}")  # the real migrations, once per test process
    # The migration's engine is disposed, so the file holds everything: no write-ahead log left.
    assert not path.with_name("head.db-wal").exists()
    return path


def reset_sqlite_to_head(url: str) -> None:
    """Make the SQLite file at ``url`` a copy of one the real migrations brought to head."""
    path = Path(url.removeprefix("sqlite:///"))
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(_sqlite_head(_scratch()), path)


@functools.cache
def _scratch() -> Path:
    """One folder per test process for the migrated file, removed when the process ends."""
    folder = Path(tempfile.mkdtemp(prefix="stepperslife-head-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def reset_to_head(database_url: str) -> None:
    """Make the database at ``database_url`` a fresh one at the migrations' head, as
    ``upgrade(database_url)`` on an empty database leaves it; its previous contents are gone."""
    if database_url.startswith("sqlite:///"):
        reset_sqlite_to_head(database_url)
    else:
        assert database_url.startswith("postgresql"), database_url
        reset_postgres_to_head(database_url)
