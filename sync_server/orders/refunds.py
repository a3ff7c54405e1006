"""Refund hooks: how a cancelled, completed order gets its money back, per payment method.

The card-payment issue registers a handler for ``PaymentMethod.STRIPE`` (and ``SPLIT``). A handler
runs inside the cancelling transaction, before it commits: if it raises, nothing is cancelled.
It should make its external call idempotent (e.g. a Stripe idempotency key of the order number).
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy.orm import Session

from sync_server.audit.services import record
from sync_server.errors import ApiError, Code
from sync_server.orders.models import Order, PaymentMethod

logger = logging.getLogger(__name__)


class RefundHandler(Protocol):
    def __call__(self, session: Session, order: Order) -> None: ...


def _free(session: Session, order: Order) -> None:
    return None  # nothing was paid


def _cash(session: Session, order: Order) -> None:
    # Cash is handed back by a person; the audit entry is the box office's to-do list.
    record(session, action="order.refund_cash_due", entity_type="order", entity_id=order.id,
           event_id=order.event_id, details={"amount_cents": order.total_cents})


_HANDLERS: dict[PaymentMethod, RefundHandler] = {
    PaymentMethod.FREE: _free,
    PaymentMethod.CASH: _cash,
}


def register_refund_handler(method: PaymentMethod, handler: RefundHandler) -> None:
    _HANDLERS[method] = handler


def refund(session: Session, order: Order) -> None:
    """Give the money of ``order`` back, or refuse (409) when no handler knows how."""
    if order.total_cents == 0:
        return
    handler = _HANDLERS.get(order.payment_method)
    if handler is None:
        raise ApiError(409, Code.INVALID_STATE,
                       f"{order.payment_method.value} orders cannot be refunded yet")
    handler(session, order)
    logger.info("order %s refunded (%s, %d cents)", order.order_number,
                order.payment_method.value, order.total_cents)
