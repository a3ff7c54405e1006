"""Payments tests: the app configured for the local fake Stripe, served over real HTTP (the
fake posts its signed webhooks to it), an organizer whose account takes charges, helpers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from sync_server import create_app
from sync_server.events.models import Event, TicketType
from sync_server.orders.models import Order
from sync_server.payments.models import CardPayment
from sync_server.tickets.models import TicketInstance
from tests.fake_stripe.fixture import fake_stripe
from tests.fake_stripe.server import FakeStripe
from tests.server.conftest import Person, World, server_config
from tests.support.apps import close_app

__all__ = ["fake_stripe"]
WEBHOOK = "/api/v1/payments/stripe/webhook"
SECRET = "whsec_paymentstests0000000000000000"


@pytest.fixture
def app(database_at_head: str, tmp_path: Path, fake_stripe: FakeStripe,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("STRIPE_SECRET_KEY", fake_stripe.api_key)
    monkeypatch.setenv("STRIPE_API_BASE", fake_stripe.api_base)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    application = create_app(server_config(database_at_head, tmp_path / "instance"))
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake_stripe.register_webhook(f"http://127.0.0.1:{server.server_port}{WEBHOOK}", SECRET)
    fake_stripe.webhooks.configure(retry_delay=0.05)
    try:
        yield application
    finally:
        server.shutdown()
        thread.join(timeout=10)
        close_app(application)


@dataclass
class Shop:
    organizer: Person
    event: Event
    tier: TicketType  # $25.00, 100 of them
    account: str  # the organizer's acct_…


def connect(api: httpx.Client, fake: FakeStripe, organizer: Person) -> str:
    started = api.post("/payments/onboarding", headers=organizer.headers)
    assert started.status_code == 200, started.text
    account: str = started.json()["account"]["stripe_account_id"]
    fake.enable_charges(account)
    fake.wait_for_webhooks()
    return account


@pytest.fixture
def shop(api: httpx.Client, world: World, fake_stripe: FakeStripe, session: Session) -> Shop:
    organizer = world.person("Paula Promoter")
    account = connect(api, fake_stripe, organizer)
    event = world.event(organizer)
    tier = world.ticket_type(event, organizer, price_cents=2500, quantity=100)
    set_fees = api.put(f"/events/{event.id}/fees", headers=world.person(is_admin=True).headers,
                       json={"percent_bp": 500, "fixed_cents": 100})
    assert set_fees.status_code == 200, set_fees.text
    return Shop(organizer, event, tier, account)


def card_checkout(api: httpx.Client, buyer: Person, shop: Shop, quantity: int = 2,
                  tier: TicketType | None = None) -> httpx.Response:
    return api.post("/checkout", headers=buyer.headers, json={
        "event_id": shop.event.id, "payment_method": "STRIPE",
        "items": [{"ticket_type_id": (tier or shop.tier).id, "quantity": quantity}]})


def pay(fake: FakeStripe, session: Session, order_id: int) -> None:
    """The buyer pays the order's session on the stand-in page; its webhooks are delivered
    (unless held)."""
    fake.pay(str(payment(session, order_id).checkout_session_id))
    fake.wait_for_webhooks()


def paid_order(api: httpx.Client, world: World, shop: Shop, fake: FakeStripe, session: Session,
               quantity: int) -> int:
    """A card order of ``quantity`` tickets, paid and completed; its id."""
    order_id: int = card_checkout(api, world.person(), shop, quantity).json()["order"]["id"]
    pay(fake, session, order_id)
    return order_id


def payment(session: Session, order_id: int) -> CardPayment:
    session.expire_all()
    return session.scalars(sa.select(CardPayment).where(CardPayment.order_id == order_id)).one()


def order_state(session: Session, order_id: int) -> tuple[str, int]:
    """The order's status and how many tickets it has."""
    session.expire_all()
    order = session.get(Order, order_id)
    assert order is not None
    tickets = session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)
                             .where(TicketInstance.order_id == order_id))
    return order.payment_status.value, int(tickets or 0)


def hold(fake: FakeStripe) -> None:
    """Webhooks wait for ``deliver`` from now on, and a refused one is not retried."""
    fake.wait_for_webhooks()
    fake.webhooks.configure(mode="hold", max_attempts=1)
    fake.webhooks.log.clear()


def statuses(fake: FakeStripe) -> list[Any]:
    fake.wait_for_webhooks()
    return [attempt["status"] for attempt in fake.webhooks.log]
