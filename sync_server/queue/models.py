"""The waiting list of a sold-out ticket type: one row per person per join (docs/queue.md).

A person's place is computed from the order of joining (the row id, a sequence), never stored:
``position`` = 1 + the WAITING rows of the same ticket type with a smaller id. A database guard
(a partial unique index) keeps one live row (WAITING or OFFERED) per person and ticket type.

An OFFERED row names its offer's order (``order_id``): a PENDING order of the person whose hold
reserves the ticket until ``offer_expires_at`` (the purchase engine's own hold, so nobody else can
buy it; docs/purchase.md).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sync_server.db import Base, UTCDateTime, enum_type, utcnow


class WaitingStatus(StrEnum):
    WAITING = "WAITING"  # in line
    OFFERED = "OFFERED"  # a ticket is reserved for them until offer_expires_at
    EXPIRED = "EXPIRED"  # the offer lapsed unused
    PURCHASED = "PURCHASED"  # they bought within the offer
    CANCELLED = "CANCELLED"  # they left the line or declined the offer


LIVE_STATUSES = (WaitingStatus.WAITING, WaitingStatus.OFFERED)


class WaitingListEntry(Base):
    __tablename__ = "waiting_list"
    __table_args__ = (
        sa.Index("ix_waiting_list_ticket_type_id_status_id", "ticket_type_id", "status", "id"),
        sa.Index("ix_waiting_list_status_offer_expires_at", "status", "offer_expires_at"),
        # One live row per person and ticket type: the database refuses a second join.
        sa.Index("uq_waiting_list_live_user", "ticket_type_id", "user_id", unique=True,
                 sqlite_where=sa.text("status IN ('WAITING', 'OFFERED')"),
                 postgresql_where=sa.text("status IN ('WAITING', 'OFFERED')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    ticket_type_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ticket_types.id", ondelete="CASCADE")
    )
    quantity: Mapped[int] = mapped_column(default=1)
    status: Mapped[WaitingStatus] = mapped_column(
        enum_type(WaitingStatus), default=WaitingStatus.WAITING
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offer_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The offer's PENDING order (its hold reserves the ticket); kept after the offer ends.
    order_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
