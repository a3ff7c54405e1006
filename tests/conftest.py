"""Fixtures every test package reuses.

``database_url`` runs a test twice: on a fresh SQLite file and on the real PostgreSQL server.
PostgreSQL gets one fresh database per test session (per xdist worker), created here and dropped
at the end; between tests its ``public`` schema is emptied, so each test starts from nothing.
Point ``TEST_POSTGRES_URL`` at another server to move the PostgreSQL leg (default: the local
server, user postgres, trust auth).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests check properties, not speed (timing goals live in bench/): on a loaded machine
# Hypothesis' "input generation is slow" check and per-example deadline would fail them for
# the machine's sake.
settings.register_profile("house", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("house")

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _sqlalchemy_url(libpq_url: str, database: str) -> str:
    base = libpq_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def postgres_database(worker_id: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; its SQLAlchemy URL."""
    import psycopg

    name = f"stepperslife_test_{worker_id}_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _sqlalchemy_url(POSTGRES_ADMIN_URL, name)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_postgres(url: str) -> None:
    import psycopg

    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database's SQLAlchemy URL: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    yield url


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """xdist's worker id, or "main" when tests run in one process."""
    workerinput = getattr(request.config, "workerinput", None)
    return workerinput["workerid"] if workerinput else "main"
