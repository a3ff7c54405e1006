"""Pooled server connections: a database restart between requests costs no request.

``make_engine`` pings a pooled connection only when it sat idle (no ``pool_pre_ping`` round trip
on every request of a busy server); here every backend of the test database is terminated, as a
PostgreSQL restart would, and the next request must still succeed on a fresh connection.
"""

from __future__ import annotations

import sqlite3

import httpx
import psycopg
import pytest
from flask import Flask

from sync_server import db
from tests.conftest import POSTGRES_ADMIN_URL
from tests.support.apps import close_app


def _terminate_backends(database_url: str) -> int:
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall()
    return len(rows)


# PostgreSQL only: SQLite has no server to restart and no server connection to ping.
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@postgresql_only
def test_a_restarted_database_costs_no_request(
    app: Flask, api: httpx.Client, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api.get("/categories").status_code == 200  # a connection is now pooled
    assert _terminate_backends(database_url) >= 1
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has been idle "long enough"
    response = api.get("/categories")
    assert response.status_code == 200, response.text


@postgresql_only
def test_only_an_idle_connection_is_pinged(
    app: Flask, api: httpx.Client, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    real = db._ping
    monkeypatch.setattr(db, "_ping", lambda conn: (pings.append(conn), real(conn)))
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 60.0)
    for _ in range(3):
        assert api.get("/categories").status_code == 200
    assert pings == []  # in steady use: no round trip spent on pings
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert api.get("/categories").status_code == 200
    assert len(pings) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_write_that_waits_out_the_sqlite_lock_is_a_503_to_retry_and_changes_nothing(
    app: Flask, api: httpx.Client, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)  # read as each new connection opens
    close_app(app)
    body = {"email": "busy@example.org", "password": "correct horse battery", "name": "Bo"}
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the one write lock
    try:
        busy = api.post("/accounts/sign-up", json=body)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert busy.status_code == 503, busy.text
    assert busy.json()["error"]["code"] == "unavailable"
    assert busy.headers["Retry-After"] == "1"
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as reader:
        assert reader.execute("SELECT count(*) FROM users").fetchone() == (0,)  # no half write
    again = api.post("/accounts/sign-up", json=body)  # sent again, it just works
    assert again.status_code == 202, again.text
