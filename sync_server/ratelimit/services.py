"""Fixed-window rate limits kept in the database, so several app servers share the counts.

Each hit is one atomic ``INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 RETURNING count``
in its own short transaction (committed even when the request that made it fails, so failed
sign-ins count). A checkout counts with its own work instead (an ``Attempt``: one statement
for the user and the address, no second connection): on PostgreSQL as a CTE of the checkout's
first statement, which commits on its own; elsewhere in the checkout's transaction, counting
again on its own if the checkout fails.

On PostgreSQL the hit's commit does not wait for the WAL flush (``SET LOCAL synchronous_commit TO
off``, this transaction only): a crash can forget the last few hundred milliseconds of counts,
which only lets a few attempts more through; the database stays consistent, and no other
transaction (an order, a sale) is affected.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from sync_server.db import UTCDateTime, utcnow
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
    """Count one attempt in its own short transaction; raise ``rate_limited`` (429) past
    ``limit`` in the current window. Returns the count in this window including this attempt."""
    now = now or utcnow()
    start = window_start(now, window_seconds)
    # PostgreSQL: SET LOCAL synchronous_commit TO off in the same statement (one round trip).
    stmt = _upsert(1, async_commit=engine.dialect.name == "postgresql")
    with engine.begin() as conn:
        count = int(conn.execute(stmt, {"action": action, "start": start,
                                        "s0": subject[:100]}).one()[1])
        if count == 1:  # the first hit of a new window: forget this action's stale windows
            _forget_stale(conn, action, start, window_seconds)
    if count > limit:
        raise _refusal(action, subject, count, start, window_seconds, now)
    return count


def _forget_stale(conn: Connection | Session, action: str, start: datetime,
                  window_seconds: int) -> None:
    stale = start - max(timedelta(seconds=window_seconds), KEEP_WINDOWS_FOR)
    conn.execute(sa.delete(RateLimit).where(RateLimit.action == action,
                                            RateLimit.window_start < stale))


def _refusal(action: str, subject: str, count: int, start: datetime, window_seconds: int,
             now: datetime) -> ApiError:
    retry = max(1, math.ceil((start + timedelta(seconds=window_seconds) - now).total_seconds()))
    logger.warning("rate limit: %s %s (%d in window)", action, subject, count)
    return ApiError(429, Code.RATE_LIMITED, f"too many attempts; try again in {retry} s",
                    headers={"Retry-After": str(retry)})


@dataclass
class Attempt:
    """One attempt to count against the limits of several subjects (a checkout: its user and its
    address) in the caller's own transaction: :func:`count_in_transaction`, or, on PostgreSQL,
    inside the caller's first statement (:func:`counting_cte`) and then :meth:`settle`."""

    action: str
    limits: Mapping[str, int]  # subject -> limit; subjects are counted in this order
    window_seconds: int
    now: datetime = field(default_factory=utcnow)
    counted: bool = False
    durable: bool = False  # the count committed on its own (a failure needs no second count)

    @property
    def start(self) -> datetime:
        """The start of the window ``now`` falls in."""
        return window_start(self.now, self.window_seconds)

    def params(self) -> dict[str, Any]:
        """The bound parameters of ``_upsert(len(limits))`` and ``counting_cte``."""
        params: dict[str, Any] = {"action": self.action, "start": self.start}
        params.update((f"s{i}", subject[:100]) for i, subject in enumerate(self.limits))
        return params

    def settle(self, session: Session, counts: Mapping[str, int], *, refuse: bool = True) -> None:
        """After the count: forget this action's stale windows when a new one opened; raise
        ``rate_limited`` (429) past a limit (the caller's rollback then leaves the count at the
        limit)."""
        self.counted = True
        start = self.start
        if 1 in counts.values():
            _forget_stale(session, self.action, start, self.window_seconds)
        if refuse:
            for subject, limit in self.limits.items():
                if counts.get(subject[:100], 0) > limit:
                    raise _refusal(self.action, subject, counts[subject[:100]], start,
                                   self.window_seconds, self.now)


def count_in_transaction(session: Session, attempt: Attempt, *, refuse: bool = True) -> None:
    """Count ``attempt`` against every subject in ONE statement of the session's current
    transaction (no commit of its own; the row locks last until the caller's commit).

    For a request that writes anyway (a checkout): the count commits with its work. If the work
    fails and is rolled back, so is the count: the caller counts the failed attempt again and
    commits (``refuse=False``: never refuse that one). Raises ``rate_limited`` (429) past a
    limit. Subjects are counted in the order given, so two transactions lock shared rows in the
    same order.
    """
    counts = {str(subject): int(count) for subject, count
              in session.execute(_upsert(len(attempt.limits)), attempt.params())}
    attempt.settle(session, counts, refuse=refuse)


@functools.cache
def counting_cte(subjects: int, async_commit: bool = False) -> sa.CTE:
    """:func:`count_in_transaction`'s statement as the CTE ``counted`` (subject, count) of the
    caller's own statement, saving a round trip (PostgreSQL: a data-modifying CTE runs once,
    whatever reads it). Parameters: :meth:`Attempt.params`. ``async_commit``: as for
    :func:`hit`, only for a statement that commits on its own (``db.standalone``), never inside
    a transaction that writes anything else."""
    return (_upsert(subjects, async_commit=async_commit)
            .columns(subject=sa.String(), count=sa.Integer()).cte("counted"))


@functools.cache
def _upsert(subjects: int, async_commit: bool = False) -> sa.TextClause:
    """Count ``subjects`` rows of one action and window in one statement (PostgreSQL, SQLite),
    returning (subject, count). Text, built once per size: SQLAlchemy never caches the compiled
    form of a multi-row ``INSERT ... VALUES``, and compiling it cost more than running it.
    ``async_commit`` (PostgreSQL): ``set_config(..., is_local => true)`` is ``SET LOCAL``, so this
    transaction alone does not wait for the WAL flush."""
    rows = ", ".join(f"(:action, :s{i}, :start, 1)" for i in range(subjects))
    extra = ", set_config('synchronous_commit', 'off', true)" if async_commit else ""
    return sa.text(
        # Only placeholders are joined in; every value is a bound parameter.
        "INSERT INTO rate_limits (action, subject, window_start, count) VALUES " + rows  # noqa: S608
        + " ON CONFLICT (action, subject, window_start)"
        " DO UPDATE SET count = rate_limits.count + 1 RETURNING subject, count" + extra
    ).bindparams(sa.bindparam("start", type_=UTCDateTime()))

