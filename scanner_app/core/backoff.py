"""Waiting after a failed sync round: ``Retry-After`` headers and exponential backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER = 3600.0  # a server asking for more than an hour is asking for an hour


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog): wait U(0, min(cap, b·2^n))."""

    def __init__(self, base: float = 1.0, cap: float = 300.0,
                 rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.failures = 0
        self._rng = rng or random.Random()

    def failure(self, retry_after: float | None = None) -> float:
        """Note a failure; return how long to wait before the next try."""
        self.failures += 1
        if retry_after is not None:
            return retry_after
        ceiling = min(self.cap, self.base * 2 ** min(self.failures - 1, 30))
        return self._rng.uniform(0, ceiling)

    def success(self) -> None:
        self.failures = 0
