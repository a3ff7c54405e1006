"""Fixed-window rate limits kept in the database, so several app servers share the counts.

Each attempt is one atomic ``INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 RETURNING``
for every subject it counts against (a checkout: its user and its address), committed on its
own even when the request that made it fails, so failed attempts count. PostgreSQL: in
autocommit mode (``db.standalone``: the statement is its own transaction, no BEGIN and no
COMMIT round trip); SQLite: a short transaction of its own.

On PostgreSQL the hit's commit does not wait for the WAL flush (``set_config('synchronous_commit',
'off', true)``, this statement's transaction only): a crash can forget the last few hundred
milliseconds of counts, which only lets a few attempts more through; the database stays
consistent, and no other transaction (an order, a sale) is affected.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sync_server.db import UTCDateTime, standalone, utcnow
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


def hit(
    engine: Engine, *, action: str, subject: str, limit: int, window_seconds: int,
    now: datetime | None = None,
) -> int:
    """Count one attempt of ``subject`` (see :func:`count`); returns its count in this window."""
    return count(engine, action=action, limits={subject: limit}, window_seconds=window_seconds,
                 now=now)[subject[:100]]


def count(
    engine: Engine, *, action: str, limits: Mapping[str, int], window_seconds: int,
    now: datetime | None = None,
) -> dict[str, int]:
    """Count one attempt against every subject of ``limits`` (subject -> limit) in ONE statement
    of its own short transaction, committed whatever the request does next (so failed attempts
    count); raise ``rate_limited`` (429) past a limit in the current window. Returns the counts
    in this window, this attempt included. Subjects are counted in the order given, so two
    transactions lock shared rows in the same order."""
    now = now or utcnow()
    start = window_start(now, window_seconds)
    params: dict[str, Any] = {"action": action, "start": start}
    params.update((f"s{i}", subject[:100]) for i, subject in enumerate(limits))
    # PostgreSQL: SET LOCAL synchronous_commit TO off in the same statement (one round trip).
    stmt = _upsert(len(limits), async_commit=engine.dialect.name == "postgresql")
    with engine.begin() as conn:
        counts = {str(row[0]): int(row[1]) for row in conn.execute(stmt, params)}
        if 1 in counts.values():  # the first hit of a new window: forget stale windows
            _forget_stale(conn, action, start, window_seconds)
    for subject, limit in limits.items():
        if counts.get(subject[:100], 0) > limit:
            raise _refusal(action, subject, counts[subject[:100]], start, window_seconds, now)
    return counts


def refuse_if_over(
    engine: Engine, *, action: str, limits: Mapping[str, int], window_seconds: int,
    now: datetime | None = None,
) -> None:
    """Raise ``rate_limited`` (429) if a subject of ``limits`` already reached its limit in the
    current window, counting nothing: for limits that count failures (:func:`count` after a
    failure), checked before the attempt."""
    now = now or utcnow()
    start = window_start(now, window_seconds)
    subjects = {subject[:100]: limit for subject, limit in limits.items()}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(RateLimit.subject, RateLimit.count).where(
            RateLimit.action == action, RateLimit.window_start == start,
            RateLimit.subject.in_(subjects)))
        for subject, seen in rows:
            if seen >= subjects[subject]:
                raise _refusal(action, subject, seen, start, window_seconds, now)


def _forget_stale(conn: Connection, action: str, start: datetime, window_seconds: int) -> None:
    stale = start - max(timedelta(seconds=window_seconds), KEEP_WINDOWS_FOR)
    conn.execute(sa.delete(RateLimit).where(RateLimit.action == action,
                                            RateLimit.window_start < stale))


def _refusal(action: str, subject: str, count: int, start: datetime, window_seconds: int,
             now: datetime) -> ApiError:
    retry = max(1, math.ceil((start + timedelta(seconds=window_seconds) - now).total_seconds()))
    logger.warning("rate limit: %s %s (%d in window)", action, subject, count)
    return ApiError(429, Code.RATE_LIMITED, f"too many attempts; try again in {retry} s",
                    headers={"Retry-After": str(retry)})


@functools.cache
def _upsert(subjects: int, async_commit: bool = False) -> sa.TextClause:
    """Count ``subjects`` rows of one action and window in one statement (PostgreSQL, SQLite),
    returning (subject, count). Text, built once per size: SQLAlchemy never caches the compiled
    form of a multi-row ``INSERT ... VALUES``, and compiling it cost more than running it.
    ``async_commit`` (PostgreSQL): ``set_config(..., is_local => true)`` is ``SET LOCAL``, so this
    statement's transaction alone does not wait for the WAL flush. Standalone: it runs in
    autocommit mode when no transaction is open (``db.standalone``)."""
    rows = ", ".join(f"(:action, :s{i}, :start, 1)" for i in range(subjects))
    extra = ", set_config('synchronous_commit', 'off', true)" if async_commit else ""
    return standalone(sa.text(
        # Only placeholders are joined in; every value is a bound parameter.
        "INSERT INTO rate_limits (action, subject, window_start, count) VALUES " + rows  # noqa: S608
        + " ON CONFLICT (action, subject, window_start)"
        " DO UPDATE SET count = rate_limits.count + 1 RETURNING subject, count" + extra
    ).bindparams(sa.bindparam("start", type_=UTCDateTime())))

