"""Database plumbing: the declarative base, the UTC datetime type, engines and request sessions.

One engine per app, one session per request (kept on ``flask.g`` and closed at teardown).
Services flush; the route commits once. SQLite gets WAL and foreign keys on every connection.
"""

from __future__ import annotations

import enum
import logging
import time
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, current_app, g
from psycopg.pq import TransactionStatus
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.base import Executable

logger = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text, and this type puts the UTC
    zone back on the way out. A naive datetime is refused on the way in: it is a bug.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: use a timezone-aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_type(enum_cls: type[enum.Enum], length: int = 20) -> sa.Enum:
    """A portable enum column: VARCHAR holding the member values (no native PostgreSQL enum)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


# How long a SQLite writer waits for the one write lock before the request answers 503 busy
# (errors.is_busy). Under a burst of webhook deliveries on a loaded two-core machine, 5 s was
# measured to run out (when a webhook still held it while asking Stripe; it no longer does).
BUSY_TIMEOUT_MS = 20_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


# A pooled connection idle for longer than this is pinged before use (see _ping_if_idle).
PING_AFTER_IDLE_SECONDS = 2.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    finally:
        cursor.close()
    dbapi_connection.rollback()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a pooled connection that sat idle (the database may have restarted meanwhile);
    a dead one is replaced before the request sees it (``DisconnectionError`` makes the pool
    retry with a fresh connection). A connection in steady use is not pinged: ``pool_pre_ping``
    would cost every request a round trip (docs/purchase.md). If the database goes away between
    two requests a second apart, the one request that finds out gets an error, and the pool
    drops every connection it holds."""
    idle_since = record.info.get("checked_in_at")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        _ping(dbapi_connection)
    except Exception as error:
        logger.info("pooled connection was dead (%s): replacing it", type(error).__name__)
        raise sa.exc.DisconnectionError() from error


# PostgreSQL: a statement with this execution option that finds no transaction open runs
# without opening one (psycopg's autocommit, for that statement only): it commits on its own,
# sparing the BEGIN and COMMIT round trips. For reads, and for writes whole in one statement (a
# free checkout's insert, docs/purchase.md). Any other statement opens a transaction as usual,
# and a standalone statement that comes after it runs inside that transaction.
STANDALONE = "standalone"
_Statement = TypeVar("_Statement", bound=Executable)


def standalone(statement: _Statement) -> _Statement:
    """``statement`` marked to run on its own when no transaction is open (see above)."""
    return statement.execution_options(**{STANDALONE: True})


def _standalone_when_idle(_conn: Any, cursor: Any, _statement: str, _parameters: Any,
                          context: Any, _executemany: bool) -> None:
    connection = cursor.connection
    alone = bool(context is not None and context.execution_options.get(STANDALONE, False)
                 and connection.info.transaction_status == TransactionStatus.IDLE)
    if connection.autocommit is not alone:
        connection.autocommit = alone


def transaction_open(session: Session) -> bool:
    """Whether the session's connection holds a transaction open on the server (False after a
    standalone statement ran on its own; always True on SQLite, which has no such statements)."""
    connection = session.connection().connection.dbapi_connection
    if session.get_bind().dialect.name != "postgresql" or connection is None:
        return True
    return bool(connection.info.transaction_status != TransactionStatus.IDLE)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite connections get WAL, foreign keys and a busy timeout;
    server connections idle for a while are pinged before use; PostgreSQL statements marked
    ``standalone`` run without a transaction of their own when none is open."""
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        sa.event.listen(engine, "checkin", _note_checkin)
        sa.event.listen(engine, "checkout", _ping_if_idle)
    if engine.dialect.driver == "psycopg":
        sa.event.listen(engine, "before_cursor_execute", _standalone_when_idle)
    return engine


def init_app(app: Flask, database_url: str) -> None:
    engine = make_engine(database_url)
    app.extensions["sync_db_engine"] = engine
    app.extensions["sync_db_sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    # Closed after each request even when the request ran inside an outer app context (tests,
    # CLI), so no session, and no half-done change, outlives its request.
    app.teardown_request(_close_session)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    """The current app's engine."""
    result: Engine = current_app.extensions["sync_db_engine"]
    return result


def db_session() -> Session:
    """The current request's session (created on first use, closed at teardown)."""
    session: Session | None = g.get("_sync_db_session")
    if session is None:
        factory: sessionmaker[Session] = current_app.extensions["sync_db_sessionmaker"]
        session = factory()
        g._sync_db_session = session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("_sync_db_session", None)
    if session is not None:
        session.close()


def epoch_bucket(session: Session, column: Any, seconds: int) -> sa.ColumnElement[Any]:
    """A whole number per ``seconds``-long slice of time (UTC, counted from 1970) at ``column``:
    group by it for per-minute or per-hour counts; ``bucket * seconds`` is the slice's start."""
    if session.get_bind().dialect.name == "sqlite":
        return sa.cast(sa.func.strftime("%s", column), sa.Integer) // seconds
    return sa.cast(sa.func.floor(sa.extract("epoch", column) / seconds), sa.BigInteger)


def bucket_start(bucket: int, seconds: int) -> datetime:
    return datetime.fromtimestamp(int(bucket) * seconds, UTC)


def time_slice(session: Session, column: Any, seconds: int) -> sa.ColumnElement[Any]:
    """The ``seconds``-long slice of time (UTC, counted from 1970) that ``column`` falls in, as a
    key to group by; :func:`slice_number` turns a key read back into :func:`epoch_bucket`'s
    whole number. On PostgreSQL 14+ it is ``date_bin`` (whole-microsecond arithmetic): since
    14, ``extract(epoch ...)`` is a ``numeric`` and dividing it on every row took about half
    of an analytics query over 100,000 orders (docs/benchmarks.md). Elsewhere: epoch_bucket."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql" and (dialect.server_version_info or (0,)) >= (14,):
        return sa.func.date_bin(
            sa.literal_column(f"interval '{int(seconds)} seconds'"), column,
            sa.literal_column("timestamptz '1970-01-01 00:00:00+00'"),
            type_=sa.DateTime(timezone=True))
    return epoch_bucket(session, column, seconds)


def slice_number(key: Any, seconds: int) -> int:
    """A :func:`time_slice` key as the slice's whole number (``epoch_bucket``'s)."""
    if isinstance(key, datetime):  # date_bin's slice start: a whole number of seconds
        return int(key.timestamp()) // seconds
    return int(key)
