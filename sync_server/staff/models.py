"""Door staff (with an access expiry) and authorized sellers (with an allocation), per event."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sync_server.accounts.models import User
from sync_server.db import Base, UTCDateTime, enum_type, utcnow


class StaffRole(StrEnum):
    SCANNER = "SCANNER"
    ADMIN = "ADMIN"


class SellerStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    REVOKED = "REVOKED"


class EventStaff(Base):
    __tablename__ = "event_staff"
    __table_args__ = (sa.UniqueConstraint("event_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    staff_name: Mapped[str] = mapped_column(sa.String(200))
    staff_email: Mapped[str] = mapped_column(sa.String(254))
    role: Mapped[StaffRole] = mapped_column(enum_type(StaffRole), default=StaffRole.SCANNER)
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class AuthorizedSeller(Base):
    __tablename__ = "authorized_sellers"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "user_id"),
        sa.CheckConstraint("allocated_tickets >= 0 AND sold_tickets >= 0", name="counts"),
        sa.CheckConstraint(
            "commission_rate_bp IS NULL "
            "OR (commission_rate_bp >= 0 AND commission_rate_bp <= 10000)",
            name="commission_rate_range",
        ),
        sa.Index("ix_authorized_sellers_event_id_status", "event_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    seller_name: Mapped[str] = mapped_column(sa.String(200))
    seller_email: Mapped[str] = mapped_column(sa.String(254))
    allocated_tickets: Mapped[int] = mapped_column(default=0)
    sold_tickets: Mapped[int] = mapped_column(default=0)
    # The seed's 4-digit code that rotates daily (cash verification).
    current_code: Mapped[str] = mapped_column(sa.String(8), default="")
    code_generated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Commission in basis points (1250 = 12.5%): integers, never floats, for money rules.
    commission_rate_bp: Mapped[int | None]
    commission_earned_cents: Mapped[int] = mapped_column(default=0)
    status: Mapped[SellerStatus] = mapped_column(
        enum_type(SellerStatus), default=SellerStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
