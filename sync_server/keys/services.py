"""Signing key versions per event: which one signs, rotate, retire, and the keyring to verify.

The newest version that is not retired signs new tickets ("active"); every unretired version
still verifies. An event gets version 1 the first time a key is asked for.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.keys import MAX_KEY_VERSION, Keyring, derive_event_key
from sync_server.db import utcnow
from sync_server.errors import ApiError, Code
from sync_server.keys.models import EventKeyVersion, RevokedToken

logger = logging.getLogger(__name__)


def _versions(session: Session, event_id: int) -> list[EventKeyVersion]:
    return list(
        session.scalars(
            sa.select(EventKeyVersion)
            .where(EventKeyVersion.event_id == event_id)
            .order_by(EventKeyVersion.version)
        )
    )


def active_key_version(session: Session, event_id: int) -> EventKeyVersion:
    """The version that signs new tickets for ``event_id`` (created as 1 if there is none)."""
    live = [v for v in _versions(session, event_id) if v.retired_at is None]
    if live:
        return live[-1]
    return rotate_key(session, event_id)


def active_key_number(session: Session, event_id: int) -> int:
    """The number of :func:`active_key_version`, in one small query (no row objects)."""
    number = session.scalar(
        sa.select(sa.func.max(EventKeyVersion.version))
        .where(EventKeyVersion.event_id == event_id, EventKeyVersion.retired_at.is_(None))
    )
    return int(number) if number is not None else active_key_version(session, event_id).version


def rotate_key(session: Session, event_id: int) -> EventKeyVersion:
    """Start a new key version for new tickets; older unretired versions keep verifying."""
    existing = _versions(session, event_id)
    version = (existing[-1].version + 1) if existing else 1
    if version > MAX_KEY_VERSION:
        raise ApiError(409, Code.INVALID_STATE, "this event has used every key version")
    row = EventKeyVersion(event_id=event_id, version=version)
    session.add(row)
    session.flush()
    logger.info("event %s: key version %s", event_id, version)
    return row


def retire_key(
    session: Session, event_id: int, version: int, now: datetime | None = None
) -> EventKeyVersion:
    """Stop accepting tokens signed with ``version``; rotate first if it is the active one."""
    rows = {v.version: v for v in _versions(session, event_id)}
    row = rows.get(version)
    if row is None:
        raise ApiError(404, Code.NOT_FOUND, "no such key version")
    if row.retired_at is None:
        if active_key_version(session, event_id).version == version:
            raise ApiError(409, Code.INVALID_STATE, "rotate before retiring the active version")
        row.retired_at = now or utcnow()
        session.flush()
    return row


@functools.lru_cache(maxsize=4096)
def event_key(master_secret: bytes, event_id: int, version: int) -> bytes:
    """The event's signing key (derived once per process: HKDF is pure, the inputs immutable)."""
    return derive_event_key(master_secret, event_id, version)


def keyring_for_event(session: Session, event_id: int, master_secret: bytes) -> Keyring:
    """The keys of every unretired version of ``event_id`` (what a door of the event holds)."""
    versions = [
        (event_id, v.version) for v in _versions(session, event_id) if v.retired_at is None
    ]
    return Keyring.derived(master_secret, versions)


def revoked_ticket_ids(session: Session, event_id: int) -> list[int]:
    return list(
        session.scalars(
            sa.select(RevokedToken.ticket_instance_id)
            .where(RevokedToken.event_id == event_id)
            .order_by(RevokedToken.ticket_instance_id)
        )
    )


def revoke_ticket(
    session: Session, *, event_id: int, ticket_instance_id: int, reason: str,
    user_id: int | None = None,
) -> RevokedToken:
    """Record that doors must refuse this ticket's token (idempotent)."""
    row = session.scalars(
        sa.select(RevokedToken).where(RevokedToken.ticket_instance_id == ticket_instance_id)
    ).one_or_none()
    if row is None:
        row = RevokedToken(event_id=event_id, ticket_instance_id=ticket_instance_id,
                           reason=reason, revoked_by_user_id=user_id)
        session.add(row)
        session.flush()
    return row
