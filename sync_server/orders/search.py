"""The organizer's order desk: find orders, read one with its tickets and history, and the
orders and attendee lists as rows for a CSV download.

Used by the JSON API (``GET /events/<id>/orders?q=``, ``GET /events/<id>/orders/<id>``) and by
the organizer's pages (``orders.pages``), so both find exactly the same orders.

A search text matches an order by its number or one of its tickets' numbers (exactly, any
case), or by a part of the buyer's name or e-mail, or a ticket holder's e-mail (exactly).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from shared.vocabulary import format_optional_time as iso
from sync_server.audit.models import AuditEntry
from sync_server.errors import validation_error
from sync_server.events.models import Bundle, TicketType
from sync_server.orders.models import Order, PaymentStatus
from sync_server.tickets.models import TicketInstance

logger = logging.getLogger(__name__)

MAX_SEARCH = 200  # characters of a search text
MAX_PAGE = 100_000


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def clean_search(text: str | None) -> str:
    """The search text trimmed; refused (400, words) when too long or not one line."""
    text = (text or "").strip()
    if len(text) > MAX_SEARCH:
        raise validation_error({"q": [f"search with at most {MAX_SEARCH} characters"]})
    if any(ord(c) < 32 for c in text):
        raise validation_error({"q": ["search with one line of text"]})
    return text


def buyer_text() -> sa.ColumnElement[str]:
    """The buyer's name and e-mail as one lower-case text: what a part of a name or an e-mail
    is looked for in (a PostgreSQL trigram index on this expression would serve it: see
    bench/pages.py --trigram)."""
    return sa.func.lower(Order.buyer_name + " " + Order.buyer_email)


def _matching(session: Session, event_id: int, text: str) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [Order.event_id == event_id]
    if not text:
        return where
    lowered = text.lower()
    numbers = sorted({text, text.upper()})  # numbers are printed upper-case, typed any case
    # Orders of the tickets with that number or holder e-mail: a few ids, read by index first
    # so that every branch below is an index lookup.
    by_ticket = list(session.scalars(sa.select(TicketInstance.order_id).where(
        TicketInstance.event_id == event_id,
        sa.or_(TicketInstance.ticket_number.in_(numbers),
               TicketInstance.holder_email == lowered)).limit(1000)))
    where.append(sa.or_(
        Order.order_number.in_([*numbers, lowered]),
        Order.id.in_(by_ticket),
        buyer_text().contains(lowered, autoescape=True),
    ))
    return where


def search_orders(session: Session, event_id: int, *, text: str | None = None,
                  status: PaymentStatus | None = None, page: int = 1,
                  per_page: int = 50) -> OrderPage:
    """The event's orders matching ``text`` (see the module), newest first, one page."""
    text = clean_search(text)
    if not 1 <= page <= MAX_PAGE:
        raise validation_error({"page": [f"pages are numbered from 1 to {MAX_PAGE:,}"]})
    where = _matching(session, event_id, text)
    if status is not None:
        where.append(Order.payment_status == status)
    newest_first = (Order.created_at.desc(), Order.id.desc())
    offset = (page - 1) * per_page
    if text:
        # A search reads every order of the event once (a part of a name has no index): the
        # page and the number of matches come from that one pass (a window count), not two.
        # A page past the last has no row to carry the count: then it is counted apart.
        rows = session.execute(
            sa.select(Order, sa.func.count().over()).where(*where).order_by(*newest_first)
            .offset(offset).limit(per_page)).all()
        if rows or offset == 0:  # no row on the first page: nothing matches
            return OrderPage([order for order, _ in rows], int(rows[0][1]) if rows else 0,
                             page, per_page)
        orders: list[Order] = []
    else:  # every order: a page read from the (event, created_at) index, then the count
        orders = list(session.scalars(sa.select(Order).where(*where).order_by(*newest_first)
                                      .offset(offset).limit(per_page)))
    total = session.scalar(sa.select(sa.func.count()).select_from(Order).where(*where)) or 0
    return OrderPage(orders, total, page, per_page)


def event_order(session: Session, event_id: int, order_id: int) -> Order | None:
    """The order with this id if it is of this event."""
    order = session.get(Order, order_id)
    return order if order is not None and order.event_id == event_id else None


@dataclass(frozen=True)
class TicketLine:
    ticket: TicketInstance
    kind: str  # the ticket type's or bundle's name


def order_tickets(session: Session, order: Order) -> list[TicketLine]:
    rows = session.execute(
        sa.select(TicketInstance, sa.func.coalesce(TicketType.name, Bundle.name, ""))
        .outerjoin(TicketType, TicketType.id == TicketInstance.ticket_type_id)
        .outerjoin(Bundle, Bundle.id == TicketInstance.bundle_id)
        .where(TicketInstance.order_id == order.id).order_by(TicketInstance.id))
    return [TicketLine(ticket, kind) for ticket, kind in rows]


def order_history(session: Session, order: Order, ticket_ids: list[int]) -> list[AuditEntry]:
    """The audit entries of the order and of its tickets, oldest first."""
    about = [sa.and_(AuditEntry.entity_type == "order", AuditEntry.entity_id == order.id)]
    if ticket_ids:
        about.append(sa.and_(AuditEntry.entity_type.in_(["ticket", "ticket_instance"]),
                             AuditEntry.entity_id.in_(ticket_ids)))
    return list(session.scalars(sa.select(AuditEntry).where(sa.or_(*about))
                                .order_by(AuditEntry.at, AuditEntry.id).limit(500)))


def history_json(entry: AuditEntry) -> dict[str, Any]:
    return {"at": iso(entry.at), "action": entry.action, "entity_type": entry.entity_type,
            "entity_id": entry.entity_id, "user_id": entry.actor_user_id,
            "device_id": entry.actor_device_id, "details": entry.details or {}}


ORDER_COLUMNS = ("order_number", "created_at", "status", "payment_method", "buyer_name",
                 "buyer_email", "tickets", "subtotal_cents", "discount_cents", "fees_cents",
                 "total_cents")
ATTENDEE_COLUMNS = ("ticket_number", "holder_name", "holder_email", "ticket_type", "status",
                    "scanned_at", "order_number")


def _when(value: datetime | None) -> str:
    return iso(value) or ""


BATCH = 2000  # rows read per short transaction of a CSV download


def order_rows(engine: Engine, event_id: int) -> Iterator[tuple[Any, ...]]:
    """Every order of the event (by id) as ``ORDER_COLUMNS``, read ``BATCH`` at a time, each
    batch in its own short transaction: a slow download holds no lock between batches."""
    counts = (sa.select(TicketInstance.order_id, sa.func.count().label("n"))
              .where(TicketInstance.event_id == event_id)
              .group_by(TicketInstance.order_id).subquery())
    query = (sa.select(Order.id, Order.order_number, Order.created_at, Order.payment_status,
                       Order.payment_method, Order.buyer_name, Order.buyer_email,
                       sa.func.coalesce(counts.c.n, 0), Order.subtotal_cents,
                       Order.discount_cents, Order.fees_cents, Order.total_cents)
             .outerjoin(counts, counts.c.order_id == Order.id)
             .where(Order.event_id == event_id).order_by(Order.id).limit(BATCH))
    after = 0
    while True:
        with Session(engine) as session:
            rows = session.execute(query.where(Order.id > after)).all()
        for row in rows:
            yield (row[1], _when(row[2]), row[3].value, row[4].value, *row[5:])
        if len(rows) < BATCH:
            return
        after = rows[-1][0]


def attendee_rows(engine: Engine, event_id: int) -> Iterator[tuple[Any, ...]]:
    """Every ticket of the event (by id) as ``ATTENDEE_COLUMNS``, in batches as above."""
    query = (sa.select(TicketInstance.id, TicketInstance.ticket_number,
                       TicketInstance.holder_name, TicketInstance.holder_email,
                       sa.func.coalesce(TicketType.name, Bundle.name, ""),
                       TicketInstance.status, TicketInstance.scanned_at, Order.order_number)
             .join(Order, Order.id == TicketInstance.order_id)
             .outerjoin(TicketType, TicketType.id == TicketInstance.ticket_type_id)
             .outerjoin(Bundle, Bundle.id == TicketInstance.bundle_id)
             .where(TicketInstance.event_id == event_id)
             .order_by(TicketInstance.id).limit(BATCH))
    after = 0
    while True:
        with Session(engine) as session:
            rows = session.execute(query.where(TicketInstance.id > after)).all()
        for row in rows:
            yield (*row[1:5], row[5].value, _when(row[6]), row[7])
        if len(rows) < BATCH:
            return
        after = rows[-1][0]
