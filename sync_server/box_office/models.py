"""Box-office rows: each seller's code secret, cash sales, and offline stock tickets.

A **sale** is one cash sale by one seller: ONLINE (a PENDING order held for
``box_office_hold_minutes``, completed with the seller's code through ``complete_order``) or
OFFLINE (stock tickets handed out while the device was offline, uploaded later, exactly once by
its ``client_sale_id``). A **stock ticket** is a real signed ticket pre-issued to a box-office
device from the seller's allocation (holder empty) until it is sold, returned or revoked.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sync_server.db import Base, UTCDateTime, enum_type, utcnow


class SaleKind(StrEnum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"


class SaleStatus(StrEnum):
    HELD = "HELD"  # waiting for the seller's code (until expires_at)
    COMPLETED = "COMPLETED"
    RELEASED = "RELEASED"  # the hold lapsed or was dropped: nothing sold
    REFUNDED = "REFUNDED"  # voided or refunded after completion: tickets revoked


class StockStatus(StrEnum):
    OUT = "OUT"  # on the device, unsold
    SOLD = "SOLD"
    RETURNED = "RETURNED"  # handed back unsold at the end of the night
    REVOKED = "REVOKED"  # taken back by the organizer (a lost or stolen device)


class SellerSecret(Base):
    """The per-seller secret the codes of the day are computed from (HMAC, no job)."""

    __tablename__ = "box_office_seller_secrets"

    seller_id: Mapped[int] = mapped_column(
        sa.ForeignKey("authorized_sellers.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(sa.String(64))  # 32 random bytes, hex
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BoxOfficeSale(Base):
    __tablename__ = "box_office_sales"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "client_sale_id"),
        sa.CheckConstraint("quantity >= 0 AND total_cents >= 0 AND commission_cents >= 0",
                           name="amounts"),
        sa.Index("ix_box_office_sales_seller_id_status", "seller_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    seller_id: Mapped[int] = mapped_column(
        sa.ForeignKey("authorized_sellers.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="SET NULL"), index=True)
    # ONLINE: the sale's own order; OFFLINE: the stock order its tickets came from.
    order_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    client_sale_id: Mapped[str] = mapped_column(sa.String(36))
    kind: Mapped[SaleKind] = mapped_column(enum_type(SaleKind))
    status: Mapped[SaleStatus] = mapped_column(enum_type(SaleStatus))
    quantity: Mapped[int]
    total_cents: Mapped[int]  # the cash taken (owed by the seller while COMPLETED)
    list_cents: Mapped[int] = mapped_column(default=0)  # list price of the tickets
    commission_cents: Mapped[int] = mapped_column(default=0)
    buyer_name: Mapped[str] = mapped_column(sa.String(200), default="")
    buyer_email: Mapped[str] = mapped_column(sa.String(254), default="")
    buyer_phone: Mapped[str | None] = mapped_column(sa.String(40))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sold_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refund_reason: Mapped[str | None] = mapped_column(sa.String(500))
    refunded_by_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockTicket(Base):
    __tablename__ = "box_office_stock"
    __table_args__ = (
        sa.Index("ix_box_office_stock_device_seller_status", "device_id", "seller_id", "status"),
        sa.Index("ix_box_office_stock_event_id_batch", "event_id", "batch_id"),
    )

    ticket_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ticket_instances.id", ondelete="CASCADE"), primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    seller_id: Mapped[int] = mapped_column(
        sa.ForeignKey("authorized_sellers.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id", ondelete="SET NULL"))
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    batch_id: Mapped[str] = mapped_column(sa.String(36))  # the client's download id
    ticket_type_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ticket_types.id", ondelete="CASCADE"))
    price_cents: Mapped[int]
    status: Mapped[StockStatus] = mapped_column(enum_type(StockStatus), default=StockStatus.OUT)
    sale_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("box_office_sales.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
