"""Paired devices (door scanners, box offices), the events each serves, and pairing codes.

Device tokens (``sld_...``) and pairing codes are stored as SHA-256 hashes only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sync_server.db import Base, UTCDateTime, enum_type, utcnow
from sync_server.events.models import Event


class DeviceKind(StrEnum):
    DOOR = "DOOR"
    BOX_OFFICE = "BOX_OFFICE"


device_events = sa.Table(
    "device_events",
    Base.metadata,
    sa.Column("device_id", sa.ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "event_id", sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)

pairing_code_events = sa.Table(
    "pairing_code_events",
    Base.metadata,
    sa.Column(
        "pairing_code_id", sa.ForeignKey("pairing_codes.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "event_id", sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[DeviceKind] = mapped_column(enum_type(DeviceKind), default=DeviceKind.DOOR)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    paired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    events: Mapped[list[Event]] = relationship(secondary=device_events, order_by="Event.id")

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class PairingCode(Base):
    """A one-time code an organizer shows to a device; exchanged once for a device token."""

    __tablename__ = "pairing_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    device_name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[DeviceKind] = mapped_column(enum_type(DeviceKind), default=DeviceKind.DOOR)
    created_by_user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id", ondelete="SET NULL"))

    events: Mapped[list[Event]] = relationship(secondary=pairing_code_events, order_by="Event.id")
