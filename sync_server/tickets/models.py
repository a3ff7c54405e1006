"""Ticket instances: one row per admission, with everything a door needs offline.

The token text is ``shared.ticket_token.sign(TicketClaims(event_id, id, key_version), key)``; it
is set by :func:`sync_server.tickets.services.issue_ticket_instance` right after the row gets its
id (so the column is nullable, but never NULL once that function returns).

On transfer a NEW instance is issued to the new holder; the old one becomes TRANSFERRED, gets a
``revoked_tokens`` row (doors refuse its token) and points at the new one (``transferred_to_id``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sync_server.db import Base, UTCDateTime, enum_type, utcnow
from sync_server.events.models import Bundle, EventDay, TicketType


class TicketStatus(StrEnum):
    VALID = "VALID"
    SCANNED = "SCANNED"
    TRANSFERRED = "TRANSFERRED"
    CANCELLED = "CANCELLED"


ticket_instance_days = sa.Table(
    "ticket_instance_days",
    Base.metadata,
    sa.Column(
        "ticket_instance_id", sa.ForeignKey("ticket_instances.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "event_day_id", sa.ForeignKey("event_days.id", ondelete="CASCADE"), primary_key=True,
        index=True,
    ),
)


class TicketInstance(Base):
    __tablename__ = "ticket_instances"
    __table_args__ = (
        sa.CheckConstraint(
            "(ticket_type_id IS NULL) <> (bundle_id IS NULL)", name="ticket_type_xor_bundle"
        ),
        sa.CheckConstraint("key_version >= 1 AND key_version <= 255", name="key_version_range"),
        # An event's tickets, by status (counts, listings).
        sa.Index("ix_ticket_instances_event_id_status", "event_id", "status"),
        # Door-data deltas: "rows of this event with a change number above N" (issue 5).
        sa.Index("ix_ticket_instances_event_id_door_change", "event_id", "door_change"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="RESTRICT"))
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="RESTRICT"), index=True
    )
    ticket_type_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ticket_types.id", ondelete="RESTRICT"), index=True
    )
    bundle_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("bundles.id", ondelete="RESTRICT"), index=True
    )
    # Human-readable and unique, e.g. "T7K2-9QXD": read aloud at the door, typed in a search.
    ticket_number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    holder_name: Mapped[str] = mapped_column(sa.String(200))
    holder_email: Mapped[str] = mapped_column(sa.String(254), index=True)
    status: Mapped[TicketStatus] = mapped_column(
        enum_type(TicketStatus), default=TicketStatus.VALID
    )
    key_version: Mapped[int]
    token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    original_owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    current_owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scanned_by_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    scanned_by_device_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="SET NULL")
    )
    scan_location: Mapped[str | None] = mapped_column(sa.String(100))
    manual_checkin: Mapped[bool] = mapped_column(default=False)
    manual_checkin_reason: Mapped[str | None] = mapped_column(sa.String(500))
    transferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transferred_to_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ticket_instances.id", ondelete="SET NULL"), unique=True
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The event change number of this row's last change, set at commit by sync_server.door.changes.
    door_change: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")

    ticket_type: Mapped[TicketType | None] = relationship()
    bundle: Mapped[Bundle | None] = relationship()
    valid_days: Mapped[list[EventDay]] = relationship(
        secondary=ticket_instance_days, order_by="EventDay.day_number"
    )
    transferred_to: Mapped[TicketInstance | None] = relationship(
        remote_side="TicketInstance.id", foreign_keys=[transferred_to_id]
    )
