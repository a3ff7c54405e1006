"""Fixed-window rate limits kept in the database, so several app servers share the counts.

Each hit is one atomic ``INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 RETURNING count``
in its own short transaction (committed even when the request that made it fails, so failed
sign-ins count). Given a request's ``Session`` instead of an engine, the hit commits that session's
(read-only, so far) transaction on its connection: no second pool connection, no second ping.

On PostgreSQL the hit's commit does not wait for the WAL flush (``SET LOCAL synchronous_commit TO
off``, this transaction only): a crash can forget the last few hundred milliseconds of counts,
which only lets a few attempts more through; the database stays consistent, and no other
transaction (an order, a sale) is affected.
"""

from __future__ import annotations

import hashlib
import logging
import math
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from sync_server.db import utcnow
from sync_server.errors import ApiError, Code
from sync_server.ratelimit.models import RateLimit

logger = logging.getLogger(__name__)

# Counters older than this are deleted as new windows open, so the table stays small.
KEEP_WINDOWS_FOR = timedelta(days=1)


def subject_for_email(email: str) -> str:
    """A subject that counts per address without storing the address."""
    return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]


def window_start(now: datetime, window_seconds: int) -> datetime:
    epoch = math.floor(now.timestamp() / window_seconds) * window_seconds
    return datetime.fromtimestamp(epoch, UTC)


# ``set_config(..., is_local => true)`` is ``SET LOCAL``: this transaction only.
_ASYNC_COMMIT = sa.select(
    sa.func.set_config("synchronous_commit", "off", sa.true())
).scalar_subquery()


def _count(conn: Connection | Session, stmt: sa.Executable, *, postgres: bool, action: str,
           start: datetime, window_seconds: int) -> int:
    count = int(conn.execute(stmt).one()[0])
    if count == 1:  # the first hit of a new window: forget this action's stale windows
        stale = start - max(timedelta(seconds=window_seconds), KEEP_WINDOWS_FOR)
        conn.execute(sa.delete(RateLimit).where(RateLimit.action == action,
                                                RateLimit.window_start < stale))
    return count


def hit(
    bind: Engine | Session, *, action: str, subject: str, limit: int, window_seconds: int,
    now: datetime | None = None, commit: bool = True,
) -> int:
    """Count one attempt; raise ``rate_limited`` (429) past ``limit`` in the current window.

    ``bind``: an engine (the hit takes a connection of its own), or the request's session, whose
    current transaction is COMMITTED with the hit (call it before the session has changed
    anything). ``commit=False`` (a session only) leaves the commit to the next hit, so two
    counts share one transaction; a hit that refuses always commits first. Returns the count in
    this window including this attempt.
    """
    now = now or utcnow()
    start = window_start(now, window_seconds)
    dialect = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = insert(RateLimit).values(action=action, subject=subject[:100], window_start=start,
                                      count=1)
    postgres = dialect == "postgresql"
    # PostgreSQL: SET LOCAL synchronous_commit TO off in the same statement (one round trip).
    extra = [_ASYNC_COMMIT] if postgres else []
    stmt = values.on_conflict_do_update(
        index_elements=["action", "subject", "window_start"],
        set_={"count": RateLimit.count + 1},
    ).returning(RateLimit.count, *extra)
    if isinstance(bind, Session):
        count = _count(bind, stmt, postgres=postgres, action=action, start=start,
                       window_seconds=window_seconds)
        if commit or count > limit:
            bind.commit()
    else:
        with bind.begin() as conn:
            count = _count(conn, stmt, postgres=postgres, action=action, start=start,
                           window_seconds=window_seconds)
    if count > limit:
        retry = max(1, math.ceil((start + timedelta(seconds=window_seconds) - now).total_seconds()))
        logger.warning("rate limit: %s %s (%d in window)", action, subject, count)
        raise ApiError(
            429, Code.RATE_LIMITED, f"too many attempts; try again in {retry} s",
            headers={"Retry-After": str(retry)},
        )
    return count


def prune(engine: Engine, *, before: datetime) -> int:
    """Delete counters of windows that started before ``before``; returns how many."""
    with engine.begin() as conn:
        result = conn.execute(sa.delete(RateLimit).where(RateLimit.window_start < before))
    return int(result.rowcount)
