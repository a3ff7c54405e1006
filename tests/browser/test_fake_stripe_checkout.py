"""The fake Stripe's stand-in Checkout page in Debian's Chromium: decline, then pay."""

from __future__ import annotations

import stripe
from playwright.sync_api import Page, expect

from tests.fake_stripe.fixture import fake_stripe, stripe_client
from tests.fake_stripe.helpers import ready_account, session_params
from tests.fake_stripe.server import FakeStripe

__all__ = ["fake_stripe", "stripe_client"]  # fixtures, imported for pytest


def test_a_buyer_is_declined_then_pays_on_the_stand_in_page(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe, phone: Page
) -> None:
    params = session_params(ready_account(stripe_client, fake_stripe))
    params["success_url"] = f"{fake_stripe.api_base}/thanks?session={{CHECKOUT_SESSION_ID}}"
    session = stripe_client.v1.checkout.sessions.create(params=params)

    phone.goto(session.url)
    expect(phone.get_by_role("heading")).to_have_text("Pay $50.00 usd")
    phone.get_by_label("Email").fill("ana@example.com")
    phone.get_by_role("button", name="Pay with a declined card").click()
    expect(phone.get_by_role("alert")).to_have_text("Your card was declined.")
    phone.get_by_role("button", name="Pay", exact=True).click()
    phone.wait_for_url(f"**/thanks?session={session.id}")

    done = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    assert done.customer_details.email == "ana@example.com"
    assert [e["type"] for e in fake_stripe.events()][-1] == "checkout.session.completed"
