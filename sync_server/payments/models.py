"""Stripe Connect tables: organizers' connected accounts, card payments, Stripe events seen,
split payments and their shares, event refund jobs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sync_server.db import Base, UTCDateTime, enum_type, utcnow


class ConnectedAccount(Base):
    """An organizer's Stripe Express account. ``link_token`` (random) names the account in the
    onboarding return and refresh URLs, so nobody can ask for another organizer's link."""

    __tablename__ = "payment_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         unique=True)
    stripe_account_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    link_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    charges_enabled: Mapped[bool] = mapped_column(default=False)
    details_submitted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CardStatus(StrEnum):
    STARTING = "STARTING"  # the row exists, Stripe has not answered with a session yet
    OPEN = "OPEN"  # a Checkout Session the buyer can pay
    PAID = "PAID"  # paid and the order completed
    REFUNDING = "REFUNDING"  # its event was cancelled: a refund job gives it back
    EXPIRED = "EXPIRED"  # the session expired unpaid: the order failed, its hold released
    REFUNDED = "REFUNDED"  # all of it given back (also: paid after the tickets were gone)
    DISPUTED = "DISPUTED"  # the buyer's bank opened a dispute


class CardPayment(Base):
    """One order's card payment: its Checkout Session and what Stripe was asked for."""

    __tablename__ = "card_payments"
    __table_args__ = (
        sa.CheckConstraint("amount_cents > 0 AND fee_cents >= 0 AND refunded_cents >= 0",
                           name="amounts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"),
                                          unique=True)
    destination: Mapped[str] = mapped_column(sa.String(100))  # the organizer's acct_…
    checkout_session_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    payment_intent_id: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    charge_id: Mapped[str | None] = mapped_column(sa.String(100))
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount_cents: Mapped[int]
    fee_cents: Mapped[int]
    refunded_cents: Mapped[int] = mapped_column(default=0)
    status: Mapped[CardStatus] = mapped_column(enum_type(CardStatus), default=CardStatus.STARTING)
    # The session's expires_at, kept so a retried creation sends the very same parameters.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StripeEvent(Base):
    """A Stripe event processed (its id is unique: a redelivery finds it and does nothing)."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SplitStatus(StrEnum):
    OPEN = "OPEN"  # the payers are paying their shares
    COMPLETED = "COMPLETED"  # every share paid: the order completed
    TIMED_OUT = "TIMED_OUT"  # not all paid in time: order failed, paid shares refunded
    FAILED = "FAILED"  # all paid but the order could not complete (tickets gone): refunded


class ShareStatus(StrEnum):
    UNPAID = "UNPAID"  # no payment page open (none yet, or its page expired)
    OPEN = "OPEN"  # a Checkout Session the payer can pay
    PAID = "PAID"
    REFUNDED = "REFUNDED"  # paid, then given back (the split timed out or failed)
    CANCELLED = "CANCELLED"  # never paid, and the split is over


class SplitPayment(Base):
    """An order paid by several named payers, each their own share, before ``deadline``."""

    __tablename__ = "payment_splits"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"),
                                          unique=True)
    destination: Mapped[str] = mapped_column(sa.String(100))  # the organizer's acct_…
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[SplitStatus] = mapped_column(enum_type(SplitStatus), default=SplitStatus.OPEN,
                                                index=True)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    shares: Mapped[list[SplitShare]] = relationship(
        back_populates="split", cascade="all, delete-orphan", order_by="SplitShare.id")


class SplitShare(Base):
    """One payer's share: an amount, an unguessable link token, its own Checkout Session."""

    __tablename__ = "payment_split_shares"
    __table_args__ = (
        sa.CheckConstraint("amount_cents > 0 AND fee_cents >= 0 AND refunded_cents >= 0",
                           name="amounts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    split_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_splits.id", ondelete="CASCADE"),
                                          index=True)
    payer_name: Mapped[str] = mapped_column(sa.String(200))
    payer_email: Mapped[str] = mapped_column(sa.String(254))
    amount_cents: Mapped[int]
    fee_cents: Mapped[int]  # its part of the order's platform fee
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[ShareStatus] = mapped_column(enum_type(ShareStatus),
                                                default=ShareStatus.UNPAID)
    attempt: Mapped[int] = mapped_column(default=0)  # payment pages opened (idempotency keys)
    checkout_session_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    session_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payment_intent_id: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    charge_id: Mapped[str | None] = mapped_column(sa.String(100))
    refunded_cents: Mapped[int] = mapped_column(default=0)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    split: Mapped[SplitPayment] = relationship(back_populates="shares")


class JobStatus(StrEnum):
    RUNNING = "RUNNING"  # orders left to refund (or waiting to retry after an error)
    DONE = "DONE"  # every order refunded or failed for good


class ItemStatus(StrEnum):
    PENDING = "PENDING"
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"  # Stripe refused for good (a disputed payment, ...): see ``error``


class RefundJob(Base):
    """Refunding every paid card order of a cancelled event, one order per transaction."""

    __tablename__ = "payment_refund_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"),
                                          unique=True)
    status: Mapped[JobStatus] = mapped_column(enum_type(JobStatus), default=JobStatus.RUNNING,
                                              index=True)
    total: Mapped[int] = mapped_column(default=0)
    refunded: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefundJobItem(Base):
    """One order of a refund job (each order is refunded by a job at most once)."""

    __tablename__ = "payment_refund_job_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(
        sa.ForeignKey("payment_refund_jobs.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"),
                                          unique=True)
    amount_cents: Mapped[int]
    status: Mapped[ItemStatus] = mapped_column(enum_type(ItemStatus),
                                               default=ItemStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.String(500))
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
