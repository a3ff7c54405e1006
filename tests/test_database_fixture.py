"""The shared database fixture itself: both legs are real, writable and empty at the start."""

from __future__ import annotations

import sqlalchemy as sa


def test_each_leg_is_a_real_empty_database(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            assert sa.inspect(conn).get_table_names() == []
            conn.execute(sa.text("CREATE TABLE probe (id INTEGER PRIMARY KEY, note TEXT)"))
            conn.execute(sa.text("INSERT INTO probe (id, note) VALUES (1, 'written')"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT note FROM probe")).scalar_one() == "written"
            expected = "postgresql" if database_url.startswith("postgresql") else "sqlite"
            assert conn.dialect.name == expected
    finally:
        engine.dispose()


def test_the_previous_tests_table_is_gone(database_url: str) -> None:
    # Runs after the test above on the same PostgreSQL database: the schema must be empty again.
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert "probe" not in sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
