"""A paid order end to end against the local Stripe, and Stripe failing during checkout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
import stripe
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.keys.models import RevokedToken
from sync_server.orders.models import InventoryHold
from sync_server.tickets.models import TicketInstance
from tests.fake_stripe.server import FakeStripe
from tests.server.conftest import World, error_code
from tests.server.payments.conftest import (
    Shop,
    card_checkout,
    order_state,
    paid_order,
    pay,
    payment,
)
from tests.server.purchase.test_pages import csrf, sign_in


def client_for(fake: FakeStripe) -> stripe.StripeClient:
    return stripe.StripeClient(fake.api_key, base_addresses={"api": fake.api_base})


def test_a_paid_order_end_to_end(api: httpx.Client, world: World, shop: Shop,
                                 fake_stripe: FakeStripe, session: Session) -> None:
    buyer = world.person("Bea Buyer")
    placed = card_checkout(api, buyer, shop, quantity=2)
    assert placed.status_code == 201, placed.text
    order = placed.json()["order"]
    # 2 x $25.00, fee 5 % + $1.00 per ticket = $2.50 + $2.00
    assert (order["payment_status"], order["total_cents"], order["fees_cents"]) == (
        "PENDING", 5450, 450)
    url = placed.json()["payment_url"]
    row = payment(session, order["id"])
    assert url.startswith(fake_stripe.api_base) and row.checkout_session_id in url
    # The hold lasts as long as the page (Stripe's floor is 30 minutes), to the second.
    expires = session.scalars(sa.select(InventoryHold.expires_at)
                              .where(InventoryHold.order_id == order["id"])).one()
    assert expires == row.expires_at > datetime.now(UTC) + timedelta(minutes=30)

    client = client_for(fake_stripe)
    checkout = client.v1.checkout.sessions.retrieve(str(row.checkout_session_id))
    assert checkout.amount_total == 5450 and checkout.metadata["order_id"] == str(order["id"])
    assert checkout.expires_at == int(row.expires_at.timestamp())
    idempotency = [r["idempotency_key"] for r in fake_stripe.requests
                   if r["path"] == "/v1/checkout/sessions" and r["method"] == "POST"]
    assert idempotency == [f"order-{order['id']}-checkout"]

    fake_stripe.pay(str(row.checkout_session_id))
    fake_stripe.wait_for_webhooks()
    assert order_state(session, order["id"]) == ("COMPLETED", 2)
    paid = payment(session, order["id"])
    assert paid.status.value == "PAID" and paid.payment_intent_id and paid.charge_id
    intent = client.v1.payment_intents.retrieve(paid.payment_intent_id)
    assert intent.application_fee_amount == 450
    assert intent.transfer_data is not None and intent.transfer_data.destination == shop.account
    assert intent.metadata["order_id"] == str(order["id"])
    assert all(status == 200 for status in
               [a["status"] for a in fake_stripe.webhooks.log])
    mine = api.get(f"/my/orders/{order['id']}", headers=buyer.headers)
    if mine.status_code == 200:  # the buyer's order route, where present
        assert len(mine.json()["order"]["tickets"]) == 2


def test_stripe_failing_during_checkout_releases_the_hold_and_charges_once(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    buyer = world.person()
    fake_stripe.fail_next(3, "error", path="/v1/checkout/sessions")  # the library retries twice
    refused = card_checkout(api, buyer, shop, quantity=3)
    assert (refused.status_code, error_code(refused)) == (503, "payment_provider_unavailable")
    assert refused.headers["Retry-After"] == "5"
    failed_id = session.scalars(sa.select(InventoryHold.order_id)).one()
    # No payment page, no hold: the order failed and its units are back on sale at once.
    assert order_state(session, failed_id) == ("FAILED", 0)
    left = api.get(f"/events/{shop.event.id}/availability").json()["ticket_types"][0]
    assert left["held"] == 0
    late = api.post("/payments/orders/pay", headers=buyer.headers, json={"order_id": failed_id})
    assert (late.status_code, error_code(late)) == (409, "invalid_state")

    # The answer of the next checkout is lost after Stripe made the session: the library
    # retries with the same key and gets the same session.
    fake_stripe.fail_next(1, "drop_after", path="/v1/checkout/sessions")
    placed = card_checkout(api, buyer, shop, quantity=3)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order"]["id"]
    once_more = api.post("/payments/orders/pay", headers=buyer.headers,
                         json={"order_id": order_id})
    assert once_more.json()["payment_url"] == placed.json()["payment_url"]
    listed = client_for(fake_stripe).v1.checkout.sessions.list()
    assert len(listed.data) == 1
    # (an injected fault is recorded before the key is read: None)
    keys = {r["idempotency_key"] for r in fake_stripe.requests
            if r["path"] == "/v1/checkout/sessions" and r["method"] == "POST"
            and r["idempotency_key"] is not None}
    assert keys == {f"order-{order_id}-checkout"}

    pay(fake_stripe, session, order_id)
    assert order_state(session, order_id) == ("COMPLETED", 3)
    assert len(fake_stripe.ledger()["charges"]) == 1

    stranger = api.post("/payments/orders/pay", headers=world.person().headers,
                        json={"order_id": order_id})
    assert (stranger.status_code, error_code(stranger)) == (404, "not_found")
    done = api.post("/payments/orders/pay", headers=buyer.headers, json={"order_id": order_id})
    assert (done.status_code, error_code(done)) == (409, "invalid_state")


def test_an_expired_payment_page_fails_the_order_and_frees_the_hold(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    placed = card_checkout(api, world.person(), shop, quantity=4).json()
    fake_stripe.advance_clock(32 * 60)
    fake_stripe.wait_for_webhooks()
    assert order_state(session, placed["order"]["id"]) == ("FAILED", 0)
    assert payment(session, placed["order"]["id"]).status.value == "EXPIRED"
    left = api.get(f"/events/{shop.event.id}/availability").json()["ticket_types"][0]
    assert (left["held"], left["available"]) == (0, 100)


def test_cancelling_a_paid_order_refunds_it_with_the_transfer_and_the_fee(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    order_id = paid_order(api, world, shop, fake_stripe, session, 2)
    cancelled = api.post(f"/events/{shop.event.id}/orders/cancel", headers=shop.organizer.headers,
                         json={"order_id": order_id, "reason": "organizer refund"})
    assert cancelled.status_code == 200, cancelled.text
    fake_stripe.wait_for_webhooks()  # charge.refunded comes back: nothing more happens
    assert order_state(session, order_id)[0] == "REFUNDED"
    row = payment(session, order_id)
    assert (row.status.value, row.refunded_cents) == ("REFUNDED", 5450)
    ledger = fake_stripe.ledger()
    [charge] = ledger["charges"]
    assert (charge["amount_refunded"], charge["refunds"]) == (5450, 1)
    assert (charge["transfer_reversed"], charge["application_fee_refunded"]) == (5450, 450)
    assert all(a["status"] == 200 for a in fake_stripe.webhooks.log)


def test_the_buy_page_sends_the_buyer_to_stripe_and_back_to_the_tickets(
    app: Flask, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    web = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver")
    buyer = world.person("Web Buyer")
    sign_in(web, buyer)
    page = web.get(f"/events/{shop.event.id}/buy")
    sent = web.post(f"/events/{shop.event.id}/buy",
                    data={f"tt-{shop.tier.id}": "1", "csrf_token": csrf(page.text)})
    assert sent.status_code == 302, sent.text
    assert sent.headers["location"].startswith(fake_stripe.api_base + "/c/pay/cs_test_")
    order_id = session.scalars(sa.select(InventoryHold.order_id)).one()
    pay(fake_stripe, session, order_id)
    back = web.get(f"/my/orders/{order_id}")
    assert back.status_code == 200 and "COMPLETED" in back.text
    assert order_state(session, order_id) == ("COMPLETED", 1)


def test_the_organizer_refunds_some_tickets_then_the_rest(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    order_id = paid_order(api, world, shop, fake_stripe, session, 3)
    tickets = session.scalars(sa.select(TicketInstance.id).where(
        TicketInstance.order_id == order_id).order_by(TicketInstance.id)).all()
    url = f"/events/{shop.event.id}/orders/refund-tickets"
    headers = shop.organizer.headers
    first = api.post(url, headers=headers, json={"order_id": order_id,
                                                 "ticket_ids": [tickets[0]], "reason": "ill"})
    assert first.status_code == 200, first.text
    # 3 x $25.00 + 5 % + 3 x $1.00 = $81.75; one ticket's share is a third: $27.25
    assert first.json() == {"order_id": order_id, "refunded_cents": 2725,
                            "payment_status": "COMPLETED"}
    again = api.post(url, headers=headers, json={"order_id": order_id,
                                                 "ticket_ids": [tickets[0]], "reason": "ill"})
    assert (again.status_code, error_code(again)) == (422, "validation_failed")
    session.expire_all()
    revoked = set(session.scalars(sa.select(RevokedToken.ticket_instance_id)).all())
    assert revoked == {tickets[0]}
    left = api.get(f"/events/{shop.event.id}/availability").json()["ticket_types"][0]
    assert left["sold"] == 2

    rest = api.post(url, headers=headers, json={"order_id": order_id,
                                                "ticket_ids": list(tickets[1:]), "reason": "x"})
    assert rest.json()["refunded_cents"] == 8175 - 2725
    assert rest.json()["payment_status"] == "REFUNDED"
    fake_stripe.wait_for_webhooks()
    [charge] = fake_stripe.ledger()["charges"]
    assert (charge["amount_refunded"], charge["refunds"]) == (8175, 2)
    assert charge["transfer_reversed"] == 8175
    assert charge["application_fee_refunded"] == charge["application_fee"]
    assert payment(session, order_id).status.value == "REFUNDED"
    assert all(a["status"] == 200 for a in fake_stripe.webhooks.log)


def test_a_refund_made_at_stripe_cancels_the_tickets(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    order_id = paid_order(api, world, shop, fake_stripe, session, 2)
    client_for(fake_stripe).v1.refunds.create(params={
        "payment_intent": str(payment(session, order_id).payment_intent_id)})
    fake_stripe.wait_for_webhooks()
    assert order_state(session, order_id) == ("REFUNDED", 2)
    session.expire_all()
    statuses = session.scalars(sa.select(TicketInstance.status)
                               .where(TicketInstance.order_id == order_id)).all()
    assert {s.value for s in statuses} == {"CANCELLED"}
    assert payment(session, order_id).status.value == "REFUNDED"
