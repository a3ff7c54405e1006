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



def _head_state(database_url: str) -> tuple[set[str], tuple[str, ...], int]:
    """Tables, Alembic's version and the number of users, as the test finds them."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            versions = tuple(conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                             .scalars())
            users = conn.execute(sa.text("SELECT count(*) FROM users")).scalar_one()
        return tables, versions, users
    finally:
        engine.dispose()


def _run(database_url: str, statement: sa.Executable) -> object:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(statement)
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def _add_user(database_url: str, email: str) -> object:
    from sync_server.accounts.models import User

    return _run(database_url, sa.insert(User).values(email=email, name="Probe", password_hash="x")
                .returning(User.id))


def test_database_at_head_is_what_the_migrations_make_and_resets_to_it(
        database_at_head: str) -> None:
    from sync_server.migrate import current_heads
    from sync_server.models import Base
    from tests.support.databases import reset_to_head

    head = (set(Base.metadata.tables) | {"alembic_version"}, current_heads(), 0)
    assert _head_state(database_at_head) == head
    assert [_add_user(database_at_head, f"{n}@example.test") for n in "ab"] == [1, 2]

    reset_to_head(database_at_head)  # rows gone, ids start again
    assert _head_state(database_at_head) == head
    assert _add_user(database_at_head, "c@example.test") == 1

    _run(database_at_head, sa.text("DROP TABLE mail_outbox"))
    _run(database_at_head, sa.text("UPDATE alembic_version SET version_num = '0001'"))
    reset_to_head(database_at_head)  # a changed schema is migrated again
    assert _head_state(database_at_head) == head


def test_the_previous_tests_rows_are_gone(database_at_head: str) -> None:
    # Runs after the test above: on PostgreSQL the same database, reset by deleting its rows.
    assert _head_state(database_at_head)[2] == 0
    assert _add_user(database_at_head, "a@example.test") == 1
