"""Tables of the door database (SQLAlchemy 2.0 typed models).

Server data (events, keys, tickets, revocations, conflicts) is a cache: the server is its truth.
The scan journal is the door's own truth: rows are only ever added, and a scan's upload state
moves forward once the server acknowledged it. The outbound queue holds the journal rows not yet
acknowledged; a row leaves it in the same transaction that records the server's answer.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite keeps them naive)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware UTC times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: datetime | None, dialect: sa.Dialect
    ) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Identity(Base):
    """Who this door is on its server (one row, id 1). The token is encrypted."""

    __tablename__ = "identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    server_url: Mapped[str] = mapped_column(sa.String(500))
    device_id: Mapped[int | None]
    device_name: Mapped[str] = mapped_column(sa.String(100), default="")
    token_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    paired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


class Event(Base):
    """An event this door serves, its rules, and how far its data has been downloaded."""

    __tablename__ = "events"

    event_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(200))
    time_zone: Mapped[str] = mapped_column(sa.String(64))
    days_json: Mapped[str] = mapped_column(sa.Text, default="[]")
    reentry_allowed: Mapped[bool] = mapped_column(default=False)
    uncached_policy: Mapped[str] = mapped_column(sa.String(40))
    entry_opens_minutes_before: Mapped[int] = mapped_column(default=120)
    cancelled: Mapped[bool] = mapped_column(default=False)
    cursor: Mapped[str | None] = mapped_column(sa.Text)  # server-issued; None: snapshot next
    snapshot_complete: Mapped[bool] = mapped_column(default=False)
    revision: Mapped[int] = mapped_column(default=0)  # the server's, as of the last heartbeat
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EventKey(Base):
    __tablename__ = "event_keys"

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.event_id", ondelete="CASCADE"), primary_key=True
    )
    key_version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    key_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary)


class Ticket(Base):
    __tablename__ = "tickets"

    ticket_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(index=True)
    ticket_number: Mapped[str] = mapped_column(sa.String(64))
    order_number: Mapped[str] = mapped_column(sa.String(64))
    holder_name: Mapped[str] = mapped_column(sa.String(200))
    holder_email: Mapped[str] = mapped_column(sa.String(320))
    ticket_type: Mapped[str] = mapped_column(sa.String(200))
    valid_dates: Mapped[str | None] = mapped_column(sa.Text)  # "2026-05-01,2026-05-02"; None: all
    status: Mapped[str] = mapped_column(sa.String(20))
    revision: Mapped[int]
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scanned_door: Mapped[str | None] = mapped_column(sa.String(100))
    last_entry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_entry_door: Mapped[str | None] = mapped_column(sa.String(100))


class TicketTerm(Base):
    """Normalised search terms (NFKD, no accents, casefolded) for prefix lookup by index range.

    No index on ticket_id: a ticket's terms are deleted by recomputing them from its row
    (cache._delete_terms). Changing ``search.ticket_terms`` therefore needs a migration that
    rebuilds this table.
    """

    __tablename__ = "ticket_terms"
    __table_args__ = ({"sqlite_with_rowid": False},)  # the key is the whole row: one B-tree

    term: Mapped[str] = mapped_column(sa.String(320), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


class Revocation(Base):
    __tablename__ = "revocations"

    ticket_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(sa.String(20))
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Scan(Base):
    """The scan journal: every decision this door made, in order. Never updated but for upload."""

    __tablename__ = "scan_journal"
    __table_args__ = (sa.Index("ix_scan_journal_ticket_seq", "ticket_id", "seq"),)

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    scan_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    door: Mapped[str] = mapped_column(sa.String(100))
    source: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[str] = mapped_column(sa.Text)
    event_id: Mapped[int | None]
    ticket_id: Mapped[int | None]
    verdict: Mapped[str] = mapped_column(sa.String(40))
    counted: Mapped[bool]  # this scan changed the ticket's state (an entry or an exit)
    direction: Mapped[str] = mapped_column(sa.String(10))
    scan_type: Mapped[str] = mapped_column(sa.String(20))
    manual_reason: Mapped[str | None] = mapped_column(sa.String(500))
    upload_state: Mapped[str] = mapped_column(sa.String(20), default="pending")
    upload_error: Mapped[str | None] = mapped_column(sa.String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Outbound(Base):
    """Journal rows the server has not acknowledged yet, oldest first."""

    __tablename__ = "outbound"

    seq: Mapped[int] = mapped_column(
        sa.ForeignKey("scan_journal.seq"), primary_key=True, autoincrement=False
    )
    # rounds in which the server refused this scan sent alone; at sync.MAX_REFUSALS it is set
    # aside (a journal state) and leaves this queue
    attempts: Mapped[int] = mapped_column(default=0)


class Conflict(Base):
    """A scan the server flagged: two doors admitted the same single-entry ticket."""

    __tablename__ = "conflicts"

    scan_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(index=True)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    door: Mapped[str] = mapped_column(sa.String(100))
    winning_scan_id: Mapped[str] = mapped_column(sa.String(36))
    winning_scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    winning_door: Mapped[str] = mapped_column(sa.String(100))


class SyncState(Base):
    """How the last sync round went (one row, id 1)."""

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    online: Mapped[bool] = mapped_column(default=False)
    # server clock minus this device's clock at the last heartbeat (seconds; + = device slow)
    clock_skew_seconds: Mapped[float | None]


# --- the box office (docs/box-office.md "The desk app") ----------------------------------------


class BoxTier(Base):
    """A ticket type this desk may sell (downloaded while online)."""

    __tablename__ = "box_tiers"

    tier_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(index=True)
    night: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(200))
    price_cents: Mapped[int]
    available: Mapped[int | None]
    position: Mapped[int] = mapped_column(default=0, server_default="0")


class BoxStock(Base):
    """A pre-issued, signed ticket held for an offline sale; ``sale_id`` once handed out."""

    __tablename__ = "box_stock"

    ticket_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(index=True)
    tier_id: Mapped[int] = mapped_column(index=True)
    ticket_number: Mapped[str] = mapped_column(sa.String(64))
    token: Mapped[str] = mapped_column(sa.String(200))
    # whose allocation it was drawn from
    seller_id: Mapped[int] = mapped_column(default=0, server_default="0")
    sale_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)


class BoxSale(Base):
    """A sale made at this desk: the desk's own truth, like the scan journal."""

    __tablename__ = "box_sales"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    sale_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    mode: Mapped[str] = mapped_column(sa.String(10))
    state: Mapped[str] = mapped_column(sa.String(12))
    sold_at: Mapped[datetime] = mapped_column(UTCDateTime)
    event_id: Mapped[int]
    seller_id: Mapped[int] = mapped_column(default=0, server_default="0")
    server_sale_id: Mapped[int | None]  # the server's id of the sale, once it answered
    night: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    order_number: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    lines_json: Mapped[str] = mapped_column(sa.Text, default="[]", server_default="[]")
    total_cents: Mapped[int]
    tendered_cents: Mapped[int]
    buyer_name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    buyer_email: Mapped[str] = mapped_column(sa.String(254), default="", server_default="")
    buyer_phone: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    # offline sales only
    seller_code: Mapped[str] = mapped_column(sa.String(8), default="", server_default="")
    uploaded: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    upload_error: Mapped[str | None] = mapped_column(sa.String(200))
    printed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    void_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # voided offline, not yet sent
    void_pending: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class BoxSaleTicket(Base):
    __tablename__ = "box_sale_tickets"

    ticket_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sale_id: Mapped[str] = mapped_column(sa.ForeignKey("box_sales.sale_id"), index=True)
    ticket_number: Mapped[str] = mapped_column(sa.String(64))
    tier_id: Mapped[int]
    tier_name: Mapped[str] = mapped_column(sa.String(200))
    price_cents: Mapped[int]
    token: Mapped[str] = mapped_column(sa.String(200))
