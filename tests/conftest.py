"""Fixtures every test package reuses.

``database_url`` runs a test twice: on a fresh SQLite file and on the real PostgreSQL server.
PostgreSQL gets one fresh database per test session (per xdist worker), created here and dropped
at the end; between tests its ``public`` schema is emptied, so each test starts from nothing.
``database_at_head`` is the same database brought to the migrations' head, fast (a copied file,
or PostgreSQL's rows deleted: tests/support/databases.py); a test that takes it gets its
PostgreSQL database reset there instead of emptied first.
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

from tests.support.databases import empty_postgres, reset_to_head

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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database's SQLAlchemy URL: a SQLite file, then PostgreSQL. (Not emptied when the
    test also takes ``database_at_head``, which resets it to head before anything uses it.)"""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url = request.getfixturevalue("postgres_database")
    if "database_at_head" not in request.fixturenames:
        empty_postgres(url)
    yield url


@pytest.fixture
def database_at_head(database_url: str) -> str:
    """The ``database_url`` leg at the migrations' head, as ``upgrade(database_url)`` would leave
    an empty one, without running every migration again for each test."""
    reset_to_head(database_url)
    return database_url


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """xdist's worker id, or "main" when tests run in one process."""
    workerinput = getattr(request.config, "workerinput", None)
    return workerinput["workerid"] if workerinput else "main"


# Folders whose every test takes seconds, longest first: real server and door processes, then a
# real browser.
SLOW_FOLDERS = ("tests/e2e/", "tests/browser/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests run first: those marked ``slow`` (a minute or more), then SLOW_FOLDERS' (tens
    of seconds each), then the rest, each in collection order.

    ``make test`` runs ``--dist loadscope --no-loadscope-reorder``: each worker takes the next
    module, in this order, when it is free. Longest first, the minutes-long ones (the door-app
    package's build, the demo) start at once and the short ones fill the end, instead of a long
    one starting late while the other worker has run out of work.
    """
    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("slow") is not None:
            return 0
        for n, folder in enumerate(SLOW_FOLDERS, start=1):
            if item.nodeid.startswith(folder):
                item.add_marker(pytest.mark.slow)
                return n
        return len(SLOW_FOLDERS) + 1

    items.sort(key=rank)
