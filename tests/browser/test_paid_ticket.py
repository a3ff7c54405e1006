"""A stranger buys a paid ticket in Debian's Chromium: sign up, pick a ticket, pay on the
stand-in Stripe Checkout page, come back to the order page and find the ticket's QR code, which
decodes (pyzbar, from a screenshot of the page) to the ticket's signed token."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image
from playwright.sync_api import Page, expect
from pyzbar.pyzbar import ZBarSymbol, decode

from sync_server.events.models import Event
from sync_server.orders.models import Order
from sync_server.tickets.models import TicketInstance
from tests.browser.conftest import CHROMIUM
from tests.browser.look import capture, look
from tests.fake_stripe.fixture import fake_stripe
from tests.fake_stripe.server import FakeStripe
from tests.server.conftest import World

__all__ = ["fake_stripe"]  # a fixture, imported for pytest
PASSWORD = "step-in-time-2026"
WEBHOOK = "/api/v1/payments/stripe/webhook"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Debian chromium")


@pytest.fixture
def stripe_env(fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> FakeStripe:
    monkeypatch.setenv("STRIPE_SECRET_KEY", fake_stripe.api_key)
    monkeypatch.setenv("STRIPE_API_BASE", fake_stripe.api_base)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", fake_stripe.webhook_secret)
    return fake_stripe


@pytest.fixture
def paid_event(stripe_env: FakeStripe, live_app: tuple[Flask, str]) -> Iterator[Event]:
    """A published event with a $25.00 ticket, its organizer's Stripe account connected."""
    app, base = live_app
    stripe_env.register_webhook(base + WEBHOOK, stripe_env.webhook_secret)
    with app.extensions["sync_db_sessionmaker"]() as session:
        world = World(app, session)
        organizer = world.person("Paula Promoter")
        with httpx.Client(base_url=base + "/api/v1", headers=organizer.headers) as api:
            started = api.post("/payments/onboarding")
            assert started.status_code == 200, started.text
        stripe_env.enable_charges(started.json()["account"]["stripe_account_id"])
        stripe_env.wait_for_webhooks()
        event = world.event(organizer, name="Chicago Steppers Ball")
        world.ticket_type(event, organizer, price_cents=2500, quantity=50)
        admin = world.person(is_admin=True)
        with httpx.Client(base_url=base + "/api/v1", headers=admin.headers) as api:
            fees = api.put(f"/events/{event.id}/fees", json={"percent_bp": 500,
                                                             "fixed_cents": 100})
            assert fees.status_code == 200, fees.text  # $25.00 + 5 % + $1.00 = $27.25
        yield event


def test_a_stranger_buys_a_paid_ticket_and_sees_its_qr(
    stripe_env: FakeStripe, live_app: tuple[Flask, str], paid_event: Event, phone: Page,
) -> None:  # (stripe_env first: the app reads STRIPE_* when it is created)
    app, base = live_app
    phone.goto(f"{base}/events/{paid_event.id}/buy")  # no account: a guest
    expect(phone.get_by_role("heading", name="Chicago Steppers Ball")).to_be_visible()
    phone.get_by_role("spinbutton").first.fill("1")
    phone.get_by_label("Name on the tickets").fill("Sam Stranger")
    phone.get_by_label("E-mail").fill("sam@example.com")
    look(phone, "web-buy-paid-ticket-phone")
    phone.get_by_role("button", name="Check out as a guest").click()

    # Stripe's hosted page (the stand-in): what it asks for is the order's total.
    phone.wait_for_url(f"{stripe_env.api_base}/**")
    expect(phone.get_by_role("heading")).to_have_text("Pay $27.25 usd")
    phone.get_by_label("Email").fill("sam@example.com")
    phone.get_by_role("button", name="Pay", exact=True).click()

    phone.wait_for_url(f"{base}/orders/**")  # back to the order's private link
    expect(phone.get_by_text("COMPLETED")).to_be_visible(timeout=15_000)  # refreshes itself
    expect(phone.get_by_text("total $27.25")).to_be_visible()
    qr = phone.get_by_role("img", name="QR code of ticket")
    expect(qr).to_have_count(1)
    look(phone, "web-paid-order-qr-phone")

    with app.extensions["sync_db_sessionmaker"]() as session:
        order = session.scalars(sa.select(Order)).one()
        ticket = session.scalars(sa.select(TicketInstance)
                                 .where(TicketInstance.order_id == order.id)).one()
        assert (order.payment_status.value, order.total_cents) == ("COMPLETED", 2725)
    decoded = decode(Image.open(io.BytesIO(capture(phone, full_page=True))).convert("L"),
                     symbols=[ZBarSymbol.QRCODE])
    assert [d.data.decode() for d in decoded] == [ticket.token]
    [charge] = stripe_env.ledger()["charges"]
    assert charge["amount"] == 2725
