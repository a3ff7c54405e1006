"""The waiting list for sold-out ticket types (model only; the queue engine comes later).

Positions are unique per ticket type (a database guard against the seed's racy positions).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sync_server.db import Base, UTCDateTime, enum_type, utcnow


class WaitingStatus(StrEnum):
    WAITING = "WAITING"
    OFFERED = "OFFERED"
    EXPIRED = "EXPIRED"
    PURCHASED = "PURCHASED"
    CANCELLED = "CANCELLED"


class WaitingListEntry(Base):
    __tablename__ = "waiting_list"
    __table_args__ = (
        sa.UniqueConstraint("ticket_type_id", "position"),
        sa.Index("ix_waiting_list_event_id_ticket_type_id_position",
                 "event_id", "ticket_type_id", "position"),
        sa.Index("ix_waiting_list_status_offer_expires_at", "status", "offer_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    ticket_type_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ticket_types.id", ondelete="CASCADE")
    )
    position: Mapped[int]
    quantity: Mapped[int] = mapped_column(default=1)
    status: Mapped[WaitingStatus] = mapped_column(
        enum_type(WaitingStatus), default=WaitingStatus.WAITING
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offer_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
