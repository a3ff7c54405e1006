"""Stripe Connect tables: organizers' connected accounts, card payments, Stripe events seen."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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
