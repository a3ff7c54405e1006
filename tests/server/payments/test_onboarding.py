"""Organizer onboarding, publishing a paid event, and a server without Stripe settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server import create_app
from sync_server.orders.models import Order
from sync_server.payments.models import ConnectedAccount
from tests.fake_stripe.server import FakeStripe
from tests.server.conftest import World, error_code, server_config
from tests.support.apps import close_app


def test_an_organizer_onboards_and_then_publishes_a_paid_event(
    api: httpx.Client, world: World, fake_stripe: FakeStripe, session: Session,
) -> None:
    organizer = world.person("Olga Organizer")
    assert api.get("/payments/onboarding", headers=organizer.headers).json() == {
        "account": {"connected": False, "charges_enabled": False, "details_submitted": False}}
    event = world.event(organizer, published=False)
    world.ticket_type(event, organizer, price_cents=3000)

    def publish() -> httpx.Response:
        return api.post(f"/events/{event.id}/publish", headers=organizer.headers)

    refused = publish()
    assert (refused.status_code, error_code(refused)) == (409, "payments_not_ready")
    assert "onboarding" in refused.json()["error"]["message"]

    started = api.post("/payments/onboarding", headers=organizer.headers)
    assert started.status_code == 200, started.text
    account = started.json()["account"]["stripe_account_id"]
    assert started.json()["url"].startswith(fake_stripe.api_base)
    again = api.post("/payments/onboarding", headers=organizer.headers).json()
    assert again["account"]["stripe_account_id"] == account  # one account per organizer
    assert publish().status_code == 409

    fake_stripe.enable_charges(account)  # what finishing Stripe's pages does
    fake_stripe.wait_for_webhooks()
    assert api.get("/payments/onboarding", headers=organizer.headers).json()["account"][
        "charges_enabled"] is True
    published = publish()
    assert published.status_code == 200, published.text

    row = session.scalars(sa.select(ConnectedAccount)).one()
    back = api.get("/payments/onboarding/return", params={"token": row.link_token})
    assert back.json()["account"]["charges_enabled"] is True
    fresh = api.get("/payments/onboarding/refresh", params={"token": row.link_token})
    assert fresh.status_code == 302
    assert fresh.headers["Location"].startswith(fake_stripe.api_base)
    wrong = api.get("/payments/onboarding/refresh", params={"token": "x" * 43})
    assert (wrong.status_code, error_code(wrong)) == (404, "not_found")


def test_a_free_event_publishes_without_an_account(api: httpx.Client, world: World) -> None:
    organizer = world.person()
    event = world.event(organizer, published=False)
    world.ticket_type(event, organizer, price_cents=0)
    assert api.post(f"/events/{event.id}/publish", headers=organizer.headers).status_code == 200


@pytest.fixture
def unconfigured(database_at_head: str, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    for name in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    application = create_app(server_config(database_at_head, tmp_path / "plain"))
    yield application
    close_app(application)


def test_without_stripe_settings_a_card_checkout_says_so_and_holds_nothing(
    unconfigured: Flask, database_url: str,
) -> None:
    factory = unconfigured.extensions["sync_db_sessionmaker"]
    with factory() as session, httpx.Client(
        transport=httpx.WSGITransport(app=unconfigured),
        base_url="http://testserver/api/v1") as api:
        world = World(unconfigured, session)
        organizer, buyer = world.person(), world.person()
        event = world.event(organizer)
        tier = world.ticket_type(event, organizer, price_cents=2500, quantity=10)
        refused = api.post("/checkout", headers=buyer.headers, json={
            "event_id": event.id, "items": [{"ticket_type_id": tier.id, "quantity": 2}]})
        assert (refused.status_code, error_code(refused)) == (503, "payments_not_configured")
        assert "not configured" in refused.json()["error"]["message"]
        left = api.get(f"/events/{event.id}/availability").json()["ticket_types"][0]
        assert (left["held"], left["available"]) == (0, 10)
        orders = session.scalars(sa.select(Order.payment_status)).all()
        assert [status.value for status in orders] == ["FAILED"]
        hook = api.post("/payments/stripe/webhook", content=b"{}",
                        headers={"Stripe-Signature": "t=1,v1=00"})
        assert (hook.status_code, error_code(hook)) == (503, "payments_not_configured")
