"""A fresh PostgreSQL database for one benchmark run: created, then dropped whatever happens."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa

# Where the benchmarks create their databases (a libpq URL with rights to CREATE DATABASE).
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_database(prefix: str, *, keep: bool = False) -> Iterator[str]:
    """A new database named ``<prefix>_<random>``; yields its SQLAlchemy URL (psycopg), its name
    being ``sa.engine.make_url(url).database``. ``keep``: left in place afterwards (to look into
    it with EXPLAIN); drop it by hand when done."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (sa.engine.make_url(ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
               .render_as_string(hide_password=False))
    finally:
        if keep:
            print(f"kept database {name!r}: DROP DATABASE \"{name}\" WITH (FORCE) when done")
        else:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
