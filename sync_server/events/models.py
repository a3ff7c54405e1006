"""Events, event days, ticket types (the seed's "tickets"), bundles and categories.

Money is integer cents. Times are timezone-aware UTC; each event keeps its IANA time zone name,
used for display and for "which day is today" at the door.
"""

from __future__ import annotations

from datetime import date as LocalDate
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sync_server.db import Base, UTCDateTime, enum_type, utcnow


class EventType(StrEnum):
    SAVE_THE_DATE = "SAVE_THE_DATE"
    FREE_EVENT = "FREE_EVENT"
    TICKETED_EVENT = "TICKETED_EVENT"


class EventStatus(StrEnum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    CANCELLED = "CANCELLED"


event_categories = sa.Table(
    "event_categories",
    Base.metadata,
    sa.Column("event_id", sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "category_id", sa.ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True,
        index=True,
    ),
)

bundle_days = sa.Table(
    "bundle_days",
    Base.metadata,
    sa.Column("bundle_id", sa.ForeignKey("bundles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "event_day_id", sa.ForeignKey("event_days.id", ondelete="CASCADE"), primary_key=True,
        index=True,
    ),
)


class Category(Base):
    """An event category ("Set", "Workshop", "Cruise", ...)."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        sa.CheckConstraint("ends_at IS NULL OR ends_at >= starts_at", name="ends_after_start"),
        sa.CheckConstraint(
            "min_tickets_per_order >= 1 AND max_tickets_per_order >= min_tickets_per_order",
            name="order_limits",
        ),
        sa.Index("ix_events_status_starts_at", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    organizer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    organizer_name: Mapped[str] = mapped_column(sa.String(200), default="")
    event_type: Mapped[EventType] = mapped_column(enum_type(EventType))
    status: Mapped[EventStatus] = mapped_column(enum_type(EventStatus), default=EventStatus.DRAFT)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(sa.String(64))
    venue_name: Mapped[str] = mapped_column(sa.String(200), default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    city: Mapped[str] = mapped_column(sa.String(120), default="", index=True)
    state: Mapped[str] = mapped_column(sa.String(120), default="")
    zip_code: Mapped[str] = mapped_column(sa.String(20), default="")
    country: Mapped[str] = mapped_column(sa.String(2), default="US")
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    images: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    door_price_text: Mapped[str | None] = mapped_column(sa.String(200))
    allow_waitlist: Mapped[bool] = mapped_column(default=False)
    allow_transfers: Mapped[bool] = mapped_column(default=True)
    min_tickets_per_order: Mapped[int] = mapped_column(default=1)
    max_tickets_per_order: Mapped[int] = mapped_column(default=10)
    stripe_connect_account_id: Mapped[str | None] = mapped_column(sa.String(100))
    stripe_account_setup_complete: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Counts the edits (``services.update_event``): a page sends the version it showed, and an
    # edit made meanwhile by someone else is refused instead of silently overwritten.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    categories: Mapped[list[Category]] = relationship(secondary=event_categories)
    days: Mapped[list[EventDay]] = relationship(
        back_populates="event", order_by="EventDay.day_number", cascade="all, delete-orphan"
    )
    ticket_types: Mapped[list[TicketType]] = relationship(
        back_populates="event", order_by="TicketType.id", cascade="all, delete-orphan"
    )
    bundles: Mapped[list[Bundle]] = relationship(
        back_populates="event", order_by="Bundle.id", cascade="all, delete-orphan"
    )

    @property
    def published(self) -> bool:
        """Anyone may read a published event (``auth`` asks this, knowing no ``EventStatus``)."""
        return self.status is EventStatus.PUBLISHED

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.name!r} {self.status}>"


class EventDay(Base):
    """One day of a (possibly multi-day) event: its local date and its UTC start and end."""

    __tablename__ = "event_days"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "day_number"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("day_number >= 1", name="day_number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    day_number: Mapped[int]
    # The calendar date in the event's time zone: what the door means by "today".
    date: Mapped[LocalDate] = mapped_column(sa.Date, index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    venue_name_override: Mapped[str | None] = mapped_column(sa.String(200))
    address_override: Mapped[str | None] = mapped_column(sa.String(300))
    city_override: Mapped[str | None] = mapped_column(sa.String(120))
    state_override: Mapped[str | None] = mapped_column(sa.String(120))
    description_override: Mapped[str | None] = mapped_column(sa.Text)
    # Counts the edits, as ``Event.version`` does: a stale edit from a page is refused.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    event: Mapped[Event] = relationship(back_populates="days")


class TicketType(Base):
    """A ticket tier (the seed's ``tickets`` table): valid for one day, or the whole event."""

    __tablename__ = "ticket_types"
    __table_args__ = (
        sa.CheckConstraint("price_cents >= 0", name="price_not_negative"),
        sa.CheckConstraint(
            "quantity_sold >= 0 AND quantity_reserved >= 0 "
            "AND quantity_sold + quantity_reserved <= quantity_total",
            name="not_oversold",
        ),
        sa.CheckConstraint("min_per_order >= 1 AND max_per_order >= min_per_order", name="limits"),
        sa.CheckConstraint("sales_end IS NULL OR sales_start IS NULL OR sales_end > sales_start",
                           name="sales_window"),
        sa.Index("ix_ticket_types_sales_window", "sales_start", "sales_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    # NULL: valid for every day of the event.
    event_day_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("event_days.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    price_cents: Mapped[int]
    quantity_total: Mapped[int]
    quantity_sold: Mapped[int] = mapped_column(default=0)
    quantity_reserved: Mapped[int] = mapped_column(default=0)
    sales_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sales_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    min_per_order: Mapped[int] = mapped_column(default=1)
    max_per_order: Mapped[int] = mapped_column(default=10)
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Counts the organizer's edits only (a sale does not change it): a stale edit is refused.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    event: Mapped[Event] = relationship(back_populates="ticket_types")
    event_day: Mapped[EventDay | None] = relationship()

    @property
    def quantity_available(self) -> int:
        return self.quantity_total - self.quantity_sold - self.quantity_reserved


class Bundle(Base):
    """A pass for several days ("Weekend Bundle") with its own price and quantity."""

    __tablename__ = "bundles"
    __table_args__ = (
        sa.CheckConstraint("price_cents >= 0", name="price_not_negative"),
        sa.CheckConstraint(
            "quantity_sold >= 0 AND quantity_sold <= quantity_total", name="not_oversold"
        ),
        sa.CheckConstraint(  # purchase engine (issue 4): sold plus held never exceeds the total
            "quantity_reserved >= 0 AND quantity_sold + quantity_reserved <= quantity_total",
            name="not_overbooked",
        ),
        sa.CheckConstraint(
            "discount_percentage IS NULL "
            "OR (discount_percentage >= 0 AND discount_percentage <= 100)",
            name="discount_percentage_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    price_cents: Mapped[int]
    discount_percentage: Mapped[int | None]
    quantity_total: Mapped[int]
    quantity_sold: Mapped[int] = mapped_column(default=0)
    quantity_reserved: Mapped[int] = mapped_column(default=0, server_default="0")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Counts the organizer's edits only (a sale does not change it): a stale edit is refused.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    event: Mapped[Event] = relationship(back_populates="bundles")
    days: Mapped[list[EventDay]] = relationship(
        secondary=bundle_days, order_by="EventDay.day_number"
    )

    @property
    def quantity_available(self) -> int:
        return self.quantity_total - self.quantity_sold
