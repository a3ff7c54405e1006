"""The fake through the real ``stripe`` library: Connect onboarding, Checkout, the hosted page."""

from __future__ import annotations

import time

import httpx
import pytest
import stripe

from tests.fake_stripe.helpers import (
    SHOP,
    open_session,
    paid_session,
    ready_account,
    session_params,
)
from tests.fake_stripe.params import decode_form
from tests.fake_stripe.server import FakeStripe


def _press(page_url: str, button: str) -> httpx.Response:
    """A button of the stand-in Checkout page, pressed without a browser."""
    return httpx.post(page_url, data={"action": button})


def test_the_library_form_encoding_decodes_to_what_it_was() -> None:
    body = ("line_items[0][price_data][currency]=usd&line_items[0][quantity]=2"
            "&line_items[1][quantity]=1&metadata[order_id]=7&metadata[note]="
            "&expand[0]=payment_intent&mode=payment")
    assert decode_form(body) == {
        "line_items": [{"price_data": {"currency": "usd"}, "quantity": "2"},
                       {"quantity": "1"}],
        "metadata": {"order_id": "7", "note": ""},
        "expand": ["payment_intent"],
        "mode": "payment",
    }


def test_express_account_onboards_through_its_link(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    account = stripe_client.v1.accounts.create(params={
        "type": "express", "country": "US", "email": "dee@example.com",
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        "metadata": {"organizer_id": "12"},
    })
    assert account.id.startswith("acct_") and account.type == "express"
    assert account.charges_enabled is False and account.details_submitted is False
    assert account.capabilities.to_dict() == {"card_payments": "inactive",
                                              "transfers": "inactive"}
    link = stripe_client.v1.account_links.create(params={
        "account": account.id, "type": "account_onboarding",
        "refresh_url": f"{SHOP}/payouts/refresh", "return_url": f"{SHOP}/payouts/done",
    })
    assert link.object == "account_link" and link.expires_at == link.created + 300
    with httpx.Client() as http:
        assert "Complete onboarding" in http.get(link.url).text
        done = http.post(link.url, data={"action": "complete"})
        assert done.status_code == 303 and done.headers["location"] == f"{SHOP}/payouts/done"
        again = http.get(link.url)  # a used link sends the organizer to refresh_url
        assert again.status_code == 303
        assert again.headers["location"] == f"{SHOP}/payouts/refresh"
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.charges_enabled and account.details_submitted
    assert account.capabilities.to_dict() == {"card_payments": "active", "transfers": "active"}
    (event,) = fake_stripe.events("account.updated")
    assert event["account"] == account.id
    assert event["data"]["object"]["charges_enabled"] is True
    assert event["data"]["previous_attributes"]["charges_enabled"] is False

    updated = stripe_client.v1.accounts.update(account.id, params={"metadata": {"tier": "2"}})
    assert updated.metadata.to_dict() == {"organizer_id": "12", "tier": "2"}
    assert fake_stripe.events("account.updated")[-1]["data"]["previous_attributes"] == {
        "metadata": {"organizer_id": "12"}}


def test_the_library_globals_work_too(
    fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stripe, "api_key", fake_stripe.api_key)
    monkeypatch.setattr(stripe, "api_base", fake_stripe.api_base)
    account = stripe.Account.create(type="express",
                                    capabilities={"transfers": {"requested": True}})
    fake_stripe.enable_charges(account.id)
    session = stripe.checkout.Session.create(**session_params(account.id))
    assert stripe.checkout.Session.retrieve(session.id).amount_total == 5000


def test_unknown_account_is_refused_as_stripe_does(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.PermissionError) as raised:
        stripe_client.v1.accounts.retrieve("acct_doesnotexist")
    assert raised.value.http_status == 403
    assert raised.value.json_body["error"]["code"] == "account_invalid"


def test_checkout_session_carries_fee_destination_metadata_and_expiry(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    destination = ready_account(stripe_client, fake_stripe)
    params = session_params(destination)
    session = stripe_client.v1.checkout.sessions.create(params=params)
    assert session.id.startswith("cs_test_") and session.object == "checkout.session"
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid",
                                                                      "payment")
    assert (session.amount_total, session.currency) == (5000, "usd")
    assert session.expires_at == params["expires_at"]
    assert session.metadata.to_dict() == {"order_id": "order-7"}
    assert session.payment_intent is None  # Stripe makes it when the buyer first pays
    assert session.url.startswith(f"{fake_stripe.api_base}/c/pay/")
    assert session.livemode is False and session.shipping_cost is None

    lines = stripe_client.v1.checkout.sessions.line_items.list(session.id)
    assert [(li.quantity, li.amount_total, li.price.unit_amount) for li in lines.data] == [
        (2, 5000, 2500)]
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).to_dict() == (
        session.to_dict())


@pytest.mark.parametrize(("change", "status", "code", "param"), [
    ({"line_items": None}, 400, "parameter_missing", "line_items"),
    ({"line_items": [{"quantity": 1, "price_data": {
        "currency": "usd", "unit_amount": 49, "product_data": {"name": "Cheap"}}}]},
     400, "amount_too_small", None),
    ({"expires_at": int(time.time()) + 10 * 60}, 400, None, "expires_at"),
    ({"expires_at": int(time.time()) + 25 * 3600}, 400, None, "expires_at"),
    ({"application_fee_amount": 100}, 400, "parameter_unknown", "application_fee_amount"),
    ({"payment_intent_data": {"transfer_data": {"destination": "acct_nobody"}}},
     404, "resource_missing", "payment_intent_data[transfer_data][destination]"),
    ({"payment_intent_data": {"application_fee_amount": 9999}}, 400, None,
     "payment_intent_data[application_fee_amount]"),
])
def test_bad_checkout_requests_get_stripes_errors(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe,
    change: dict[str, object], status: int, code: str | None, param: str | None,
) -> None:
    params = session_params(ready_account(stripe_client, fake_stripe))
    params.update(change)
    params = {k: v for k, v in params.items() if v is not None}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.checkout.sessions.create(params=params)
    error = raised.value
    assert (error.http_status, error.code, error.param) == (status, code, param)
    assert error.json_body["error"]["type"] == "invalid_request_error"
    assert not fake_stripe.store.events or all(
        e["type"] == "account.updated" for e in fake_stripe.store.events)


def test_destination_that_cannot_take_transfers_is_refused(
    stripe_client: stripe.StripeClient,
) -> None:
    account = stripe_client.v1.accounts.create(params={
        "type": "express", "capabilities": {"transfers": {"requested": True}}})
    with pytest.raises(stripe.InvalidRequestError, match="capabilities enabled: transfers"):
        stripe_client.v1.checkout.sessions.create(params=session_params(account.id))


def test_unknown_session_is_404_resource_missing(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.checkout.sessions.retrieve("cs_test_nothere")
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")


def test_paying_on_the_hosted_page_charges_with_fee_and_transfer(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    destination = ready_account(stripe_client, fake_stripe)
    session = stripe_client.v1.checkout.sessions.create(params=session_params(destination))
    with httpx.Client() as http:
        page = http.get(session.url)
        assert page.status_code == 200 and "Pay $50.00 usd" in page.text
        paid = http.post(session.url, data={"action": "pay", "email": "ana@example.com"})
    assert paid.status_code == 303
    assert paid.headers["location"] == f"{SHOP}/orders/order-7?session={session.id}"

    done = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent.latest_charge"]})
    assert (done.status, done.payment_status, done.url) == ("complete", "paid", None)
    assert done.customer_details.email == "ana@example.com"
    intent = done.payment_intent
    assert (intent.status, intent.amount_received, intent.application_fee_amount) == (
        "succeeded", 5000, 300)
    assert intent.transfer_data.destination == destination
    assert intent.metadata.to_dict() == {"order_id": "order-7"}
    charge = intent.latest_charge
    assert (charge.amount, charge.paid, charge.status) == (5000, True, "succeeded")
    fee = stripe_client.v1.application_fees.retrieve(charge.application_fee)
    transfer = stripe_client.v1.transfers.retrieve(charge.transfer)
    assert (fee.amount, fee.account, fee.charge) == (300, destination, charge.id)
    assert (transfer.amount, transfer.destination) == (5000, destination)
    assert [e["type"] for e in fake_stripe.events()][1:] == [
        "charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]


def test_a_declined_card_stays_on_the_page_and_may_pay_again(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    session = open_session(stripe_client, fake_stripe)
    declined = _press(session.url, "decline")
    assert declined.status_code == 200 and "Your card was declined." in declined.text
    intent = stripe_client.v1.payment_intents.retrieve(
        stripe_client.v1.checkout.sessions.retrieve(session.id).payment_intent)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.code == "card_declined"
    assert _press(session.url, "pay").status_code == 303
    assert stripe_client.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    assert [e["type"] for e in fake_stripe.events()][1:] == [
        "charge.failed", "payment_intent.payment_failed",
        "charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]


def test_abandoned_then_expired_session_cannot_be_paid(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    session = open_session(stripe_client, fake_stripe)
    back = _press(session.url, "abandon")
    assert back.status_code == 303 and back.headers["location"] == f"{SHOP}/orders/order-7"
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"
    expired = stripe_client.v1.checkout.sessions.expire(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    assert "no longer active" in _press(session.url, "pay").text
    with pytest.raises(stripe.InvalidRequestError, match="status of \"expired\""):
        stripe_client.v1.checkout.sessions.expire(session.id)
    assert [e["type"] for e in fake_stripe.events()][1:] == ["checkout.session.expired"]
    assert fake_stripe.ledger()["charged"] == 0


def test_sessions_expire_when_their_time_passes(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    session = open_session(stripe_client, fake_stripe)
    assert fake_stripe.advance_clock(30 * 60) == []
    assert fake_stripe.advance_clock(16 * 60) == [session.id]
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    listed = stripe_client.v1.events.list(params={"type": "checkout.session.expired"})
    assert [e.data.object.id for e in listed.data] == [session.id]


def test_disputed_charge_raises_an_event_and_cannot_be_refunded(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    session = paid_session(stripe_client, fake_stripe)
    dispute = fake_stripe.dispute(session.payment_intent.id)
    assert dispute["charge"] == session.payment_intent.latest_charge.id
    (event,) = fake_stripe.events("charge.dispute.created")
    assert event["data"]["object"]["id"] == dispute["id"]
    assert stripe_client.v1.disputes.retrieve(dispute["id"]).amount == 5000
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.refunds.create(params={"payment_intent": session.payment_intent.id})
    assert raised.value.code == "charge_disputed"
