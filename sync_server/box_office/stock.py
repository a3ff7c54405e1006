"""Offline stock: pre-issued, signed tickets a box-office device hands out with no internet.

While online, the device downloads up to ``box_office_stock_max`` tickets per seller from the
seller's allocation (``download``): ONE zero-priced stock order completed through
``complete_order`` (method FREE, the units counted as sold so no online buyer can take them),
its tickets issued and signed as any other, holder empty, each kept as a ``StockTicket`` (OUT).
The doors receive them in their door data (``box_office_stock: true``), so a door admits a
stock ticket offline by its signature alone.

An offline sale is uploaded later (``record_offline_sales``), exactly once by its
``client_sale_id``: the tickets get their holder, the stock rows become SOLD, the sale records the
cash taken and the seller's sold count and commission move. At the end of the night unsold stock
is returned (``return_stock``: tickets cancelled and revoked, units back on sale); a lost or
stolen device's stock is revoked by the organizer (``revoke_stock``, the same thing), so the doors
refuse those tickets after their next sync. See docs/box-office.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.audit.services import record
from sync_server.box_office.models import (
    BoxOfficeSale,
    SaleKind,
    SaleStatus,
    StockStatus,
    StockTicket,
)
from sync_server.box_office.services import (
    BoxOfficeSettings,
    cancel_stock_order,
    check_event_sells,
    check_seller_active,
    commission_of,
    lock_seller,
    release_lapsed,
    sale_by_client_id,
    take_allocation,
)
from sync_server.db import utcnow
from sync_server.errors import ApiError, Code, validation_error
from sync_server.events.models import Event, TicketType
from sync_server.orders.services import WantedLine, checkout
from sync_server.staff.models import AuthorizedSeller
from sync_server.tickets.models import TicketInstance

logger = logging.getLogger(__name__)


def stock_rows(session: Session, *, event: Event, seller_id: int | None = None,
               device_id: int | None = None,
               status: StockStatus | None = StockStatus.OUT) -> list[StockTicket]:
    stmt = sa.select(StockTicket).where(StockTicket.event_id == event.id)
    if seller_id is not None:
        stmt = stmt.where(StockTicket.seller_id == seller_id)
    if device_id is not None:
        stmt = stmt.where(StockTicket.device_id == device_id)
    if status is not None:
        stmt = stmt.where(StockTicket.status == status)
    return list(session.scalars(stmt.order_by(StockTicket.ticket_id)))


def _check_types(session: Session, event: Event, wanted: Sequence[WantedLine]) -> None:
    errors: dict[str, list[str]] = {}
    for index, line in enumerate(wanted):
        row = session.get(TicketType, line.ticket_type_id) if line.ticket_type_id else None
        if row is None or row.event_id != event.id:
            errors[f"items.{index}"] = ["no such ticket type in this event"]
        elif not row.active:
            errors[f"items.{index}"] = ["this ticket type is not on sale"]
    if errors:
        raise validation_error(errors, "the stock cannot be issued as asked")


def download(
    session: Session, *, event: Event, seller: AuthorizedSeller, device_id: int, batch_id: str,
    wanted: Sequence[WantedLine], settings: BoxOfficeSettings, now: datetime | None = None,
) -> tuple[list[StockTicket], bool]:
    """Issue offline stock to the device; returns (the batch's stock rows, created). The same
    ``batch_id`` again returns the first batch."""
    now = now or utcnow()
    check_event_sells(event, now)
    check_seller_active(seller)
    lock_seller(session, seller)
    first = session.scalars(sa.select(StockTicket).where(
        StockTicket.event_id == event.id, StockTicket.batch_id == batch_id)
        .order_by(StockTicket.ticket_id)).all()
    if first:
        if first[0].device_id != device_id or first[0].seller_id != seller.id:
            raise ApiError(409, Code.CONFLICT, "this client_batch_id belongs to another download")
        return list(first), False
    _check_types(session, event, wanted)
    release_lapsed(session, seller_id=seller.id, now=now)
    quantity = sum(line.quantity for line in wanted)
    here = len(stock_rows(session, event=event, seller_id=seller.id, device_id=device_id))
    if here + quantity > settings.stock_max:
        raise ApiError(409, Code.STOCK_LIMIT,
                       f"a device may hold {settings.stock_max} stock tickets per seller; "
                       f"this one holds {here}: sell or return some first")
    take_allocation(session, seller, quantity, now)
    rows = []
    for line in wanted:
        ticket_type = session.get(TicketType, line.ticket_type_id)
        assert ticket_type is not None
        for _ in range(line.quantity):
            # One zero-priced order per stock ticket: returning, revoking or refunding one is
            # then ``cancel_order`` of its own order (tickets revoked, units back on sale).
            outcome = checkout(
                session, event=event, buyer=None, wanted=[WantedLine(ticket_type.id, None, 1)],
                buyer_name="Box office stock", buyer_email="",
                settings=settings.purchase, complimentary=True, by_user=seller.user,
                sold_by_device_id=device_id, now=now)
            (ticket,) = outcome.issued
            ticket.holder_name, ticket.holder_email = "", ""
            rows.append(StockTicket(
                ticket_id=ticket.id, event_id=event.id, seller_id=seller.id,
                device_id=device_id, order_id=outcome.order.id, batch_id=batch_id,
                ticket_type_id=ticket_type.id, price_cents=ticket_type.price_cents,
                status=StockStatus.OUT, created_at=now))
    session.add_all(rows)
    session.flush()
    record(session, action="box_office.stock_issued", entity_type="authorized_seller",
           entity_id=seller.id, user=seller.user, event_id=event.id,
           details={"device_id": device_id, "tickets": len(rows), "batch_id": batch_id})
    return rows, True


@dataclass(frozen=True)
class OfflineSale:
    client_sale_id: str
    seller_id: int
    sold_at: datetime
    ticket_ids: tuple[int, ...]
    total_cents: int
    buyer_name: str = ""
    buyer_email: str = ""
    buyer_phone: str | None = None


@dataclass(frozen=True)
class OfflineResult:
    client_sale_id: str
    outcome: str  # "recorded" | "duplicate" | "rejected"
    sale_id: int | None = None
    error: str | None = None


def record_offline_sale(
    session: Session, *, event: Event, seller: AuthorizedSeller, device_id: int,
    sale: OfflineSale, now: datetime | None = None,
) -> OfflineResult:
    """Record one uploaded offline sale, exactly once (the caller commits each)."""
    now = now or utcnow()
    lock_seller(session, seller)
    existing = sale_by_client_id(session, event, sale.client_sale_id)
    if existing is not None:
        return OfflineResult(sale.client_sale_id, "duplicate", existing.id)
    if len(set(sale.ticket_ids)) != len(sale.ticket_ids):
        return OfflineResult(sale.client_sale_id, "rejected", error="validation_failed")
    stock = {row.ticket_id: row for row in session.scalars(sa.select(StockTicket).where(
        StockTicket.ticket_id.in_(sale.ticket_ids), StockTicket.event_id == event.id))}
    for ticket_id in sale.ticket_ids:
        row = stock.get(ticket_id)
        if row is None or row.device_id != device_id or row.seller_id != seller.id:
            return OfflineResult(sale.client_sale_id, "rejected", error="stock_not_out")
        if row.status is StockStatus.REVOKED:
            return OfflineResult(sale.client_sale_id, "rejected", error="stock_revoked")
        if row.status is not StockStatus.OUT:
            return OfflineResult(sale.client_sale_id, "rejected", error="stock_not_out")
    sold_at = min(sale.sold_at, now)
    row0 = stock[sale.ticket_ids[0]]
    record_row = BoxOfficeSale(
        event_id=event.id, seller_id=seller.id, device_id=device_id, order_id=row0.order_id,
        client_sale_id=sale.client_sale_id, kind=SaleKind.OFFLINE, status=SaleStatus.COMPLETED,
        quantity=len(sale.ticket_ids), total_cents=sale.total_cents,
        list_cents=sum(stock[t].price_cents for t in sale.ticket_ids),
        commission_cents=commission_of(sale.total_cents, seller.commission_rate_bp),
        buyer_name=sale.buyer_name, buyer_email=sale.buyer_email.strip().lower(),
        buyer_phone=sale.buyer_phone, sold_at=sold_at, created_at=now)
    session.add(record_row)
    session.flush()
    for ticket_id in sale.ticket_ids:
        row = stock[ticket_id]
        row.status, row.sale_id, row.closed_at = StockStatus.SOLD, record_row.id, now
        ticket = session.get(TicketInstance, ticket_id)
        assert ticket is not None
        ticket.holder_name = sale.buyer_name or "Cash buyer"
        ticket.holder_email = sale.buyer_email.strip().lower()
    seller.sold_tickets += record_row.quantity
    seller.commission_earned_cents += record_row.commission_cents
    session.flush()
    record(session, action="box_office.offline_sale", entity_type="box_office_sale",
           entity_id=record_row.id, user=seller.user, event_id=event.id,
           details={"device_id": device_id, "tickets": list(sale.ticket_ids),
                    "total_cents": sale.total_cents})
    return OfflineResult(sale.client_sale_id, "recorded", record_row.id)


def close_stock(
    session: Session, *, rows: Sequence[StockTicket], status: StockStatus,
    by_user: User | None, reason: str, now: datetime | None = None,
) -> int:
    """Return (RETURNED) or revoke (REVOKED) unsold stock: tickets cancelled and revoked for the
    doors, units back on sale, allocation freed. The caller locked the sellers. Returns how many."""
    now = now or utcnow()
    rows = [row for row in rows if row.status is StockStatus.OUT]
    for row in rows:
        cancel_stock_order(session, row, by_user=by_user, reason=reason, now=now)
        row.status, row.closed_at = status, now
    session.flush()
    if rows:
        record(session, action=f"box_office.stock_{status.value.lower()}",
               entity_type="event", entity_id=rows[0].event_id, user=by_user,
               event_id=rows[0].event_id,
               details={"tickets": [r.ticket_id for r in rows], "reason": reason})
    return len(rows)


def return_stock(session: Session, *, event: Event, seller: AuthorizedSeller, device_id: int,
                 ticket_ids: Sequence[int] | None, now: datetime | None = None) -> int:
    lock_seller(session, seller)
    rows = stock_rows(session, event=event, seller_id=seller.id, device_id=device_id)
    if ticket_ids is not None:
        wanted = set(ticket_ids)
        rows = [r for r in rows if r.ticket_id in wanted]
    return close_stock(session, rows=rows, status=StockStatus.RETURNED, by_user=seller.user,
                       reason="returned unsold at the end of the night", now=now)


def revoke_stock(session: Session, *, event: Event, by_user: User, device_id: int | None,
                 seller_id: int | None, now: datetime | None = None) -> int:
    """The organizer takes back unsold stock (of one device and/or seller; all if neither)."""
    rows = stock_rows(session, event=event, seller_id=seller_id, device_id=device_id)
    for sid in sorted({r.seller_id for r in rows}):
        seller = session.get(AuthorizedSeller, sid)
        assert seller is not None
        lock_seller(session, seller)
    for row in rows:
        session.refresh(row)  # as it is now that its seller is locked
    return close_stock(session, rows=rows, status=StockStatus.REVOKED, by_user=by_user,
                       reason="revoked by the organizer", now=now)
