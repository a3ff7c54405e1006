"""Orders (with their items as rows), split payments, discount codes, inventory holds and fees.

Models only: `orders.services` creates orders and `complete_order` completes them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sync_server.db import Base, UTCDateTime, enum_type, utcnow


class PaymentMethod(StrEnum):
    STRIPE = "STRIPE"
    CASH = "CASH"
    SPLIT = "SPLIT"
    FREE = "FREE"


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    REFUNDED = "REFUNDED"
    PARTIAL = "PARTIAL"


class DiscountType(StrEnum):
    PERCENTAGE = "PERCENTAGE"
    FIXED_AMOUNT = "FIXED_AMOUNT"


discount_code_ticket_types = sa.Table(
    "discount_code_ticket_types",
    Base.metadata,
    sa.Column(
        "discount_code_id", sa.ForeignKey("discount_codes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "ticket_type_id", sa.ForeignKey("ticket_types.id", ondelete="CASCADE"), primary_key=True
    ),
)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint(
            "subtotal_cents >= 0 AND fees_cents >= 0 AND discount_cents >= 0 AND total_cents >= 0",
            name="amounts_not_negative",
        ),
        # An event's orders by status and completion time, with the amounts (PostgreSQL
        # INCLUDE): the dashboard's sales of today and the analytics' first and last sale read
        # a range of it, not the table (migration 0014, which it replaced (event, status) by).
        sa.Index("ix_orders_event_id_payment_status_completed_at", "event_id", "payment_status",
                 "completed_at", postgresql_include=["total_cents"]),
        # The order desk: an event's orders newest first, a page at a time (migration 0012).
        sa.Index("ix_orders_event_id_created_at", "event_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    # NULL for a walk-up buyer at the box office who has no account.
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="RESTRICT"))
    # A guest's order (no account): the secret half of its private link (orders/guest_links.py);
    # replaced when the guest revokes the link. NULL for an order with an account.
    guest_token: Mapped[str | None] = mapped_column(sa.String(64))
    subtotal_cents: Mapped[int] = mapped_column(default=0)
    fees_cents: Mapped[int] = mapped_column(default=0)
    discount_cents: Mapped[int] = mapped_column(default=0)
    total_cents: Mapped[int] = mapped_column(default=0)
    # The sum of its items' quantities (a bundle counts once), set with the items when the
    # order is made: they never change after. The analytics' tickets sold per hour read it
    # instead of joining every order with its items (migration 0016).
    units: Mapped[int] = mapped_column(default=0, server_default="0")
    discount_code_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("discount_codes.id", ondelete="SET NULL")
    )
    payment_method: Mapped[PaymentMethod] = mapped_column(enum_type(PaymentMethod))
    payment_status: Mapped[PaymentStatus] = mapped_column(
        enum_type(PaymentStatus), default=PaymentStatus.PENDING, index=True
    )
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    stripe_charge_id: Mapped[str | None] = mapped_column(sa.String(100))
    split_payment_id: Mapped[str | None] = mapped_column(sa.String(100))
    sold_by_seller_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    sold_by_device_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="SET NULL")
    )
    cash_verification_code: Mapped[str | None] = mapped_column(sa.String(16))
    cash_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    buyer_name: Mapped[str] = mapped_column(sa.String(200))
    buyer_email: Mapped[str] = mapped_column(sa.String(254))
    buyer_phone: Mapped[str | None] = mapped_column(sa.String(40))
    # The client address that placed it (as the rate limits see it): the per-address hold cap.
    client_address: Mapped[str | None] = mapped_column(sa.String(64))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )
    split_payments: Mapped[list[OrderSplitPayment]] = relationship(
        cascade="all, delete-orphan", order_by="OrderSplitPayment.id"
    )


class OrderItem(Base):
    """One line of an order: a ticket type or a bundle, a quantity, and the price paid."""

    __tablename__ = "order_items"
    __table_args__ = (
        sa.CheckConstraint(
            "(ticket_type_id IS NULL) <> (bundle_id IS NULL)", name="ticket_type_xor_bundle"
        ),
        sa.CheckConstraint(
            "quantity >= 1 AND price_per_item_cents >= 0 AND subtotal_cents >= 0",
            name="amounts",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    ticket_type_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ticket_types.id", ondelete="RESTRICT"), index=True
    )
    bundle_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("bundles.id", ondelete="RESTRICT"), index=True
    )
    quantity: Mapped[int]
    price_per_item_cents: Mapped[int]
    subtotal_cents: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="items")


class OrderSplitPayment(Base):
    """One payer's share of a split-payment order."""

    __tablename__ = "order_split_payments"
    __table_args__ = (sa.CheckConstraint("amount_cents >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    payer_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    payer_email: Mapped[str] = mapped_column(sa.String(254))
    amount_cents: Mapped[int]
    paid: Mapped[bool] = mapped_column(default=False)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DiscountCode(Base):
    __tablename__ = "discount_codes"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "code"),
        sa.CheckConstraint("discount_value >= 0", name="value_not_negative"),
        sa.CheckConstraint("current_uses >= 0", name="uses_not_negative"),
        sa.CheckConstraint("valid_until > valid_from", name="valid_window"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    # Stored upper-case; looked up by (event, code).
    code: Mapped[str] = mapped_column(sa.String(40), index=True)
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    discount_type: Mapped[DiscountType] = mapped_column(enum_type(DiscountType))
    # PERCENTAGE: whole percent (0..100); FIXED_AMOUNT: cents.
    discount_value: Mapped[int]
    max_uses: Mapped[int | None]
    current_uses: Mapped[int] = mapped_column(default=0)
    max_uses_per_user: Mapped[int | None]
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- the purchase engine's holds and fees -------------------------------------------------------
# Tables of the purchase engine: inventory holds and per-event platform fees.
#
# A hold keeps ``quantity`` units of one ticket type or one bundle for a PENDING order until
# ``expires_at``. It counts against availability while ``released_at IS NULL AND expires_at > now``:
# an expired hold stops counting at once, with no job. ``quantity_reserved`` on the ticket type or
# bundle is the sum of the holds not yet released; the checkout releases expired ones lazily under
# the inventory lock, so the CHECK ``quantity_sold + quantity_reserved <= quantity_total`` guards
# the database whatever the code does (see docs/purchase.md).


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


class IdempotencyKey(Base):
    """A checkout's ``Idempotency-Key``: the order it placed, for 24 hours (docs/purchase.md)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(255))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    order_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
