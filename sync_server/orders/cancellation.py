"""Cancelling orders: a buyer abandons, an organizer cancels one order or the whole event.

A PENDING order releases its holds (FAILED); a COMPLETED one has its tickets cancelled and
revoked (the doors hear of it at commit), its units put back on sale, its discount use given
back and its money refunded through its payment method's hook (REFUNDED).
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.audit.services import record
from sync_server.db import utcnow
from sync_server.events.models import Event, TicketType
from sync_server.keys.services import revoke_ticket
from sync_server.orders import holds, idempotency
from sync_server.orders.models import DiscountCode, InventoryHold, Order, PaymentStatus
from sync_server.orders.refunds import refund
from sync_server.orders.services import Outcome, wanted_stock
from sync_server.signals import capacity_returned, tidying_holds
from sync_server.tickets.models import TicketInstance, TicketStatus

logger = logging.getLogger(__name__)


def cancel_order(
    session: Session, order: Order, *, by_user: User | None, reason: str,
    now: datetime | None = None,
) -> Outcome:
    """Cancel ``order``: a PENDING one releases its holds (FAILED); a COMPLETED one has its
    tickets CANCELLED and revoked, its units put back on sale, its money refunded through the
    payment method's hook (REFUNDED). Cancelling again changes nothing."""
    now = now or utcnow()
    current = order.payment_status
    if current not in (PaymentStatus.PENDING, PaymentStatus.COMPLETED):
        return Outcome(order=order)
    target = PaymentStatus.FAILED if current is PaymentStatus.PENDING else PaymentStatus.REFUNDED
    moved = holds.rowcount(session.execute(
        sa.update(Order).where(Order.id == order.id, Order.payment_status == current)
        .values(payment_status=target, updated_at=now)
    ))
    if moved != 1:
        session.refresh(order)
        return cancel_order(session, order, by_user=by_user, reason=reason, now=now)
    if current is PaymentStatus.PENDING:
        holds.release(session, order=order, now=now)
    else:
        tickets = list(session.scalars(
            sa.select(TicketInstance).where(
                TicketInstance.order_id == order.id,
                TicketInstance.status.in_([TicketStatus.VALID, TicketStatus.SCANNED]))
        ))
        for ticket in tickets:
            ticket.status = TicketStatus.CANCELLED
            ticket.cancelled_at = now
            revoke_ticket(session, event_id=order.event_id, ticket_instance_id=ticket.id,
                          reason="cancelled", user_id=by_user.id if by_user else None)
        holds.unsell(session, sold=wanted_stock(order))
        if order.discount_code_id is not None:
            session.execute(
                sa.update(DiscountCode)
                .where(DiscountCode.id == order.discount_code_id, DiscountCode.current_uses > 0)
                .values(current_uses=DiscountCode.current_uses - 1)
            )
        refund(session, order)
    record(session, action="order.cancel", entity_type="order", entity_id=order.id,
           user=by_user, event_id=order.event_id,
           details={"reason": reason, "was": current.value})
    session.flush()
    _capacity_returned(session, order, now)
    return Outcome(order=order)


def _capacity_returned(session: Session, order: Order, now: datetime) -> None:
    """Tell the queue which ticket types have units back (in this transaction)."""
    for stock in sorted(wanted_stock(order), key=lambda s: s.id):
        if stock.kind == "ticket_type":
            ticket_type = session.get(TicketType, stock.id)
            if ticket_type is not None:
                capacity_returned.send(ticket_type, session=session, now=now)


def cancel_event_orders(
    event: Event, *, session: Session, by_user: User | None, reason: str,
    now: datetime | None = None,
) -> int:
    """Cancel every PENDING or COMPLETED order of ``event``; returns how many. The orders
    domain's receiver of ``signals.event_cancelled`` (``orders.connect_signals``)."""
    orders = list(session.scalars(
        sa.select(Order).where(
            Order.event_id == event.id,
            Order.payment_status.in_([PaymentStatus.PENDING, PaymentStatus.COMPLETED]))
        .order_by(Order.id)
    ))
    for order in orders:
        cancel_order(session, order, by_user=by_user, reason=reason, now=now)
    return len(orders)


def tidy_expired_orders(session: Session, *, now: datetime | None = None) -> int:
    """Release expired holds, mark PENDING orders with no live hold FAILED and forget expired
    checkout idempotency keys (housekeeping)."""
    now = now or utcnow()
    tidying_holds.send(None, session=session, now=now)  # the box office's cash holds first
    # Orders first, then inventory rows: the lock order of every other path (cancel_order,
    # complete_order take the order row, then the inventory row). Releasing the holds first
    # deadlocked with a buyer abandoning a lapsed order (the jobs worker's race test found it).
    live = sa.select(InventoryHold.id).where(
        InventoryHold.order_id == Order.id, InventoryHold.released_at.is_(None),
        InventoryHold.expires_at > now).exists()
    lapsed = holds.rowcount(session.execute(
        sa.update(Order)
        .where(Order.payment_status == PaymentStatus.PENDING, ~live,
               sa.select(InventoryHold.id).where(InventoryHold.order_id == Order.id).exists())
        .values(payment_status=PaymentStatus.FAILED, updated_at=now)
        .execution_options(synchronize_session=False)
    ))
    holds.tidy_expired(session, now=now)
    idempotency.tidy(session, now)
    return lapsed
