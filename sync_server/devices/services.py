"""Pair devices with one-time codes, and list, rename and revoke them.

A pairing code is 10 characters from an unambiguous alphabet (~49 bits), valid for a few
minutes, usable once; only its SHA-256 is stored. It is claimed with one conditional UPDATE
(``used_at IS NULL``), so two devices racing for one code cannot both win.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from sync_server.accounts.models import User
from sync_server.audit.services import record
from sync_server.auth.tokens import DEVICE_TOKEN_PREFIX, new_token, token_hash
from sync_server.db import utcnow
from sync_server.devices.models import Device, DeviceKind, PairingCode, device_events
from sync_server.errors import ApiError, Code, not_found
from sync_server.events.models import Event
from sync_server.staff.services import event_roles

logger = logging.getLogger(__name__)

# Pairing codes are typed by people: no 0/O/1/I/L confusion.
PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PAIRING_CODE_LENGTH = 10
LAST_SEEN_GRANULARITY = timedelta(minutes=1)


def new_pairing_code() -> str:
    return "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_CODE_LENGTH))


def normalise_pairing_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def device_for_token(session: Session, digest: str, now: datetime) -> Device | None:
    """The device whose token hashes to ``digest`` (auth's seam); an unrevoked one is seen now."""
    device = session.scalars(sa.select(Device).where(Device.token_hash == digest)).one_or_none()
    if device is not None and device.revoked_at is None:
        _note_seen(session, device, now)
    return device


def _note_seen(session: Session, device: Device, now: datetime) -> None:
    """Keep ``last_seen_at`` to the minute, in its own short transaction (GETs never commit)."""
    if device.last_seen_at is not None and now - device.last_seen_at < LAST_SEEN_GRANULARITY:
        return
    with session.get_bind().engine.connect() as conn:
        conn.execute(sa.update(Device).where(Device.id == device.id).values(last_seen_at=now))
        conn.commit()
    set_committed_value(device, "last_seen_at", now)


def device_serves(session: Session, device: Device, event_id: int) -> bool:
    found = session.scalar(
        sa.select(sa.func.count()).select_from(device_events).where(
            device_events.c.device_id == device.id, device_events.c.event_id == event_id
        )
    )
    return bool(found)


def create_pairing_code(
    session: Session, *, by: User, events: Sequence[Event], device_name: str,
    kind: DeviceKind = DeviceKind.DOOR, minutes: int = 15, now: datetime | None = None,
) -> tuple[str, PairingCode]:
    """A one-time code (text shown once, and its row) for a device serving ``events``."""
    for event in events:
        if not event_roles(session, by, event).organizer:
            raise ApiError(403, Code.FORBIDDEN, f"you do not organize event {event.id}",
                           {"also_event_ids": [f"you do not organize event {event.id}"]})
    now = now or utcnow()
    code = new_pairing_code()
    row = PairingCode(code_hash=token_hash(code), device_name=device_name, kind=kind,
                      created_by_user_id=by.id, created_at=now,
                      expires_at=now + timedelta(minutes=minutes))
    row.events = list({e.id: e for e in events}.values())
    session.add(row)
    session.flush()
    record(session, action="pairing_code.create", entity_type="pairing_code", entity_id=row.id,
           user=by, event_id=events[0].id if events else None,
           details={"event_ids": [e.id for e in row.events], "name": device_name})
    return code, row


def pair_device(session: Session, *, code: str, now: datetime | None = None) -> tuple[str, Device]:
    """Exchange a pairing code for a new device and its token (text shown once)."""
    now = now or utcnow()
    digest = token_hash(normalise_pairing_code(code))
    row = session.scalars(
        sa.select(PairingCode).where(PairingCode.code_hash == digest)
    ).one_or_none()
    invalid = ApiError(400, Code.PAIRING_CODE_INVALID,
                       "this pairing code is unknown, used or expired; ask for a new one",
                       {"code": ["unknown, used or expired"]})
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise invalid
    claimed = session.execute(
        sa.update(PairingCode)
        .where(PairingCode.id == row.id, PairingCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise invalid
    token = new_token(DEVICE_TOKEN_PREFIX)
    device = Device(name=row.device_name, kind=row.kind, token_hash=token_hash(token),
                    created_by_user_id=row.created_by_user_id, paired_at=now, last_seen_at=now)
    device.events = list(row.events)
    session.add(device)
    session.flush()
    row.device_id = device.id
    row.used_at = now
    session.flush()
    record(session, action="device.pair", entity_type="device", entity_id=device.id,
           device=device, details={"event_ids": [e.id for e in device.events]})
    return token, device


def devices_for_event(session: Session, event: Event) -> list[Device]:
    return list(session.scalars(
        sa.select(Device).join(device_events, device_events.c.device_id == Device.id)
        .where(device_events.c.event_id == event.id).order_by(Device.id)
    ))


def get_device_for_event(session: Session, event: Event, device_id: int) -> Device:
    device = session.get(Device, device_id)
    if device is None or event.id not in {e.id for e in device.events}:
        raise not_found("device")
    return device


def rename_device(session: Session, device: Device, *, name: str, by: User) -> Device:
    old = device.name
    device.name = name
    session.flush()
    record(session, action="device.rename", entity_type="device", entity_id=device.id, user=by,
           details={"from": old, "to": name})
    return device


def revoke_device(session: Session, device: Device, *, by: User) -> Device:
    """Revoke a device everywhere; its next request gets 401 ``device_revoked``."""
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        device.revoked_by_user_id = by.id
        session.flush()
        record(session, action="device.revoke", entity_type="device", entity_id=device.id,
               user=by)
    return device
