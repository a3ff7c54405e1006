"""Many PENDING orders of one ticket type placed at once, each holding its buyer's units: the
waiting list's offers (docs/queue.md, "Measured").

``checkout(..., hold_only=True)`` places one order in ~10 statements (the order, its item, its
hold, the reservation, each its own round trip). When capacity comes back the waiting list
offers up to a batch of units of ONE ticket type to as many people in one transaction, under
the ticket type's inventory row lock: here the batch is validated and priced once, its orders,
their items and their holds go in with one multi-row INSERT each (SQLAlchemy's "insertmanyvalues"
on PostgreSQL and SQLite), and the units are counted as reserved with ONE conditional UPDATE of
the inventory row. The rules are checkout's own (``_check_event``, ``_priced_lines``,
``pricing.quote``, ``holds.reserve``).

All or nothing: ``sold_out`` (409) or ``validation_failed`` (422) refuses the whole batch; the
caller (inside a savepoint) rolls it back and may place them one at a time instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.events.models import Event
from sync_server.orders import holds, pricing
from sync_server.orders.models import Order, OrderItem, PaymentMethod, PaymentStatus
from sync_server.orders.services import (
    PurchaseSettings,
    WantedLine,
    _check_event,
    _priced_lines,
    event_fees,
    new_order_number,
)

logger = logging.getLogger(__name__)


def hold_for_each(session: Session, *, event: Event, ticket_type_id: int,
                  buyers: Sequence[tuple[User, int]], settings: PurchaseSettings,
                  now: datetime) -> list[Order]:
    """One PENDING order per ``(buyer, quantity)`` of ``ticket_type_id``, each with its hold
    until ``settings.hold_minutes`` from ``now`` (a free one stays PENDING, method FREE: the
    buyer completes it; a paid one is a card order). Returns the orders, in ``buyers``' order."""
    if not buyers:
        return []
    _check_event(event, False, now)
    priced: dict[int, tuple[list[pricing.Line], pricing.Quote]] = {}
    for _buyer, quantity in buyers:
        if quantity not in priced:  # validated and priced once per quantity (one in practice)
            lines = _priced_lines(session, event, [WantedLine(ticket_type_id, None, quantity)],
                                  now, False)
            free = sum(line.subtotal_cents for line in lines) == 0
            fees = (settings.default_fees if free
                    else event_fees(session, event, settings.default_fees))
            priced[quantity] = (lines, pricing.quote(lines, discount=None, fees=fees))
    orders = []
    for buyer, quantity in buyers:
        lines, price = priced[quantity]
        orders.append(Order(
            order_number=new_order_number(), event_id=event.id, user_id=buyer.id,
            subtotal_cents=price.subtotal_cents, discount_cents=price.discount_cents,
            fees_cents=price.fees_cents, total_cents=price.total_cents,
            payment_method=PaymentMethod.FREE if price.total_cents == 0 else PaymentMethod.STRIPE,
            payment_status=PaymentStatus.PENDING,
            buyer_name=buyer.name or buyer.email, buyer_email=buyer.email.strip().lower(),
            created_at=now, updated_at=now, units=sum(line.quantity for line in lines),
            items=[OrderItem(ticket_type_id=line.ticket_type_id, bundle_id=line.bundle_id,
                             quantity=line.quantity, price_per_item_cents=line.unit_cents,
                             subtotal_cents=line.subtotal_cents) for line in lines]))
    session.add_all(orders)
    session.flush()  # orders, then their items: one multi-row INSERT each
    stock = holds.Stock("ticket_type", ticket_type_id)
    expires_at = now + timedelta(minutes=settings.hold_minutes)
    session.add_all([hold for order, (_buyer, quantity) in zip(orders, buyers, strict=True)
                     for hold in holds.new_holds(order, {stock: quantity},
                                                 expires_at=expires_at, now=now)])
    session.flush()  # the holds: one multi-row INSERT
    # The units last (the inventory row's lock is then held only until the commit), in one go.
    holds.reserve(session, wanted={stock: sum(q for _buyer, q in buyers)}, now=now)
    logger.debug("ticket type %s: %d orders placed on hold at once", ticket_type_id, len(orders))
    return orders
