"""Orders and tickets as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.vocabulary import format_optional_time as iso
from sync_server.orders.models import Order
from sync_server.tickets.models import TicketInstance, TicketStatus


def ticket_json(ticket: TicketInstance, *, with_token: bool) -> dict[str, Any]:
    return {
        "id": ticket.id, "event_id": ticket.event_id, "order_id": ticket.order_id,
        "ticket_number": ticket.ticket_number, "status": ticket.status.value,
        "ticket_type_id": ticket.ticket_type_id, "bundle_id": ticket.bundle_id,
        "holder_name": ticket.holder_name, "holder_email": ticket.holder_email,
        "valid_day_ids": [d.id for d in ticket.valid_days],
        "token": ticket.token if with_token and ticket.status is TicketStatus.VALID else None,
        "transferred_at": iso(ticket.transferred_at),
        "transferred_to_id": ticket.transferred_to_id,
        "cancelled_at": iso(ticket.cancelled_at), "created_at": iso(ticket.created_at),
    }


def order_json(session: Session, order: Order, *, tickets: bool = True,
               tokens: bool = False, hold_expires_at: Any = None,
               issued: Sequence[TicketInstance] | None = None) -> dict[str, Any]:
    """``issued``: the order's tickets when the caller has them all (saves a query)."""
    data: dict[str, Any] = {
        "id": order.id, "order_number": order.order_number, "event_id": order.event_id,
        "user_id": order.user_id, "payment_method": order.payment_method.value,
        "payment_status": order.payment_status.value,
        "subtotal_cents": order.subtotal_cents, "discount_cents": order.discount_cents,
        "fees_cents": order.fees_cents, "total_cents": order.total_cents,
        "discount_code_id": order.discount_code_id, "buyer_name": order.buyer_name,
        "buyer_email": order.buyer_email, "completed_at": iso(order.completed_at),
        "created_at": iso(order.created_at),
        "items": [{"ticket_type_id": i.ticket_type_id, "bundle_id": i.bundle_id,
                   "quantity": i.quantity, "price_per_item_cents": i.price_per_item_cents,
                   "subtotal_cents": i.subtotal_cents} for i in order.items],
    }
    if hold_expires_at is not None:
        data["hold_expires_at"] = iso(hold_expires_at)
    if tickets and issued is not None:
        data["tickets"] = [ticket_json(t, with_token=tokens) for t in issued]
    elif tickets:
        rows = session.scalars(sa.select(TicketInstance)
                               .where(TicketInstance.order_id == order.id)
                               .order_by(TicketInstance.id))
        data["tickets"] = [ticket_json(t, with_token=tokens) for t in rows]
    return data
