"""The flash sale's fast path, and the ONLY one: a free order of one ticket type, completed at once.

Why: the flash sale (``bench/flash_sale.py``: thousands of buyers taking free tickets of one
event) must complete at least 10,000 orders a minute on a 2-core machine (issue #12). Through
:func:`orders.services.complete_order` a free checkout cost 15.6 M instructions (callgrind,
``bench/checkout_cost.py``, 2026-12-03), a large share of them (cProfile) in the ORM unit of
work (building the order, its item and its tickets as ORM objects, then sorting, flushing and
bookkeeping them in two flushes); the race measured 5,424 orders a minute on a quiet machine
with sync workers (0.54 of the floor).

What differs from ``complete_order`` (everything else is the same, in the same order): the
order, its item, its tickets and their days are inserted NOW, one Core ``INSERT`` per table
(``RETURNING id`` for the order and its item), not added to the session for a flush; the ORM
objects the answer and ``order_completed``'s receivers read are made, detached, from the same
values; the door domain hears of the tickets through ``signals.tickets_inserted`` (the unit
of work's hook never sees them). Then, exactly as ``complete_order`` does:
``order_completed`` (the mail domain queues the e-mail), the units counted as sold with the
inventory row locked (``holds.sell``: a sold-out raises and the caller rolls back), the door
number at commit.

When: :func:`applies` -- the checkout is free, not a comp, with no discount code, of one
ticket type, by a buyer (not a box-office seller or a device), with the event's signing key
version read with the event. Anything else takes ``complete_order``.

Figure (``bench/checkout_cost.py``, callgrind, back to back, 2026-12-03): instructions per
free checkout 15.60 M (``complete_order``) -> 14.43 M (this path), -7.5 %; 11 statements
either way. An ORM bulk insert (``insert(Order).returning(Order)``) was tried first and saved
nothing. With the deployed gthread x 2 workers the race is predicted at 9,000-11,000 orders a
minute on a quiet machine (docs/purchase.md, "The flash sale's fast path").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from sync_server.db import Base
from sync_server.events.models import Event, TicketType
from sync_server.orders import holds, pricing
from sync_server.orders.models import Order, OrderItem, PaymentMethod, PaymentStatus
from sync_server.signals import order_completed, tickets_inserted
from sync_server.tickets.models import TicketInstance, ticket_instance_days
from sync_server.tickets.services import new_ticket_values, valid_days

logger = logging.getLogger(__name__)

_Row = TypeVar("_Row", bound=Base)


def applies(lines: Sequence[pricing.Line], price: pricing.Quote, *, complimentary: bool,
            discount_code: str | None, seller: bool, device: bool,
            key_version: int | None) -> bool:
    """Whether this checkout is the flash sale's case (see the module's docstring)."""
    return (price.total_cents == 0 and not complimentary and not discount_code
            and not seller and not device and key_version is not None
            and len(lines) == 1 and lines[0].ticket_type_id is not None)


def sell(session: Session, *, event: Event, line: pricing.Line, buyer_id: int | None,
         buyer_name: str, buyer_email: str, buyer_phone: str | None, order_number: str,
         master_secret: bytes, key_version: int, now: datetime,
         ) -> tuple[Order, list[TicketInstance]]:
    """Complete a free order of ``line`` now (the caller checked :func:`applies`); returns the
    order and its tickets. Raises ``sold_out`` (409); the caller rolls back."""
    assert line.ticket_type_id is not None
    ticket_type = session.get(TicketType, line.ticket_type_id)  # loaded with the event
    assert ticket_type is not None
    order = _inserted(session, Order, {
        "order_number": order_number, "event_id": event.id, "user_id": buyer_id,
        "subtotal_cents": 0, "discount_cents": 0, "fees_cents": 0, "total_cents": 0,
        "units": line.quantity, "discount_code_id": None, "payment_method": PaymentMethod.FREE,
        "payment_status": PaymentStatus.COMPLETED, "sold_by_seller_id": None,
        "sold_by_device_id": None, "buyer_name": buyer_name, "buyer_email": buyer_email,
        "buyer_phone": buyer_phone, "client_address": None, "completed_at": now,
        "created_at": now, "updated_at": now})
    item = _inserted(session, OrderItem, {
        "order_id": order.id, "ticket_type_id": ticket_type.id, "bundle_id": None,
        "quantity": line.quantity, "price_per_item_cents": 0, "subtotal_cents": 0})
    set_committed_value(order, "items", [item])
    values = [dict(columns, transferred_at=None, transferred_to_id=None, cancelled_at=None)
              for columns in new_ticket_values(
                  session, order=order, event=event, units=[(ticket_type, None)] * line.quantity,
                  holder_name=buyer_name, holder_email=buyer_email,
                  master_secret=master_secret, now=now, owner_id=buyer_id,
                  original_owner_id=buyer_id, key_version=key_version)]
    session.execute(sa.insert(_table(TicketInstance)), values)
    days = valid_days(event, ticket_type, None)
    if days:
        session.execute(sa.insert(ticket_instance_days), [
            {"ticket_instance_id": columns["id"], "event_day_id": day.id}
            for columns in values for day in days])
    tickets = [_detached(TicketInstance(**columns)) for columns in values]
    for ticket in tickets:
        set_committed_value(ticket, "valid_days", list(days))
    tickets_inserted.send(order, session=session, event_id=event.id,
                          ticket_ids=[ticket.id for ticket in tickets])
    order_completed.send(order, session=session, tickets=tickets, now=now, placed=False)
    holds.sell(session, order=order, wanted={holds.stock_of(ticket_type.id, None): line.quantity},
               now=now, held=False)
    logger.info("order %s completed (FREE, %d tickets)", order.order_number, len(tickets))
    return order, tickets


def _inserted(session: Session, model: type[_Row], columns: dict[str, Any]) -> _Row:
    """Insert one row of ``model`` now (``INSERT ... RETURNING id``); the row as a detached
    ORM object (every column given is loaded; it is not in the session, which writes nothing
    more of it)."""
    table = _table(model)
    row_id = session.execute(sa.insert(table).returning(table.c.id), columns).scalar_one()
    return _detached(model(id=row_id, **columns))


def _table(model: type[Base]) -> sa.Table:
    """The model's Core table: a Core ``INSERT`` is compiled once and cached (an ORM bulk
    insert of the entity costs as much as the unit of work it replaces)."""
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


def _detached(obj: _Row) -> _Row:
    make_transient_to_detached(obj)
    return obj
