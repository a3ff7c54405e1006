"""Refunding a card order that the organizer cancels (``orders.refunds`` hook for STRIPE).

Runs inside the cancelling transaction: if Stripe refuses or is unreachable, the error
propagates and nothing is cancelled. The refund gives the organizer's share back from their
account (``reverse_transfer``) and our fee too (``refund_application_fee``); its idempotency key
is the order's, so a retried cancellation never refunds twice.
"""

from __future__ import annotations

import stripe
from sqlalchemy.orm import Session

from sync_server.errors import ApiError, Code
from sync_server.orders.models import Order
from sync_server.payments import settings as cfg
from sync_server.payments.checkout import payment_of
from sync_server.payments.models import CardStatus
from sync_server.payments.onboarding import provider_error


def refund_card_order(session: Session, order: Order) -> None:
    payment = payment_of(session, order.id)
    if payment is None or payment.payment_intent_id is None:
        raise ApiError(409, Code.INVALID_STATE, "this order has no card payment to refund")
    if payment.status is CardStatus.REFUNDED:
        return
    if payment.status is CardStatus.DISPUTED:
        raise ApiError(409, Code.INVALID_STATE,
                       "this payment is disputed: its bank decides, it cannot be refunded")
    try:
        cfg.client().v1.refunds.create(params={
            "payment_intent": payment.payment_intent_id, "reverse_transfer": True,
            "refund_application_fee": True, "reason": "requested_by_customer",
            "metadata": {"order_id": str(order.id)}},
            options={"idempotency_key": f"order-{order.id}-refund-all"})
    except stripe.StripeError as error:
        raise provider_error(error, "refunding the card payment") from error
    payment.refunded_cents = payment.amount_cents
    payment.status = CardStatus.REFUNDED
    session.flush()
