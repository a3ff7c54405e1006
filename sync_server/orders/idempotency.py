"""Checkout's ``Idempotency-Key``: a retried POST /checkout returns the order the first one placed.

The key row is inserted **first**, in the checkout's own transaction, and points at the order
once it is placed; so it commits with the order or not at all (a refused checkout — sold out,
bad request — keeps no key: the retry runs afresh). A concurrent request with the same key
waits on the unique ``(user_id, key)`` index until the first commits (PostgreSQL; SQLite has
one writer), then fails to insert, rolls back its savepoint and replays the first order. The
same key with a different body is refused (422 ``idempotency_key_reused``). Keys are kept
24 hours; an expired key is deleted when it is used again, and by the tidy-up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync_server.errors import ApiError, Code, validation_error
from sync_server.orders.models import IdempotencyKey, Order

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces, as Stripe's keys are


def parse_key(value: str | None) -> str | None:
    """The header's key, or None without one (422 for an empty, too long or odd one)."""
    if value is None:
        return None
    if not _KEY.fullmatch(value):
        raise validation_error(
            {HEADER: ["1 to 255 printable ASCII characters without spaces"]},
            "the Idempotency-Key header is not a valid key")
    return value


def request_hash(body: dict[str, Any]) -> str:
    """A fingerprint of the request as parsed (key order and spacing do not matter)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(session: Session, user_id: int, key: str, fingerprint: str,
            now: datetime) -> Order | None:
    row = session.scalar(sa.select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
        IdempotencyKey.expires_at > now))
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise ApiError(422, Code.IDEMPOTENCY_KEY_REUSED,
                       "this Idempotency-Key was used for a different checkout; "
                       "use a new key for a new order")
    order = session.get(Order, row.order_id) if row.order_id is not None else None
    if order is None:  # its order was deleted: nothing to return
        raise ApiError(409, Code.CONFLICT, "this Idempotency-Key's order no longer exists")
    logger.info("user %s: checkout replayed for key %r (order %s)", user_id, key,
                order.order_number)
    return order


def claim(session: Session, user_id: int, key: str, fingerprint: str,
          now: datetime) -> Order | IdempotencyKey:
    """The first order placed with ``key`` (a replay), or the new key row to point at the order
    this checkout places (its insert holds the key until the commit)."""
    found = _replay(session, user_id, key, fingerprint, now)
    if found is not None:
        return found
    session.execute(sa.delete(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
        IdempotencyKey.expires_at <= now))
    row = IdempotencyKey(user_id=user_id, key=key, request_hash=fingerprint, created_at=now,
                         expires_at=now + KEEP)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()  # waits here for a concurrent request with the same key
    except IntegrityError:
        found = _replay(session, user_id, key, fingerprint, now)
        if found is None:
            raise ApiError(409, Code.CONFLICT,
                           "a checkout with this Idempotency-Key is in progress; retry") from None
        return found
    return row


def tidy(session: Session, now: datetime) -> int:
    """Delete expired keys; the number deleted."""
    result = session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
