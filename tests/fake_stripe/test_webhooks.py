"""Webhooks from the fake, verified by the real library: signatures, duplicates, order, retries."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import stripe

from tests.fake_stripe.fixture import WebhookReceiver
from tests.fake_stripe.helpers import paid_session
from tests.fake_stripe.server import FakeStripe
from tests.fake_stripe.webhooks import sign


def _types(receiver: WebhookReceiver) -> list[str]:
    return [json.loads(d.body)["type"] for d in receiver.received]


def _held_completion(client: stripe.StripeClient, fake: FakeStripe,
                     receiver: WebhookReceiver) -> tuple[str, str]:
    """Events held back; a paid session; its signing secret and completion event's id."""
    secret = fake.register_webhook(receiver.url, mode="hold")
    paid_session(client, fake)
    return secret, fake.events("checkout.session.completed")[0]["id"]


def test_events_arrive_signed_and_the_library_verifies_them(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe,
    webhook_receiver: WebhookReceiver,
) -> None:
    secret = fake_stripe.register_webhook(webhook_receiver.url)
    assert secret.startswith("whsec_") and secret == fake_stripe.webhook_secret
    session = paid_session(stripe_client, fake_stripe)
    received = webhook_receiver.wait_for(4)
    events = [stripe.Webhook.construct_event(d.body, d.signature, secret) for d in received]
    assert [e.type for e in events] == ["account.updated", "charge.succeeded",
                                        "payment_intent.succeeded", "checkout.session.completed"]
    completed = events[-1]
    assert completed.id.startswith("evt_") and completed.object == "event"
    assert completed.livemode is False and completed.api_version == stripe.api_version
    assert completed.created <= int(time.time())
    assert completed.data.object.id == session.id
    assert completed.data.object.metadata["order_id"] == "order-7"
    assert completed.data.object.payment_status == "paid"
    assert completed.request.idempotency_key is None  # raised by the page, not an API call
    assert stripe_client.v1.events.retrieve(completed.id).data.object.id == session.id
    # the header is exactly Stripe's: t=<unix seconds>,v1=<hex hmac-sha256 of "t.body">
    t = int(received[-1].signature.split(",")[0][2:])
    assert received[-1].signature == sign(received[-1].body, secret, t)


def test_tampered_forged_and_stale_deliveries_are_rejected_by_the_library(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe,
    webhook_receiver: WebhookReceiver,
) -> None:
    secret, event_id = _held_completion(stripe_client, fake_stripe, webhook_receiver)
    fake_stripe.deliver([event_id])
    fake_stripe.deliver([event_id], secret="whsec_not_the_right_one")
    fake_stripe.deliver([event_id], timestamp_offset=-301)
    good, forged, stale = webhook_receiver.wait_for(3)
    assert stripe.Webhook.construct_event(good.body, good.signature, secret).id == event_id
    tampered = good.body.replace(b'"amount_total": 5000', b'"amount_total": 1')
    assert tampered != good.body
    for body, signature in [(tampered, good.signature), (forged.body, forged.signature),
                            (stale.body, stale.signature)]:
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(body, signature, secret)
    assert stale.body == good.body  # only the signature's time differs
    assert stripe.Webhook.construct_event(stale.body, stale.signature, secret, tolerance=400)


def test_the_same_event_delivered_many_times_is_the_same_bytes(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe,
    webhook_receiver: WebhookReceiver,
) -> None:
    secret, event_id = _held_completion(stripe_client, fake_stripe, webhook_receiver)
    assert fake_stripe.deliver([event_id], times=10) == [event_id]
    received = webhook_receiver.wait_for(10)
    ids = {stripe.Webhook.construct_event(d.body, d.signature, secret).id for d in received}
    assert ids == {event_id} and len({d.body for d in received}) == 1
    fake_stripe.wait_for_webhooks()
    assert len(fake_stripe.webhooks.log) == 10


def test_events_arrive_in_the_order_asked_and_show_their_past(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe,
    webhook_receiver: WebhookReceiver,
) -> None:
    fake_stripe.register_webhook(webhook_receiver.url, mode="hold")
    session = paid_session(stripe_client, fake_stripe)
    stripe_client.v1.refunds.create(params={"payment_intent": session.payment_intent.id})
    succeeded = fake_stripe.events("charge.succeeded")[0]["id"]
    refunded = fake_stripe.events("charge.refunded")[0]["id"]
    fake_stripe.deliver([refunded, succeeded])  # the refund before the payment
    first, second = webhook_receiver.wait_for(2)
    assert _types(webhook_receiver) == ["charge.refunded", "charge.succeeded"]
    # each event shows its object as it was when raised, whenever it arrives
    assert json.loads(first.body)["data"]["object"]["amount_refunded"] == 5000
    assert json.loads(second.body)["data"]["object"]["amount_refunded"] == 0
    held = fake_stripe.deliver()  # the rest, oldest first
    assert len(held) == len(fake_stripe.events()) - 2
    webhook_receiver.wait_for(2 + len(held))
    assert _types(webhook_receiver)[2:] == [
        "account.updated", "payment_intent.succeeded", "checkout.session.completed",
        "refund.created"]


def test_a_delayed_delivery_waits(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe,
    webhook_receiver: WebhookReceiver,
) -> None:
    _, event_id = _held_completion(stripe_client, fake_stripe, webhook_receiver)
    queued_at = time.monotonic()
    fake_stripe.deliver([event_id], delay=0.5)
    (delivery,) = webhook_receiver.wait_for(1)
    assert delivery.arrived_at - queued_at >= 0.5


def test_failed_deliveries_are_retried_until_accepted(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe,
    webhook_receiver: WebhookReceiver,
) -> None:
    fake_stripe.register_webhook(webhook_receiver.url, mode="hold")
    fake_stripe.webhooks.configure(max_attempts=4, retry_delay=0.05)
    paid_session(stripe_client, fake_stripe)
    event_id = fake_stripe.events("checkout.session.completed")[0]["id"]
    webhook_receiver.answers = [500, 503, 400]
    fake_stripe.deliver([event_id])
    webhook_receiver.wait_for(4)
    fake_stripe.wait_for_webhooks()
    attempts = [(d["attempt"], d["status"]) for d in fake_stripe.webhooks.log]
    assert attempts == [(1, 500), (2, 503), (3, 400), (4, 200)]


def test_retries_stop_after_the_last_attempt(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe,
) -> None:
    fake_stripe.register_webhook("http://127.0.0.1:9/closed", mode="hold")  # nobody listens
    fake_stripe.webhooks.configure(max_attempts=2, retry_delay=0.05)
    paid_session(stripe_client, fake_stripe)
    fake_stripe.deliver([fake_stripe.events("charge.succeeded")[0]["id"]])
    fake_stripe.wait_for_webhooks()
    assert [(d["attempt"], d["status"]) for d in fake_stripe.webhooks.log] == [(1, None),
                                                                               (2, None)]


def test_the_control_api_drives_the_fake_over_http(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe,
    webhook_receiver: WebhookReceiver,
) -> None:
    control = httpx.Client(base_url=f"{fake_stripe.api_base}/_fake/")
    with control:
        secret = control.post("webhooks", json={"url": webhook_receiver.url, "mode": "hold",
                                                "secret": "whsec_demo"}).json()["secret"]
        assert secret == "whsec_demo"
        account = stripe_client.v1.accounts.create(params={
            "type": "express", "capabilities": {"transfers": {"requested": True}}})
        enabled = control.post(f"accounts/{account.id}/enable_charges").json()
        assert enabled["charges_enabled"] is True
        events = control.get("events").json()["data"]
        assert [e["type"] for e in events] == ["account.updated"]
        queued = control.post("webhooks/deliver", json={"times": 2}).json()["queued"]
        assert queued == [events[0]["id"]]
        webhook_receiver.wait_for(2)
        assert control.post("faults", json={"count": 1, "mode": "error"}).json() == {"ok": True}
        with pytest.raises(stripe.APIError):
            stripe.StripeClient(fake_stripe.api_key, max_network_retries=0, base_addresses={
                "api": fake_stripe.api_base}).v1.accounts.retrieve(account.id)
        assert control.post("clock/advance", json={"seconds": 60}).json() == {"expired": []}
        assert control.get("ledger").json() == {"charges": [], "charged": 0, "refunded": 0}
        assert control.get("requests").json()["data"][-1]["status"] == 500
        bad = control.post("webhooks/deliver", json={"event_ids": ["evt_nope"]})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_control_request"
        assert control.post("nothing").status_code == 400
    fake_stripe.wait_for_webhooks()
    assert [d["status"] for d in fake_stripe.webhooks.log] == [200, 200]


def test_parallel_duplicates_race_in_the_receiver(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe,
    webhook_receiver: WebhookReceiver,
) -> None:
    fake_stripe.register_webhook(webhook_receiver.url, mode="hold")
    paid_session(stripe_client, fake_stripe)
    event_id = fake_stripe.events("payment_intent.succeeded")[0]["id"]
    webhook_receiver.delay = 0.5
    fake_stripe.deliver([event_id], times=5, parallel=True)
    webhook_receiver.wait_for(5)
    assert webhook_receiver.most_at_once > 1
    fake_stripe.wait_for_webhooks()
    assert [d["status"] for d in fake_stripe.webhooks.log] == [200] * 5
