"""Organizers' Stripe Express accounts: connect, onboarding links, whether charges are enabled.

An event with paid ticket types or bundles is published only once its organizer's account takes
charges (:func:`check_publishable`, a receiver of ``signals.event_publishing``). While card
payments are not configured at all the server sells no card tickets, and publishing is not
held back (paid events then sell at the door, in cash).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import sqlalchemy as sa
import stripe
from flask import url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.errors import ApiError
from sync_server.events.models import Bundle, Event, TicketType
from sync_server.payments import settings as cfg
from sync_server.payments.models import ConnectedAccount

logger = logging.getLogger(__name__)

NOT_READY = "payments_not_ready"
UNAVAILABLE = "payment_provider_unavailable"
REFUSED = "payment_refused"


def provider_error(error: stripe.StripeError, doing: str) -> ApiError:
    """A Stripe failure as our envelope: unreachable or failing -> 503 (try again), a refused
    request -> 409 with Stripe's words."""
    if isinstance(error, stripe.InvalidRequestError | stripe.PermissionError
                  | stripe.CardError | stripe.IdempotencyError):
        return ApiError(409, REFUSED, f"Stripe refused {doing}: {error.user_message or error}")
    logger.warning("Stripe failed while %s: %r", doing, error)
    return ApiError(503, UNAVAILABLE,
                    f"the card payment service did not answer while {doing}; try again in a "
                    "moment", headers={"Retry-After": "5"})


def account_of(session: Session, user_id: int) -> ConnectedAccount | None:
    return session.scalar(sa.select(ConnectedAccount).where(ConnectedAccount.user_id == user_id))


def _links(row: ConnectedAccount) -> tuple[str, str]:
    back = url_for("api_v1.payments_onboarding_return", token=row.link_token, _external=True)
    again = url_for("api_v1.payments_onboarding_refresh", token=row.link_token, _external=True)
    return back, again


def onboarding_link(row: ConnectedAccount) -> str:
    """A fresh single-use Account Link (they expire within minutes: made on each request)."""
    back, again = _links(row)
    try:
        link = cfg.client().v1.account_links.create(params={
            "account": row.stripe_account_id, "type": "account_onboarding",
            "return_url": back, "refresh_url": again})
    except stripe.StripeError as error:
        raise provider_error(error, "making an onboarding link") from error
    return str(link.url)


def connect(session: Session, user: User) -> ConnectedAccount:
    """The user's connected account, created at Stripe the first time (idempotent per user)."""
    row = account_of(session, user.id)
    if row is not None:
        return row
    try:
        account = cfg.client().v1.accounts.create(params={
            "type": "express", "email": user.email,
            "capabilities": {"card_payments": {"requested": True},
                             "transfers": {"requested": True}},
            "metadata": {"user_id": str(user.id)},
        }, options={"idempotency_key": f"connect-user-{user.id}"})
    except stripe.StripeError as error:
        raise provider_error(error, "creating your payment account") from error
    row = ConnectedAccount(user_id=user.id, stripe_account_id=account.id,
                           link_token=secrets.token_urlsafe(32))
    record_status(row, account)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # a second click at once: the same account (same idempotency key)
        found = account_of(session, user.id)
        assert found is not None
        return found
    logger.info("user %s connected Stripe account %s", user.id, account.id)
    return row


def record_status(row: ConnectedAccount, account: Any) -> None:
    row.charges_enabled = bool(account["charges_enabled"])
    row.details_submitted = bool(account["details_submitted"])


def refresh_status(row: ConnectedAccount) -> ConnectedAccount:
    """Read the account from Stripe (never trust an event's copy: it may be old)."""
    try:
        account = cfg.client().v1.accounts.retrieve(row.stripe_account_id)
    except stripe.StripeError as error:
        raise provider_error(error, "reading your payment account") from error
    record_status(row, account)
    return row


def by_link_token(session: Session, token: str) -> ConnectedAccount:
    row = session.scalar(sa.select(ConnectedAccount).where(ConnectedAccount.link_token == token))
    if row is None:
        raise ApiError(404, "not_found", "no payment account has this link")
    return row


def account_json(row: ConnectedAccount | None) -> dict[str, Any]:
    if row is None:
        return {"connected": False, "charges_enabled": False, "details_submitted": False}
    return {"connected": True, "stripe_account_id": row.stripe_account_id,
            "charges_enabled": row.charges_enabled, "details_submitted": row.details_submitted}


def sells_paid(session: Session, event: Event) -> bool:
    paid_types = sa.select(TicketType.id).where(TicketType.event_id == event.id,
                                                TicketType.price_cents > 0)
    paid_bundles = sa.select(Bundle.id).where(Bundle.event_id == event.id, Bundle.price_cents > 0)
    return bool(session.scalar(sa.select(paid_types.exists() | paid_bundles.exists())))


def destination_for(session: Session, event: Event) -> str:
    """The organizer's account that takes this event's card money, or 409 ``payments_not_ready``."""
    row = account_of(session, event.organizer_id)
    if row is None or not row.charges_enabled:
        raise ApiError(409, NOT_READY,
                       "the organizer's payment account cannot take card payments yet: connect "
                       "it and finish Stripe's onboarding (POST /api/v1/payments/onboarding)")
    return row.stripe_account_id


def check_publishable(session: Session, event: Event) -> None:
    """Veto publishing a paid event whose organizer cannot take charges (configured servers)."""
    if cfg.settings().configured and sells_paid(session, event):
        destination_for(session, event)
