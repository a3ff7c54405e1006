"""Tables of the purchase engine: inventory holds and per-event platform fees.

A hold keeps ``quantity`` units of one ticket type or one bundle for a PENDING order until
``expires_at``. It counts against availability while ``released_at IS NULL AND expires_at > now``:
an expired hold stops counting at once, with no job. ``quantity_reserved`` on the ticket type or
bundle is the sum of the holds not yet released; the checkout releases expired ones lazily under
the inventory lock, so the CHECK ``quantity_sold + quantity_reserved <= quantity_total`` guards
the database whatever the code does (see docs/purchase.md).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sync_server.db import Base, UTCDateTime, enum_type, utcnow


class ReleaseReason(StrEnum):
    CONVERTED = "CONVERTED"  # the order completed: the units are now sold
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class InventoryHold(Base):
    __tablename__ = "inventory_holds"
    __table_args__ = (
        sa.CheckConstraint(
            "(ticket_type_id IS NULL) <> (bundle_id IS NULL)", name="ticket_type_xor_bundle"
        ),
        sa.CheckConstraint("quantity >= 1", name="quantity_positive"),
        sa.Index("ix_inventory_holds_ticket_type_live", "ticket_type_id", "released_at",
                 "expires_at"),
        sa.Index("ix_inventory_holds_bundle_live", "bundle_id", "released_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    ticket_type_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ticket_types.id", ondelete="CASCADE")
    )
    bundle_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bundles.id", ondelete="CASCADE"))
    quantity: Mapped[int]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_reason: Mapped[ReleaseReason | None] = mapped_column(enum_type(ReleaseReason))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventFees(Base):
    """The platform fee of one event (absent: the configured defaults)."""

    __tablename__ = "event_fees"
    __table_args__ = (
        sa.CheckConstraint(
            "percent_bp >= 0 AND percent_bp <= 10000 AND fixed_cents >= 0", name="fee_range"
        ),
    )

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    percent_bp: Mapped[int]  # basis points of the discounted subtotal (250 = 2.5 %)
    fixed_cents: Mapped[int]  # per paid ticket
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
