"""Split payments (seed 4.2): one order paid by several named payers, each their own share.

The buyer checks out with ``payment_method: SPLIT`` (a PENDING order, its units held) and then
splits it by amount (:func:`create_split`): the hold is lengthened to the split's deadline
(``SYNC_SPLIT_PAYMENT_HOURS``, 24 h by default). Each share has an unguessable link token; the
payer's link opens their own Checkout Session for exactly their share (a destination charge to
the organizer, with the share's part of the platform fee). The order completes, through
``complete_order(method=STRIPE)``, when the last share is paid. A split not fully paid by its
deadline times out (:func:`timeout_split_payments`, run by the jobs worker or
``sync-server payments run-jobs``): the order fails, its hold is released, paid shares are
refunded and open payment pages are expired. A share paid after that is refunded when its
webhook arrives. State machines: docs/payments.md.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import stripe
from flask import current_app, url_for
from sqlalchemy.orm import Session

from sync_server.audit.services import record
from sync_server.db import utcnow
from sync_server.errors import ApiError, Code, not_found, validation_error
from sync_server.events.models import Event
from sync_server.orders.cancellation import cancel_order
from sync_server.orders.models import InventoryHold, Order, PaymentMethod, PaymentStatus
from sync_server.orders.services import PurchaseSettings, complete_order, hold_expires_at
from sync_server.payments import settings as cfg
from sync_server.payments import stripe_reads
from sync_server.payments.models import ShareStatus, SplitPayment, SplitShare, SplitStatus
from sync_server.payments.onboarding import destination_for, provider_error
from sync_server.payments.split_mail import queue_share_links, queue_split_closed

logger = logging.getLogger(__name__)

MIN_SHARE_CENTS = 50  # Stripe's minimum charge (USD); the fake refuses less as Stripe does
MAX_SHARES = 10
SESSION_MINUTES = 31  # Stripe refuses an expires_at less than 30 minutes ahead
SESSION_HOURS_MAX = 23  # ... or more than 24 hours ahead
UNPAID_STATES = (ShareStatus.UNPAID, ShareStatus.OPEN, ShareStatus.CANCELLED)


@dataclass(frozen=True)
class ShareRequest:
    payer_name: str
    payer_email: str
    amount_cents: int


def split_of(session: Session, order_id: int, *, lock: bool = False) -> SplitPayment | None:
    query = sa.select(SplitPayment).where(SplitPayment.order_id == order_id)
    return session.scalar(query.with_for_update() if lock else query)


def share_by_token(session: Session, token: str) -> SplitShare:
    share = session.scalar(sa.select(SplitShare).where(SplitShare.token == token))
    if share is None:
        raise not_found("payment link")
    return share


def _fees(total_fee: int, amounts: Sequence[int], total: int) -> list[int]:
    """The order's platform fee in proportion to the shares; the last takes what is left."""
    parts = [total_fee * amount // total for amount in amounts[:-1]]
    return [*parts, total_fee - sum(parts)]


def _check_shares(order: Order, shares: Sequence[ShareRequest]) -> None:
    errors: dict[str, list[str]] = {}
    if not 2 <= len(shares) <= MAX_SHARES:
        errors["shares"] = [f"split between 2 and {MAX_SHARES} payers"]
    for index, share in enumerate(shares):
        if share.amount_cents < MIN_SHARE_CENTS:
            errors.setdefault(f"shares.{index}.amount_cents", []).append(
                f"each share is at least {MIN_SHARE_CENTS} cents (the card minimum)")
    if sum(s.amount_cents for s in shares) != order.total_cents:
        errors.setdefault("shares", []).append(
            f"the shares must add up to the order's total, {order.total_cents} cents")
    if errors:
        raise validation_error(errors, "the order cannot be split as asked")


def create_split(session: Session, order: Order, shares: Sequence[ShareRequest], *,
                 hours: float, now: datetime | None = None) -> SplitPayment:
    """Split the PENDING ``SPLIT`` order ``order`` among ``shares``; its hold lasts until the
    deadline. Flushes; the caller commits. 409 ``invalid_state`` for an order that is not a
    held split order, 422 for shares that do not add up, 409/503 when card payments cannot be
    taken for the event."""
    now = now or utcnow()
    if order.payment_method is not PaymentMethod.SPLIT:
        raise ApiError(409, Code.INVALID_STATE, "check out with payment_method SPLIT to split")
    held_until = hold_expires_at(session, order)
    if order.payment_status is not PaymentStatus.PENDING or held_until is None \
            or held_until <= now:
        raise ApiError(409, Code.INVALID_STATE, "this order is not held any more: check out again")
    if split_of(session, order.id) is not None:
        raise ApiError(409, Code.INVALID_STATE, "this order is already split")
    _check_shares(order, shares)
    if not cfg.settings().configured:
        raise cfg.not_configured()
    event = session.get(Event, order.event_id)
    assert event is not None
    destination = destination_for(session, event)
    deadline = (now + timedelta(hours=hours)).replace(microsecond=0)
    fees = _fees(order.fees_cents, [s.amount_cents for s in shares], order.total_cents)
    split = SplitPayment(order_id=order.id, destination=destination,
                         currency=cfg.settings().currency, deadline=deadline,
                         status=SplitStatus.OPEN, created_at=now, updated_at=now, shares=[
        SplitShare(payer_name=s.payer_name, payer_email=s.payer_email.strip().lower(),
                   amount_cents=s.amount_cents, fee_cents=fee, token=secrets.token_urlsafe(32),
                   status=ShareStatus.UNPAID, created_at=now, updated_at=now)
        for s, fee in zip(shares, fees, strict=True)])
    session.add(split)
    session.execute(sa.update(InventoryHold)
                    .where(InventoryHold.order_id == order.id,
                           InventoryHold.released_at.is_(None))
                    .values(expires_at=deadline))
    session.flush()
    order.split_payment_id = f"split-{split.id}"
    queue_share_links(session, split, now)  # each payer's link, sent once this commits
    record(session, action="order.split", entity_type="order", entity_id=order.id,
           event_id=order.event_id, details={"shares": [s.amount_cents for s in shares],
                                             "deadline": deadline.isoformat()})
    logger.info("order %s split %d ways until %s", order.order_number, len(shares), deadline)
    return split


def _session_params(order: Order, split: SplitPayment, share: SplitShare) -> dict[str, Any]:
    page = url_for("split_pages.share", token=share.token, _external=True)  # the payer's page
    assert share.session_expires_at is not None
    metadata = {"order_id": str(order.id), "share_id": str(share.id),
                "order_number": order.order_number}
    intent: dict[str, Any] = {"transfer_data": {"destination": split.destination},
                              "metadata": metadata,
                              "description": f"Order {order.order_number}, share {share.id}"}
    if share.fee_cents:
        intent["application_fee_amount"] = share.fee_cents
    return {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": split.currency, "unit_amount": share.amount_cents,
            "product_data": {"name": f"{share.payer_name}'s share – order {order.order_number}"}}}],
        "success_url": page + "?paid=1", "cancel_url": page,
        "expires_at": int(share.session_expires_at.timestamp()),
        "customer_email": share.payer_email,
        "client_reference_id": str(order.id),
        "metadata": metadata,
        "payment_intent_data": intent,
    }


def open_share_payment(session: Session, share: SplitShare, now: datetime | None = None) -> str:
    """The URL of the share's payment page: its open Checkout Session, or a new one (one per
    attempt, each under its own idempotency key). Commits. 409 for a share paid or a split
    closed; 503 (retryable) when Stripe does not answer."""
    now = now or utcnow()
    split = session.scalar(sa.select(SplitPayment).where(SplitPayment.id == share.split_id)
                           .with_for_update())
    session.refresh(share, with_for_update=True)
    assert split is not None
    if share.status is ShareStatus.OPEN and share.session_expires_at is not None \
            and share.session_expires_at <= now + timedelta(minutes=1):
        reconcile_share(session, share)  # its page lapsed (or was paid and not yet heard of)
    if share.status is ShareStatus.PAID or share.status is ShareStatus.REFUNDED:
        raise ApiError(409, Code.INVALID_STATE, "this share is already paid")
    order = session.get(Order, split.order_id)
    assert order is not None
    if split.status is not SplitStatus.OPEN or split.deadline <= now \
            or order.payment_status is not PaymentStatus.PENDING:  # (e.g. the buyer abandoned it)
        raise ApiError(409, Code.INVALID_STATE, "this split payment is closed")
    if share.status is ShareStatus.UNPAID:
        share.attempt += 1
        share.checkout_session_id = None
        latest = min(split.deadline, now + timedelta(hours=SESSION_HOURS_MAX))
        share.session_expires_at = max(latest, now + timedelta(minutes=SESSION_MINUTES)) \
            .replace(microsecond=0)
        share.status = ShareStatus.OPEN
    session.commit()  # the same parameters on every retry of this attempt
    try:
        created = cfg.client().v1.checkout.sessions.create(
            params=_session_params(order, split, share),  # type: ignore[arg-type]
            options={"idempotency_key": f"share-{share.id}-checkout-{share.attempt}"})
    except stripe.StripeError as error:
        raise provider_error(error, "opening the share's payment page") from error
    if share.checkout_session_id is None:
        share.checkout_session_id = created.id
        session.commit()
    if created.url is None:
        raise ApiError(409, Code.INVALID_STATE, "this share's payment page is closed")
    return str(created.url)


# --- Stripe's word about a share --------------------------------------------------------------


def refund_share(session: Session, share: SplitShare, reason: str) -> None:
    """Give a paid share back whole (the organizer's part and our fee), once per share."""
    if share.status is not ShareStatus.PAID or share.payment_intent_id is None:
        return
    cfg.client().v1.refunds.create(params={
        "payment_intent": share.payment_intent_id, "reverse_transfer": True,
        "refund_application_fee": True,
        "metadata": {"share_id": str(share.id), "reason": reason[:200]}},
        options={"idempotency_key": f"share-{share.id}-refund"})
    share.refunded_cents = share.amount_cents
    share.status = ShareStatus.REFUNDED
    split = session.get(SplitPayment, share.split_id)
    record(session, action="payment.refund_share", entity_type="order",
           entity_id=split.order_id if split else None,
           details={"share_id": share.id, "amount_cents": share.amount_cents, "reason": reason})
    logger.info("share %s refunded (%s)", share.id, reason)


def _fail_split(session: Session, split: SplitPayment, status: SplitStatus, reason: str,
                now: datetime) -> None:
    """Close the split: the order fails (hold released), paid shares are refunded, the buyer
    is told by e-mail."""
    split.status, split.settled_at = status, now
    order = session.get(Order, split.order_id)
    if order is not None and order.payment_status is PaymentStatus.PENDING:
        cancel_order(session, order, by_user=None, reason=reason, now=now)
    for share in split.shares:
        if share.status is ShareStatus.UNPAID:
            share.status = ShareStatus.CANCELLED
        refund_share(session, share, reason)
    queue_split_closed(session, split, now)


def _complete(session: Session, split: SplitPayment, now: datetime) -> bool:
    """Every share paid: complete the order (or refund them all if its tickets are gone)."""
    order = session.get(Order, split.order_id)
    assert order is not None
    if order.payment_status is PaymentStatus.PENDING:
        settings = PurchaseSettings.from_config(current_app.extensions["sync_config"])
        try:
            with session.begin_nested():
                outcome = complete_order(session, order, method=PaymentMethod.STRIPE,
                                         settings=settings, now=now)
            split.status, split.settled_at = SplitStatus.COMPLETED, now
            return outcome.completed_now
        except ApiError as error:
            logger.warning("order %s: every share paid but it cannot complete (%s): refunding",
                           order.order_number, error.code)
            session.refresh(order)
    if order.payment_status is PaymentStatus.COMPLETED:
        split.status, split.settled_at = SplitStatus.COMPLETED, now
        return False
    _fail_split(session, split, SplitStatus.FAILED, "paid after the tickets were gone", now)
    return False


def reconcile_share(session: Session, share: SplitShare,
                    checkout_session_id: str | None = None, checkout: Any = None) -> bool:
    """Move the share (and its split and order) to what Stripe says of its session
    (``checkout``, read before the lock by a webhook; else read now). The caller holds the
    split's row lock. Returns True when the order completed now."""
    now = utcnow()
    session_id = checkout_session_id or share.checkout_session_id
    if session_id is None:
        return False
    split = session.get(SplitPayment, share.split_id)
    assert split is not None
    if checkout is None or checkout.id != session_id:
        checkout = stripe_reads.read_session(session_id)
    if checkout.payment_status == "paid":
        intent: Any = checkout.payment_intent
        charge: Any = intent["latest_charge"] if intent is not None else None
        if session_id != share.checkout_session_id and share.status is ShareStatus.PAID:
            # an older page of this share paid too: that payment is not needed, give it back
            cfg.client().v1.refunds.create(
                params={"payment_intent": intent["id"], "reverse_transfer": True,
                        "refund_application_fee": True},
                options={"idempotency_key": f"share-{share.id}-refund-{session_id}"})
            return False
        if share.status in UNPAID_STATES:
            share.checkout_session_id = session_id
            share.payment_intent_id = intent["id"] if intent is not None else None
            share.charge_id = charge["id"] if charge is not None else None
            share.status, share.paid_at = ShareStatus.PAID, now
            logger.info("share %s paid (%d cents)", share.id, share.amount_cents)
            if split.status is SplitStatus.OPEN:
                if all(s.status is ShareStatus.PAID for s in split.shares):
                    return _complete(session, split, now)
                return False
        if share.status is ShareStatus.PAID and split.status in (SplitStatus.TIMED_OUT,
                                                                   SplitStatus.FAILED):
            refund_share(session, share, "paid after the split payment closed")
        return False
    if checkout.status == "expired" and share.status is ShareStatus.OPEN \
            and session_id == share.checkout_session_id:
        share.status = (ShareStatus.UNPAID if split.status is SplitStatus.OPEN
                        else ShareStatus.CANCELLED)
    return False


def on_share_event(session: Session, share_id: int, checkout_session_id: str | None,
                   checkout: Any) -> bool:
    """A webhook about a share: locks the split (one share event of an order at a time, so
    the last two shares paid at once complete the order once), then moves the share to
    ``checkout`` (its session, read from Stripe before the lock)."""
    share = session.get(SplitShare, share_id)
    if share is None:
        return False
    session.scalar(sa.select(SplitPayment.id).where(SplitPayment.id == share.split_id)
                   .with_for_update())
    session.refresh(share)
    return reconcile_share(session, share, checkout_session_id, checkout)


@dataclass
class TimeoutResult:
    timed_out: int = 0
    refunded: int = 0
    errors: int = 0


def timeout_split_payments(session: Session, now: datetime | None = None, *,
                           limit: int = 100) -> TimeoutResult:
    """Time out the split payments past their deadline (the jobs worker calls this): each in
    its own transaction, the order failed and its hold released, its paid shares refunded
    (idempotency key per share), its open pages expired at Stripe. A split whose refunds
    failed (Stripe down) is picked up again on the next run. Commits."""
    now = now or utcnow()
    result = TimeoutResult()
    paid_left = sa.select(SplitShare.id).where(SplitShare.split_id == SplitPayment.id,
                                                SplitShare.status == ShareStatus.PAID).exists()
    due = list(session.scalars(
        sa.select(SplitPayment.id)
        .where(sa.or_(sa.and_(SplitPayment.status == SplitStatus.OPEN,
                              SplitPayment.deadline <= now),
                      sa.and_(SplitPayment.status.in_([SplitStatus.TIMED_OUT,
                                                       SplitStatus.FAILED]), paid_left)))
        .order_by(SplitPayment.deadline).limit(limit)))
    session.rollback()
    for split_id in due:
        try:
            result.refunded += _time_out(session, split_id, now, result)
            session.commit()
        except (stripe.StripeError, ApiError) as error:
            session.rollback()
            result.errors += 1
            logger.warning("split %s: timing out failed, retried on the next run: %r",
                           split_id, error)
    return result


def _time_out(session: Session, split_id: int, now: datetime, result: TimeoutResult) -> int:
    split = session.scalar(sa.select(SplitPayment).where(SplitPayment.id == split_id)
                           .with_for_update())
    if split is None:
        return 0
    paid = [s for s in split.shares if s.status is ShareStatus.PAID]
    if split.status is SplitStatus.OPEN:
        if split.deadline > now:
            return 0
        for share in split.shares:
            if share.status is ShareStatus.OPEN and share.checkout_session_id:
                _expire_page(share.checkout_session_id)
                share.status = ShareStatus.CANCELLED  # a payment still made is refunded
        _fail_split(session, split, SplitStatus.TIMED_OUT, "split payment not paid in time", now)
        result.timed_out += 1
        logger.info("split %s of order %s timed out: %d paid shares refunded", split.id,
                    split.order_id, len(paid))
    else:
        for share in paid:
            refund_share(session, share, "split payment closed")
    return len(paid)


def _expire_page(checkout_session_id: str) -> None:
    """Close a share's payment page; one that was paid meanwhile is refunded by its webhook."""
    try:
        cfg.client().v1.checkout.sessions.expire(checkout_session_id)
    except stripe.InvalidRequestError as error:
        logger.info("checkout session %s not expired (%s): its webhook settles it",
                    checkout_session_id, error.code)
    except stripe.StripeError as error:
        logger.warning("checkout session %s could not be expired: %r", checkout_session_id, error)
