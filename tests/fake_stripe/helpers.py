"""Small builders the fake's tests share: a connected account that can take charges, a session."""

from __future__ import annotations

import time
from typing import Any, cast

import stripe
from stripe.params.checkout import SessionCreateParams

from tests.fake_stripe.server import FakeStripe

SHOP = "http://shop.invalid"


def ready_account(client: stripe.StripeClient, fake: FakeStripe) -> str:
    account = client.v1.accounts.create(params={
        "type": "express", "country": "US", "email": "organizer@example.com",
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
    })
    fake.enable_charges(account.id)
    return account.id


def session_params(destination: str, *, unit_amount: int = 2500, quantity: int = 2,
                   fee: int = 300, order_id: str = "order-7", **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [{"quantity": quantity, "price_data": {
            "currency": "usd", "unit_amount": unit_amount,
            "product_data": {"name": "Saturday social – general admission"}}}],
        "success_url": f"{SHOP}/orders/{order_id}?session={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{SHOP}/orders/{order_id}",
        "expires_at": int(time.time()) + 45 * 60,
        "metadata": {"order_id": order_id},
        "payment_intent_data": {
            "application_fee_amount": fee,
            "transfer_data": {"destination": destination},
            "metadata": {"order_id": order_id},
        },
    }
    params.update(extra)
    return params


def open_session(client: stripe.StripeClient, fake: FakeStripe) -> Any:
    """An open session for two $25.00 tickets, $3.00 fee, to a connected account."""
    params = cast(SessionCreateParams, session_params(ready_account(client, fake)))
    return client.v1.checkout.sessions.create(params=params)


def paid_session(client: stripe.StripeClient, fake: FakeStripe, **kwargs: Any) -> Any:
    """A session created through the library and paid; retrieved with its charge expanded."""
    destination = ready_account(client, fake)
    params = cast(SessionCreateParams, session_params(destination, **kwargs))
    session = client.v1.checkout.sessions.create(params=params)
    fake.pay(session.id)
    return client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent.latest_charge"]})
