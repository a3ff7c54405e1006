"""An event's analytics: sales over time, by ticket type, revenue (gross, fees, net), discount
code use and the check-in curve through the night. One function, :func:`analytics`, feeds the
page, its CSV downloads and ``GET /events/<id>/analytics``; every figure is one aggregate query
(no row is read into Python).

Money: gross is what buyers paid for completed orders (``total_cents``); fees is the platform's
part of it; net = gross - fees. Refunded orders are left out and their total shown apart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.protocol import Direction
from shared.vocabulary import ADMITTING_VERDICTS
from shared.vocabulary import format_optional_time as iso
from sync_server.db import bucket_start, slice_number, time_slice
from sync_server.door.models import DoorScan
from sync_server.events.models import Bundle, TicketType
from sync_server.orders.models import DiscountCode, Order, OrderItem, PaymentStatus

logger = logging.getLogger(__name__)

HOUR, DAY = 3600, 86400
CHECKIN_SLICE = 900  # the check-in curve in quarter hours
MAX_SLICES = 400  # slices drawn at most (a longer period shows its first 400)


@dataclass(frozen=True)
class Slice:
    start: datetime
    orders: int
    tickets: int
    gross_cents: int


@dataclass(frozen=True)
class TypeSales:
    name: str
    price_cents: int
    capacity: int
    sold: int  # units on completed orders
    gross_cents: int  # their subtotal (before discount and fees)


@dataclass(frozen=True)
class CodeUse:
    code: str
    active: bool
    uses: int
    max_uses: int | None
    discount_cents: int


@dataclass
class Analytics:
    orders: int = 0
    tickets: int = 0
    gross_cents: int = 0
    fees_cents: int = 0
    discount_cents: int = 0
    refunded_orders: int = 0
    refunded_cents: int = 0
    slice_seconds: int = HOUR
    sales: list[Slice] = field(default_factory=list)
    types: list[TypeSales] = field(default_factory=list)
    codes: list[CodeUse] = field(default_factory=list)
    checkins: list[tuple[datetime, int, int]] = field(default_factory=list)  # (at, in, so far)

    @property
    def net_cents(self) -> int:
        return self.gross_cents - self.fees_cents


def analytics(session: Session, event_id: int) -> Analytics:
    """Three passes over many rows: the event's completed orders by (slice, discount code), its
    items by ticket type and bundle, its admissions by quarter hour; the rest (first and last
    sale, refunded orders, ticket types, codes) are index probes or a few rows each.

    Why no pass joins every order with its items: an order carries the sum of its items'
    quantities (``Order.units``, migration 0016), so the tickets sold per slice are one more sum
    of the orders pass, and the items by type are read by the event's ticket types and bundles,
    leaving out the few items of orders not completed (an anti-join against those orders only).
    That join was the slowest query of the page: on ``bench/pages.py``'s 100,000 orders the two
    sales passes took 89 ms of PostgreSQL CPU with it, 48 ms without, and the whole page 124 ms
    of PostgreSQL CPU a request before, 85 ms after (docs/benchmarks.md, 2026-12-03 "The
    analytics page without the items join")."""
    found = Analytics()
    done = sa.and_(Order.event_id == event_id, Order.payment_status == PaymentStatus.COMPLETED)
    span = session.execute(sa.select(sa.func.min(Order.completed_at),
                                     sa.func.max(Order.completed_at)).where(done)).one()
    first_sale, last_sale = span
    if first_sale is not None and last_sale is not None and \
            last_sale - first_sale > timedelta(days=3):
        found.slice_seconds = DAY
    bucket = time_slice(session, sa.func.coalesce(Order.completed_at, Order.created_at),
                        found.slice_seconds)
    per_slice: dict[int, list[int]] = {}  # slice -> [orders, tickets, gross]
    given: dict[int, int] = {}  # discount code id -> discount cents
    for b, code_id, n, units, gross, fees, discount in session.execute(
            sa.select(bucket, Order.discount_code_id, sa.func.count(), sa.func.sum(Order.units),
                      sa.func.sum(Order.total_cents), sa.func.sum(Order.fees_cents),
                      sa.func.sum(Order.discount_cents))
            .where(done).group_by(bucket, Order.discount_code_id)):
        row = per_slice.setdefault(slice_number(b, found.slice_seconds), [0, 0, 0])
        row[0] += int(n)
        row[1] += int(units or 0)
        row[2] += int(gross or 0)
        found.orders += int(n)
        found.gross_cents += int(gross or 0)
        found.fees_cents += int(fees or 0)
        found.discount_cents += int(discount or 0)
        if code_id is not None:
            given[code_id] = given.get(code_id, 0) + int(discount or 0)
    refunded = session.execute(sa.select(sa.func.count(),
                                         sa.func.coalesce(sa.func.sum(Order.total_cents), 0))
                               .where(Order.event_id == event_id,
                                      Order.payment_status == PaymentStatus.REFUNDED)).one()
    found.refunded_orders, found.refunded_cents = int(refunded[0]), int(refunded[1])
    found.types = _types(session, event_id, _sold(session, event_id))
    found.tickets = sum(t.sold for t in found.types)
    found.sales = _slices(per_slice, found.slice_seconds)
    found.codes = _codes(session, event_id, given)
    found.checkins = _checkins(session, event_id)
    return found


def _sold(session: Session, event_id: int) -> dict[tuple[int | None, int | None], tuple[int, int]]:
    """(ticket type id, bundle id) -> (units, subtotal cents) on the event's completed orders:
    the items of its ticket types and bundles (an order's items are all of its own event's)
    but those of its orders in any other state (pending, failed, refunded: few, found by their
    status)."""
    not_completed = [s for s in PaymentStatus if s is not PaymentStatus.COMPLETED]
    other_state = sa.exists().where(Order.id == OrderItem.order_id, Order.event_id == event_id,
                                    Order.payment_status.in_(not_completed))
    of_event = sa.or_(
        OrderItem.ticket_type_id.in_(sa.select(TicketType.id)
                                     .where(TicketType.event_id == event_id)),
        OrderItem.bundle_id.in_(sa.select(Bundle.id).where(Bundle.event_id == event_id)))
    return {(type_id, bundle_id): (int(n or 0), int(subtotal or 0))
            for type_id, bundle_id, n, subtotal in session.execute(
                sa.select(OrderItem.ticket_type_id, OrderItem.bundle_id,
                          sa.func.sum(OrderItem.quantity), sa.func.sum(OrderItem.subtotal_cents))
                .where(of_event, ~other_state)
                .group_by(OrderItem.ticket_type_id, OrderItem.bundle_id))}


def _slices(per_slice: dict[int, list[int]], seconds: int) -> list[Slice]:
    if not per_slice:
        return []
    first = min(per_slice)
    last = min(max(per_slice), first + MAX_SLICES - 1)
    return [Slice(bucket_start(b, seconds), *per_slice.get(b, [0, 0, 0]))
            for b in range(first, last + 1)]


def _types(session: Session, event_id: int,
           sold: dict[tuple[int | None, int | None], tuple[int, int]]) -> list[TypeSales]:
    types = [TypeSales(name, int(price), int(total), *sold.get((tid, None), (0, 0)))
             for tid, name, price, total in session.execute(
                 sa.select(TicketType.id, TicketType.name, TicketType.price_cents,
                           TicketType.quantity_total)
                 .where(TicketType.event_id == event_id).order_by(TicketType.id))]
    bundles = [TypeSales(name, int(price), int(total), *sold.get((None, bid), (0, 0)))
               for bid, name, price, total in session.execute(
                   sa.select(Bundle.id, Bundle.name, Bundle.price_cents, Bundle.quantity_total)
                   .where(Bundle.event_id == event_id).order_by(Bundle.id))]
    return types + bundles


def _codes(session: Session, event_id: int, given: dict[int, int]) -> list[CodeUse]:
    rows = session.execute(
        sa.select(DiscountCode.id, DiscountCode.code, DiscountCode.active,
                  DiscountCode.current_uses, DiscountCode.max_uses)
        .where(DiscountCode.event_id == event_id).order_by(DiscountCode.code))
    return [CodeUse(code, bool(active), int(uses), max_uses, given.get(code_id, 0))
            for code_id, code, active, uses, max_uses in rows]


def _checkins(session: Session, event_id: int) -> list[tuple[datetime, int, int]]:
    bucket = time_slice(session, DoorScan.scanned_at, CHECKIN_SLICE)
    rows = dict((slice_number(b, CHECKIN_SLICE), int(n)) for b, n in session.execute(
        sa.select(bucket, sa.func.count())
        .where(DoorScan.event_id == event_id, DoorScan.lost_to_id.is_(None),
               DoorScan.verdict.in_(sorted(ADMITTING_VERDICTS)),
               DoorScan.direction == Direction.ENTRY)
        .group_by(bucket)))
    if not rows:
        return []
    first = min(rows)
    last = min(max(rows), first + MAX_SLICES - 1)
    curve, so_far = [], 0
    for b in range(first, last + 1):
        so_far += rows.get(b, 0)
        curve.append((bucket_start(b, CHECKIN_SLICE), rows.get(b, 0), so_far))
    return curve


# --- the same numbers as tables (CSV downloads) and JSON ------------------------------------

TABLES: dict[str, tuple[str, ...]] = {
    "revenue": ("figure", "cents_or_count"),
    "sales": ("slice_start", "orders", "tickets", "gross_cents"),
    "ticket-types": ("ticket_type", "price_cents", "capacity", "sold", "gross_cents"),
    "discount-codes": ("code", "active", "uses", "max_uses", "discount_cents"),
    "check-ins": ("slice_start", "entries", "entries_so_far"),
}


def table_rows(found: Analytics, name: str) -> list[tuple[Any, ...]]:
    """One of ``TABLES`` as rows (the CSV download of that table)."""
    if name == "revenue":
        return [("orders", found.orders), ("tickets", found.tickets),
                ("gross_cents", found.gross_cents), ("fees_cents", found.fees_cents),
                ("net_cents", found.net_cents), ("discount_cents", found.discount_cents),
                ("refunded_orders", found.refunded_orders),
                ("refunded_cents", found.refunded_cents)]
    if name == "sales":
        return [(iso(s.start), s.orders, s.tickets, s.gross_cents) for s in found.sales]
    if name == "ticket-types":
        return [(t.name, t.price_cents, t.capacity, t.sold, t.gross_cents) for t in found.types]
    if name == "discount-codes":
        return [(c.code, c.active, c.uses, c.max_uses if c.max_uses is not None else "",
                 c.discount_cents) for c in found.codes]
    if name == "check-ins":
        return [(iso(at), n, so_far) for at, n, so_far in found.checkins]
    raise KeyError(name)


def analytics_json(found: Analytics) -> dict[str, Any]:
    return {name: [dict(zip(columns, row, strict=True)) for row in table_rows(found, name)]
            for name, columns in TABLES.items()} | {"slice_seconds": found.slice_seconds}
