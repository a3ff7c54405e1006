"""Stripe's webhooks: signatures, duplicates, order, unknown objects, late payments."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
import stripe
from sqlalchemy.orm import Session

from sync_server.mail.models import OutboxMessage
from sync_server.orders.models import InventoryHold, Order
from sync_server.payments.models import StripeEvent
from sync_server.payments.webhooks import HANDLERS
from tests.fake_stripe.server import FakeStripe
from tests.server.conftest import World
from tests.server.payments.conftest import (
    SECRET,
    WEBHOOK,
    Shop,
    card_checkout,
    hold,
    order_state,
    paid_order,
    pay,
    payment,
    statuses,
)


def paid_but_held(api: httpx.Client, world: World, shop: Shop, fake: FakeStripe,
                  session: Session, quantity: int = 2) -> tuple[int, list[str]]:
    """A card order paid at Stripe whose webhooks have not been delivered yet."""
    hold(fake)
    order_id = card_checkout(api, world.person(), shop, quantity).json()["order"]["id"]
    fake.pay(str(payment(session, order_id).checkout_session_id))
    return order_id, list(fake.webhooks.held)


def events_seen(session: Session) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(StripeEvent)) or 0)


def test_forged_or_stale_signatures_are_refused_and_change_nothing(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    order_id, held = paid_but_held(api, world, shop, fake_stripe, session)
    before = events_seen(session)
    fake_stripe.deliver(held, secret="whsec_forged000000000000000000000")
    fake_stripe.deliver(held, timestamp_offset=-301)
    assert set(statuses(fake_stripe)) == {400}
    assert order_state(session, order_id) == ("PENDING", 0)
    assert events_seen(session) == before
    unsigned = api.post(WEBHOOK.removeprefix("/api/v1"), content=b'{"id": "evt_1"}')
    assert (unsigned.status_code, unsigned.json()["error"]["code"]) == (400, "invalid_signature")
    body = b'{"id": "evt_1", "data": []}'  # signed with our secret, but not an event
    stamp = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    signed = api.post(WEBHOOK.removeprefix("/api/v1"), content=body,
                      headers={"Stripe-Signature": f"t={stamp},v1={digest}"})
    assert (signed.status_code, signed.json()["error"]["code"]) == (400, "invalid_event")
    assert events_seen(session) == before
    fake_stripe.deliver(held)
    assert statuses(fake_stripe)[-len(held):] == [200] * len(held)
    assert order_state(session, order_id) == ("COMPLETED", 2)


def test_the_same_events_ten_times_have_one_effect(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    order_id, held = paid_but_held(api, world, shop, fake_stripe, session, quantity=3)
    fake_stripe.deliver(held, times=5, parallel=True)
    fake_stripe.deliver(held, times=5)
    assert set(statuses(fake_stripe)) == {200}
    assert order_state(session, order_id) == ("COMPLETED", 3)
    mails = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                           .where(OutboxMessage.order_id == order_id))
    assert mails == 1
    sold = api.get(f"/events/{shop.event.id}/availability").json()["ticket_types"][0]
    assert (sold["sold"], sold["held"]) == (3, 0)
    # A paid session's and a succeeded intent's own objects are final: Stripe is not asked.
    handled = [e for e in fake_stripe.events() if e["id"] in held and e["type"] in HANDLERS]
    paths = ("/v1/checkout/", "/v1/payment_intents/", "/v1/charges/")
    reads = [r for r in fake_stripe.requests
             if r["method"] == "GET" and r["path"].startswith(paths)]
    assert len(handled) >= 2 and reads == []
    assert events_seen(session) >= len(held)


def test_events_in_reverse_order_reach_the_same_state(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    order_id, held = paid_but_held(api, world, shop, fake_stripe, session)
    fake_stripe.deliver(list(reversed(held)))  # the session's event (no charge) first
    assert set(statuses(fake_stripe)) == {200}
    assert order_state(session, order_id) == ("COMPLETED", 2)
    row = payment(session, order_id)
    intent = fake_stripe.events("payment_intent.succeeded")[-1]["data"]["object"]
    assert (row.status.value, row.payment_intent_id, row.charge_id) == (
        "PAID", intent["id"], intent["latest_charge"])
    order = session.get(Order, order_id)
    assert order is not None and order.stripe_charge_id == intent["latest_charge"]


def test_a_refund_seen_before_the_completion_issues_no_tickets(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    order_id, held = paid_but_held(api, world, shop, fake_stripe, session)
    client = stripe.StripeClient(fake_stripe.api_key, base_addresses={"api": fake_stripe.api_base})
    intent = fake_stripe.events("payment_intent.succeeded")[0]["data"]["object"]["id"]
    client.v1.refunds.create(params={"payment_intent": intent})  # from Stripe's dashboard
    refunded = [e["id"] for e in fake_stripe.events("charge.refunded")]
    fake_stripe.deliver(refunded)
    fake_stripe.deliver(held)
    assert set(statuses(fake_stripe)) == {200}
    assert order_state(session, order_id) == ("FAILED", 0)
    assert payment(session, order_id).status.value == "REFUNDED"
    left = api.get(f"/events/{shop.event.id}/availability").json()["ticket_types"][0]
    assert (left["sold"], left["held"]) == (0, 0)


def test_an_unknown_order_or_account_is_logged_and_acknowledged(
    api: httpx.Client, fake_stripe: FakeStripe, shop: Shop, session: Session,
) -> None:
    client = stripe.StripeClient(fake_stripe.api_key, base_addresses={"api": fake_stripe.api_base})
    stranger = client.v1.accounts.create(params={
        "type": "express", "capabilities": {"transfers": {"requested": True}}})
    fake_stripe.enable_charges(stranger.id)  # account.updated for an account not ours
    created = client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": "http://x.invalid/ok",
        "expires_at": int((datetime.now(UTC) + timedelta(minutes=40)).timestamp()),
        "metadata": {"order_id": "987654"},
        "payment_intent_data": {"metadata": {"order_id": "987654"}},
        "line_items": [{"quantity": 1, "price_data": {
            "currency": "usd", "unit_amount": 1000, "product_data": {"name": "Other shop"}}}]})
    fake_stripe.pay(created.id)
    assert set(statuses(fake_stripe)) == {200}
    assert events_seen(session) >= 4


def _lapse_hold(session: Session, order_id: int) -> None:
    session.execute(sa.update(InventoryHold).where(InventoryHold.order_id == order_id)
                    .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    session.commit()


def test_a_late_payment_completes_while_the_tickets_are_still_there(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    order_id = card_checkout(api, world.person(), shop, 2).json()["order"]["id"]
    _lapse_hold(session, order_id)
    pay(fake_stripe, session, order_id)
    assert set(statuses(fake_stripe)) == {200}
    assert order_state(session, order_id) == ("COMPLETED", 2)
    assert fake_stripe.ledger()["refunded"] == 0


def test_a_late_payment_for_tickets_sold_meanwhile_is_refunded(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    last = world.ticket_type(shop.event, shop.organizer, price_cents=4000, quantity=2)
    order_id = card_checkout(api, world.person(), shop, 2, tier=last).json()["order"]["id"]
    _lapse_hold(session, order_id)
    other = api.post(f"/events/{shop.event.id}/complimentary", headers=shop.organizer.headers,
                     json={"items": [{"ticket_type_id": last.id, "quantity": 2}],
                           "holder_name": "Guest", "holder_email": "guest@example.test"})
    assert other.status_code == 201, other.text
    pay(fake_stripe, session, order_id)
    assert set(statuses(fake_stripe)) == {200}
    assert order_state(session, order_id) == ("FAILED", 0)
    row = payment(session, order_id)
    assert (row.status.value, row.refunded_cents) == ("REFUNDED", row.amount_cents)
    [charge] = fake_stripe.ledger()["charges"]
    assert charge["amount_refunded"] == charge["amount"] == row.amount_cents
    assert charge["transfer_reversed"] == charge["amount"]
    assert charge["application_fee_refunded"] == charge["application_fee"] > 0
    sold = api.get(f"/events/{shop.event.id}/availability").json()["ticket_types"]
    assert [(t["sold"], t["held"]) for t in sold if t["id"] == last.id] == [(2, 0)]


def test_a_dispute_marks_the_payment(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    order_id = paid_order(api, world, shop, fake_stripe, session, 1)
    fake_stripe.dispute(str(payment(session, order_id).payment_intent_id))
    assert set(statuses(fake_stripe)) == {200}
    assert payment(session, order_id).status.value == "DISPUTED"
    assert order_state(session, order_id) == ("COMPLETED", 1)


def test_stripe_unreachable_while_handling_keeps_nothing_and_the_retry_completes(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    # A refund's event is read from Stripe (how much is refunded grows after it was raised).
    order_id, _held = paid_but_held(api, world, shop, fake_stripe, session)
    client = stripe.StripeClient(fake_stripe.api_key, base_addresses={"api": fake_stripe.api_base})
    intent = fake_stripe.events("payment_intent.succeeded")[0]["data"]["object"]["id"]
    client.v1.refunds.create(params={"payment_intent": intent})
    refunded = [e["id"] for e in fake_stripe.events("charge.refunded")]
    fake_stripe.webhooks.configure(max_attempts=2)
    fake_stripe.fail_next(3, "error", path="/v1/checkout/sessions/")  # the library retries 2x
    fake_stripe.deliver(refunded)
    assert statuses(fake_stripe) == [503, 200]  # Stripe's own retry does the work
    assert order_state(session, order_id) == ("FAILED", 0)
    assert payment(session, order_id).status.value == "REFUNDED"
