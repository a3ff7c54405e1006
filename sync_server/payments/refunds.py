"""Card refunds: a whole order the organizer cancels (``orders.refunds`` hook for STRIPE), or
some of its tickets (:func:`refund_tickets`).

Runs inside the cancelling transaction: if Stripe refuses or is unreachable, the error
propagates and nothing is cancelled. The refund gives the organizer's share back from their
account (``reverse_transfer``) and our fee too (``refund_application_fee``); its idempotency key
is the order's, so a retried cancellation never refunds twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
import stripe
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.audit.services import record
from sync_server.db import utcnow
from sync_server.errors import ApiError, Code, validation_error
from sync_server.keys.services import revoke_ticket
from sync_server.orders import holds
from sync_server.orders.models import Order, PaymentMethod, PaymentStatus
from sync_server.orders.pricing import round_half_up
from sync_server.payments import settings as cfg
from sync_server.payments.checkout import payment_of
from sync_server.payments.models import CardStatus
from sync_server.payments.onboarding import provider_error
from sync_server.payments.splits import refund_share, split_of
from sync_server.tickets.models import TicketInstance, TicketStatus


def refund_card_order(session: Session, order: Order) -> None:
    """Refund a cancelled card order whole now (a split order: each paid share)."""
    split = split_of(session, order.id, lock=True)
    if split is not None:
        try:
            for share in split.shares:
                refund_share(session, share, "order cancelled")
        except stripe.StripeError as error:
            raise provider_error(error, "refunding the shares") from error
        session.flush()
        return
    payment = payment_of(session, order.id, lock=True)
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


def _share(order: Order, ticket: TicketInstance) -> int:
    """What the buyer paid for one ticket: its price's share of the order's total (discount
    and fee included), rounded half up."""
    item = next((i for i in order.items if i.ticket_type_id == ticket.ticket_type_id
                 and i.bundle_id is None), None)
    if item is None or ticket.bundle_id is not None:
        raise validation_error({"ticket_ids": [f"ticket {ticket.id} is part of a bundle: "
                                               "cancel the whole order instead"]})
    return round_half_up(order.total_cents * item.price_per_item_cents,
                         max(order.subtotal_cents, 1))


def refund_tickets(session: Session, order: Order, ticket_ids: Sequence[int], *, by_user: User,
                   reason: str) -> int:
    """Refund some tickets of a paid card order: each ticket's share of what was paid goes back
    (with the organizer's transfer and our fee, in proportion), the tickets are cancelled and
    revoked for the doors, their units go back on sale. The last tickets of an order refund
    what is left, and the order becomes REFUNDED. Returns the cents refunded."""
    now = utcnow()
    payment = payment_of(session, order.id, lock=True)
    if (order.payment_method is not PaymentMethod.STRIPE or payment is None
            or order.payment_status is not PaymentStatus.COMPLETED
            or payment.status is not CardStatus.PAID):
        raise ApiError(409, Code.INVALID_STATE, "only a paid card order's tickets are refunded "
                       "here; its payment is not (or no longer) paid")
    tickets = list(session.scalars(
        sa.select(TicketInstance).where(TicketInstance.order_id == order.id,
                                        TicketInstance.id.in_(ticket_ids))
        .with_for_update()))
    unusable = sorted(set(ticket_ids) - {t.id for t in tickets if t.status is TicketStatus.VALID})
    if unusable:
        raise validation_error({"ticket_ids": [f"not valid tickets of this order: {unusable}"]})
    left = session.scalar(sa.select(sa.func.count()).select_from(TicketInstance).where(
        TicketInstance.order_id == order.id, TicketInstance.status == TicketStatus.VALID))
    remaining = payment.amount_cents - payment.refunded_cents
    last = left == len(tickets)
    amount = remaining if last else min(sum(_share(order, t) for t in tickets), remaining)
    key = f"order-{order.id}-refund-{'-'.join(str(i) for i in sorted(ticket_ids))}"
    try:
        cfg.client().v1.refunds.create(params={
            "payment_intent": str(payment.payment_intent_id), "amount": amount,
            "reverse_transfer": True, "refund_application_fee": True,
            "reason": "requested_by_customer",
            "metadata": {"order_id": str(order.id), "tickets": ",".join(map(str, ticket_ids))}},
            options={"idempotency_key": key})
    except stripe.StripeError as error:
        raise provider_error(error, "refunding the tickets") from error
    for ticket in tickets:
        ticket.status = TicketStatus.CANCELLED
        ticket.cancelled_at = now
        revoke_ticket(session, event_id=order.event_id, ticket_instance_id=ticket.id,
                      reason="refunded", user_id=by_user.id)
    holds.unsell(session, sold=dict(Counter(
        holds.stock_of(t.ticket_type_id, None) for t in tickets)))
    payment.refunded_cents += amount
    if last:
        payment.status = CardStatus.REFUNDED
        order.payment_status = PaymentStatus.REFUNDED
        order.updated_at = now
    record(session, action="order.refund_tickets", entity_type="order", entity_id=order.id,
           user=by_user, event_id=order.event_id,
           details={"tickets": sorted(ticket_ids), "amount_cents": amount, "reason": reason})
    session.flush()
    return amount
