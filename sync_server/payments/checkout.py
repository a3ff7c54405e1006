"""Card checkout: one hosted Stripe Checkout Session per order, a destination charge.

The buyer pays the order's total; ``application_fee_amount`` is the order's platform fee (as
``orders.pricing`` computed it for the event) and the rest reaches the organizer's account
(``transfer_data.destination``). The order id travels in both the session's and the
PaymentIntent's metadata, and the session is created under one idempotency key per order, so a
retry after a lost answer or an outage gets the same session: the buyer can never pay twice.

Stripe wants ``expires_at`` at least 30 minutes ahead, and the purchase engine holds for less
(10 minutes by default): a card order's holds are lengthened to the session's expiry, so the
hold and the payment page lapse together (docs/payments.md).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import stripe
from flask import url_for
from sqlalchemy.orm import Session

from sync_server.db import utcnow
from sync_server.errors import ApiError, Code
from sync_server.events.models import Event
from sync_server.orders.cancellation import cancel_order
from sync_server.orders.models import InventoryHold, Order, PaymentMethod, PaymentStatus
from sync_server.orders.services import hold_expires_at
from sync_server.payments import settings as cfg
from sync_server.payments.models import CardPayment, CardStatus
from sync_server.payments.onboarding import destination_for, provider_error

logger = logging.getLogger(__name__)

# Stripe's floor is 30 minutes ahead of its clock: a minute more for the time on the wire.
SESSION_MINUTES = 31


def payment_of(session: Session, order_id: int, *, lock: bool = False) -> CardPayment | None:
    """The order's card payment; ``lock``: held until the commit, as webhooks take it first
    (so a refund's own ``charge.refunded`` waits for the refunding transaction)."""
    query = sa.select(CardPayment).where(CardPayment.order_id == order_id)
    return session.scalar(query.with_for_update() if lock else query)


def _refuse_and_release(session: Session, order: Order, error: ApiError) -> ApiError:
    """The order cannot be paid by card at all: fail it (its hold goes back on sale)."""
    cancel_order(session, order, by_user=None, reason=error.code)
    session.commit()
    return error


def _begin(session: Session, order: Order, now: datetime) -> CardPayment:
    """The payment row, and the order's holds lengthened to the session's expiry; committed
    before Stripe is called, so an outage leaves the hold (and the same parameters) in place."""
    found = cfg.settings()
    event = session.get(Event, order.event_id)
    assert event is not None
    try:
        if not found.configured:
            raise cfg.not_configured()
        destination = destination_for(session, event)
    except ApiError as error:
        raise _refuse_and_release(session, order, error) from None
    held_until = hold_expires_at(session, order) or now
    expires = max(held_until, now + timedelta(minutes=SESSION_MINUTES)).replace(microsecond=0)
    payment = CardPayment(order_id=order.id, destination=destination, currency=found.currency,
                          amount_cents=order.total_cents, fee_cents=order.fees_cents,
                          expires_at=expires, status=CardStatus.STARTING)
    session.add(payment)
    session.execute(sa.update(InventoryHold)
                    .where(InventoryHold.order_id == order.id,
                           InventoryHold.released_at.is_(None))
                    .values(expires_at=expires))
    session.commit()
    return payment


def session_params(order: Order, payment: CardPayment) -> dict[str, Any]:
    """What Stripe is asked for: the same on every attempt for this order."""
    if order.guest_token is None:
        page = url_for("orders.order_page", order_id=order.id, _external=True)
    else:  # a guest comes back to the order's private link
        page = url_for("orders.guest_order_page", order_number=order.order_number,
                       token=order.guest_token, _external=True)
    metadata = {"order_id": str(order.id), "order_number": order.order_number}
    lines = [("Tickets", order.total_cents - order.fees_cents), ("Service fee", order.fees_cents)]
    intent: dict[str, Any] = {"transfer_data": {"destination": payment.destination},
                              "metadata": metadata,
                              "description": f"Order {order.order_number}"}
    if payment.fee_cents:
        intent["application_fee_amount"] = payment.fee_cents
    return {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": payment.currency, "unit_amount": cents,
            "product_data": {"name": f"{name} – order {order.order_number}"}}}
            for name, cents in lines if cents > 0],
        "success_url": page + "?session={CHECKOUT_SESSION_ID}",
        "cancel_url": page,
        "expires_at": int(payment.expires_at.timestamp()),
        "client_reference_id": str(order.id),
        "metadata": metadata,
        "payment_intent_data": intent,
    }


def start_card_payment(session: Session, order: Order) -> str:
    """The URL of the order's hosted payment page (a Checkout Session), made once per order.

    Commits (the payment row before Stripe is called, its session id after). Raises
    ``payments_not_configured`` (503) or ``payments_not_ready`` (409) and fails the order when
    it cannot be paid by card at all; ``payment_provider_unavailable`` (503, retryable: the hold
    stays, call again) when Stripe does not answer; ``invalid_state`` (409) for an order that is
    no longer waiting for its payment.
    """
    if order.payment_method is not PaymentMethod.STRIPE:
        raise ApiError(409, Code.INVALID_STATE, "this order is not paid by card")
    now = utcnow()
    payment = payment_of(session, order.id)
    if order.payment_status is not PaymentStatus.PENDING and (
            payment is None or payment.status in (CardStatus.STARTING, CardStatus.OPEN)):
        # (e.g. failed when its page could not be opened: the buyer checks out again)
        raise ApiError(409, Code.INVALID_STATE, "this order is not waiting for a payment")
    if payment is None:
        payment = _begin(session, order, now)
    if payment.status not in (CardStatus.STARTING, CardStatus.OPEN):
        raise ApiError(409, Code.INVALID_STATE,
                       f"this order's card payment is {payment.status.value.lower()}")
    try:
        created = cfg.client().v1.checkout.sessions.create(
            params=session_params(order, payment),  # type: ignore[arg-type]
            options={"idempotency_key": f"order-{order.id}-checkout"})
    except stripe.StripeError as error:
        raise provider_error(error, "opening the card payment page") from error
    if payment.checkout_session_id is None:
        payment.checkout_session_id = created.id
        payment.status = CardStatus.OPEN
        session.commit()
        logger.info("order %s: checkout session %s (%d cents, fee %d, to %s)",
                    order.order_number, created.id, payment.amount_cents, payment.fee_cents,
                    payment.destination)
    if created.url is None:  # completed or expired meanwhile: the webhook settles it
        raise ApiError(409, Code.INVALID_STATE, "this order's payment page is closed")
    return str(created.url)
