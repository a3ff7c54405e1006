"""Stripe webhooks: verified, each event id processed once, safe in any order and on retries.

``receive`` checks the signature (``stripe.Webhook.construct_event``, 300 s tolerance), then
inserts the event id into ``stripe_events`` with ``ON CONFLICT DO NOTHING`` in the same
transaction as its effect: a redelivery (even one racing the first on PostgreSQL, which waits on
the unique key) finds the id and does nothing. If handling fails, nothing is kept and Stripe
retries. Handlers never trust the event's copy of an object (a late event shows an old state):
they read the session or account from Stripe and move our rows to match it (``reconcile``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import stripe
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sync_server.audit.services import record
from sync_server.db import utcnow
from sync_server.errors import ApiError
from sync_server.orders.cancellation import cancel_order
from sync_server.orders.models import Order, PaymentMethod, PaymentStatus
from sync_server.orders.services import Outcome, PurchaseSettings, complete_order
from sync_server.payments import settings as cfg
from sync_server.payments import splits
from sync_server.payments.checkout import payment_of
from sync_server.payments.models import CardPayment, CardStatus, ConnectedAccount, StripeEvent
from sync_server.payments.onboarding import provider_error, record_status

logger = logging.getLogger(__name__)

BAD_SIGNATURE = "invalid_signature"
Obj = dict[str, Any]


@dataclass
class Handled:
    completed: bool = False  # an order completed (its e-mail goes after the commit)
    duplicate: bool = False


def verify(payload: bytes, signature: str | None) -> Obj:
    found = cfg.settings()
    if found.webhook_secret is None:
        raise cfg.not_configured()
    try:
        stripe.Webhook.construct_event(payload, signature or "", found.webhook_secret,
                                       tolerance=found.webhook_tolerance)
    except (ValueError, stripe.SignatureVerificationError) as error:
        raise ApiError(400, BAD_SIGNATURE,
                       f"the Stripe-Signature header does not verify this body: {error}") from None
    event: Obj = json.loads(payload)
    return event


def _first_time(session: Session, event: Obj) -> bool:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = session.execute(
        dialect.insert(StripeEvent)
        .values(id=str(event["id"]), type=str(event["type"])[:100], received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["id"]).returning(StripeEvent.id))
    return inserted.first() is not None


def receive(session: Session, payload: bytes, signature: str | None) -> Handled:
    """Verify and process one delivery; the caller commits, then sends the queued mail."""
    event = verify(payload, signature)
    if not _first_time(session, event):
        logger.info("stripe event %s (%s) seen before: nothing to do", event["id"], event["type"])
        return Handled(duplicate=True)
    handler = HANDLERS.get(str(event["type"]))
    if handler is None:
        return Handled()
    try:
        return handler(session, event["data"]["object"])
    except stripe.StripeError as error:
        raise provider_error(error, f"handling {event['type']}") from error


# --- the adapter to the purchase engine ----------------------------------------------------------


def _complete_paid_order(session: Session, order_id: int, payment: CardPayment) -> Outcome:
    """Complete a paid order through the orders domain (the ONE call to it from here)."""
    order = session.get(Order, order_id)
    assert order is not None
    settings = PurchaseSettings.from_config(current_app.extensions["sync_config"])
    order.stripe_payment_intent_id = payment.payment_intent_id
    order.stripe_charge_id = payment.charge_id
    return complete_order(session, order, method=PaymentMethod.STRIPE, settings=settings)


# --- reconciling with Stripe's current state ------------------------------------------------------


def _fail_order(session: Session, order_id: int, reason: str) -> None:
    order = session.get(Order, order_id)
    if order is not None and order.payment_status is PaymentStatus.PENDING:
        cancel_order(session, order, by_user=None, reason=reason)


def _refund_everything(session: Session, payment: CardPayment, reason: str) -> None:
    """Give a payment back whole (the organizer's share and our fee), once per order."""
    cfg.client().v1.refunds.create(params={
        "payment_intent": str(payment.payment_intent_id), "reverse_transfer": True,
        "refund_application_fee": True, "metadata": {"order_id": str(payment.order_id),
                                                     "reason": reason}},
        options={"idempotency_key": f"order-{payment.order_id}-refund-all"})
    payment.refunded_cents = payment.amount_cents
    payment.status = CardStatus.REFUNDED
    record(session, action="payment.refund", entity_type="order", entity_id=payment.order_id,
           details={"reason": reason, "amount_cents": payment.amount_cents})


def _settle_paid(session: Session, payment: CardPayment) -> bool:
    """Paid: complete the order if its tickets are still there, else refund it all."""
    order = session.get(Order, payment.order_id)
    assert order is not None
    if order.payment_status is PaymentStatus.COMPLETED:
        payment.status = CardStatus.PAID
        return False
    if order.payment_status is PaymentStatus.PENDING:
        try:
            with session.begin_nested():
                outcome = _complete_paid_order(session, order.id, payment)
            payment.status = CardStatus.PAID
            return outcome.completed_now
        except ApiError as error:  # sold out after the hold lapsed, code used up, ...
            logger.warning("order %s paid but cannot complete (%s): refunding",
                           order.order_number, error.code)
            session.refresh(order)
    _refund_everything(session, payment, "tickets_gone")
    _fail_order(session, order.id, "paid after the tickets were gone: refunded")
    return False


def reconcile(session: Session, payment: CardPayment) -> Handled:
    """Move our payment and order to what Stripe says now about the order's session."""
    if payment.checkout_session_id is None:
        return Handled()
    checkout = cfg.client().v1.checkout.sessions.retrieve(
        payment.checkout_session_id, params={"expand": ["payment_intent.latest_charge"]})
    if checkout.payment_status == "paid":
        intent: Any = checkout.payment_intent
        charge: Any = intent["latest_charge"] if intent is not None else None
        payment.payment_intent_id = intent["id"] if intent is not None else None
        payment.charge_id = charge["id"] if charge is not None else None
        refunded = int(charge["amount_refunded"]) if charge is not None else 0
        payment.refunded_cents = max(payment.refunded_cents, refunded)
        completed = False
        if payment.status in (CardStatus.STARTING, CardStatus.OPEN, CardStatus.EXPIRED):
            if refunded >= payment.amount_cents:  # refunded before we ever completed it
                payment.status = CardStatus.REFUNDED
                _fail_order(session, payment.order_id, "refunded before completion")
            else:
                completed = _settle_paid(session, payment)
        elif refunded >= payment.amount_cents and payment.status is not CardStatus.REFUNDED:
            # Refunded whole outside our own flow (Stripe's dashboard, or a cancellation that
            # rolled back after Stripe refunded): the tickets must not stay valid.
            payment.status = CardStatus.REFUNDED
            order = session.get(Order, payment.order_id)
            if order is not None and order.payment_status is PaymentStatus.COMPLETED:
                cancel_order(session, order, by_user=None, reason="refunded at Stripe")
        if charge is not None and charge["disputed"] and payment.status is CardStatus.PAID:
            payment.status = CardStatus.DISPUTED
        return Handled(completed=completed)
    if checkout.status == "expired" and payment.status in (CardStatus.STARTING, CardStatus.OPEN):
        payment.status = CardStatus.EXPIRED
        _fail_order(session, payment.order_id, "the card payment page expired")
    return Handled()


def _payment_for(session: Session, obj: Obj) -> CardPayment | None:
    if obj.get("object") == "checkout.session":
        found = session.scalar(sa.select(CardPayment)
                               .where(CardPayment.checkout_session_id == str(obj["id"])))
        if found is not None:
            return found
    order_id = str((obj.get("metadata") or {}).get("order_id") or "")
    if order_id.isdigit() and int(order_id) < 2**31:
        return payment_of(session, int(order_id))
    intent = obj["id"] if obj.get("object") == "payment_intent" else obj.get("payment_intent")
    if isinstance(intent, str):
        found = session.scalar(sa.select(CardPayment)
                               .where(CardPayment.payment_intent_id == intent))
        if found is None:  # not yet known here (an early dispute): Stripe's copy has the order
            fetched = cfg.client().v1.payment_intents.retrieve(intent)
            metadata: Any = fetched.metadata or {}
            return _payment_for(session, {"metadata": {**metadata}})
        return found
    return None


def _on_payment(session: Session, obj: Obj) -> Handled:
    share = splits.share_for(session, obj)
    if share is not None:  # one payer's share of a split order
        return Handled(completed=splits.on_share_event(session, share, obj))
    payment = _payment_for(session, obj)
    if payment is None:
        logger.warning("stripe %s %s names no order of ours: ignored", obj.get("object"),
                       obj.get("id"))
        return Handled()
    # One event per payment at a time, and after any refund in flight (refunds.py locks first).
    session.refresh(payment, with_for_update=True)
    return reconcile(session, payment)


def _on_dispute(session: Session, obj: Obj) -> Handled:
    handled = _on_payment(session, obj)
    payment = _payment_for(session, obj)
    if payment is not None:
        record(session, action="payment.dispute", entity_type="order",
               entity_id=payment.order_id,
               details={"dispute": obj.get("id"), "reason": obj.get("reason")})
    return handled


def _on_account(session: Session, obj: Obj) -> Handled:
    row = session.scalar(sa.select(ConnectedAccount)
                         .where(ConnectedAccount.stripe_account_id == str(obj.get("id"))))
    if row is None:
        logger.warning("stripe account %s is not connected here: ignored", obj.get("id"))
        return Handled()
    record_status(row, cfg.client().v1.accounts.retrieve(row.stripe_account_id))
    logger.info("account %s: charges_enabled=%s", row.stripe_account_id, row.charges_enabled)
    return Handled()


def _on_failed_attempt(session: Session, obj: Obj) -> Handled:
    # A declined card: the buyer may try again on the same page until it expires.
    logger.info("payment intent %s: an attempt failed (%s)", obj.get("id"),
                (obj.get("last_payment_error") or {}).get("code"))
    return Handled()


HANDLERS: dict[str, Callable[[Session, Obj], Handled]] = {
    "checkout.session.completed": _on_payment,
    "checkout.session.expired": _on_payment,
    "payment_intent.succeeded": _on_payment,
    "payment_intent.payment_failed": _on_failed_attempt,
    "charge.refunded": _on_payment,
    "charge.dispute.created": _on_dispute,
    "account.updated": _on_account,
}
