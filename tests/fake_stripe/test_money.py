"""Refunds, idempotency keys, authentication and injected faults, through the real library."""

from __future__ import annotations

import base64

import httpx
import pytest
import stripe

from tests.fake_stripe.helpers import open_session, paid_session, ready_account, session_params
from tests.fake_stripe.server import FakeStripe


def test_partial_then_whole_refund_adds_up(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    # 3 tickets of $25.00 with a $3.00 platform fee; one ticket refunded, then the rest
    session = paid_session(stripe_client, fake_stripe, quantity=3, fee=300)
    intent = session.payment_intent
    first = stripe_client.v1.refunds.create(params={
        "payment_intent": intent.id, "amount": 2500, "reverse_transfer": True,
        "refund_application_fee": True, "metadata": {"tickets": "1"},
    })
    assert (first.amount, first.status, first.charge) == (2500, "succeeded",
                                                          intent.latest_charge.id)
    assert first.transfer_reversal.startswith("trr_")
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge.id)
    assert (charge.amount_refunded, charge.refunded) == (2500, False)
    (money,) = fake_stripe.ledger()["charges"]
    assert (money["transfer_reversed"], money["application_fee_refunded"]) == (2500, 100)

    rest = stripe_client.v1.refunds.create(params={
        "charge": charge.id, "reverse_transfer": True, "refund_application_fee": True})
    assert rest.amount == 5000
    charge = stripe_client.v1.charges.retrieve(charge.id)
    assert (charge.amount_refunded, charge.refunded) == (7500, True)
    (money,) = fake_stripe.ledger()["charges"]
    assert (money["transferred"], money["transfer_reversed"]) == (7500, 7500)
    assert (money["application_fee"], money["application_fee_refunded"]) == (300, 300)
    assert stripe_client.v1.transfers.retrieve(charge.transfer).reversed is True
    refunded = [e["data"]["object"]["amount_refunded"] for e in fake_stripe.events(
        "charge.refunded")]
    assert refunded == [2500, 7500]
    listed = stripe_client.v1.refunds.list(params={"payment_intent": intent.id})
    assert [r.amount for r in listed.data] == [5000, 2500]

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.refunds.create(params={"payment_intent": intent.id})
    assert raised.value.code == "charge_already_refunded"


def test_refund_without_reversal_leaves_the_transfer(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    session = paid_session(stripe_client, fake_stripe)
    refund = stripe_client.v1.refunds.create(params={
        "payment_intent": session.payment_intent.id, "amount": 1000})
    assert refund.transfer_reversal is None
    (money,) = fake_stripe.ledger()["charges"]
    assert (money["amount_refunded"], money["transfer_reversed"],
            money["application_fee_refunded"]) == (1000, 0, 0)


@pytest.mark.parametrize(("params", "code", "param"), [
    ({"amount": 5001}, "amount_too_large", "amount"),
    ({"amount": 0}, "parameter_invalid_integer", "amount"),
    ({"reason": "changed_mind"}, None, "reason"),
    ({"payment_intent": None}, "parameter_missing", None),
])
def test_bad_refunds_are_refused_and_nothing_moves(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe,
    params: dict[str, object], code: str | None, param: str | None,
) -> None:
    session = paid_session(stripe_client, fake_stripe)
    body = {"payment_intent": session.payment_intent.id, **params}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.refunds.create(params={k: v for k, v in body.items() if v is not None})
    assert (raised.value.code, raised.value.param) == (code, param)
    assert fake_stripe.ledger()["refunded"] == 0


def test_an_unpaid_intent_has_nothing_to_refund(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    session = open_session(stripe_client, fake_stripe)
    fake_stripe.decline(session.id)
    intent = stripe_client.v1.checkout.sessions.retrieve(session.id).payment_intent
    with pytest.raises(stripe.InvalidRequestError, match="does not have a successful charge"):
        stripe_client.v1.refunds.create(params={"payment_intent": intent})


def test_idempotency_key_replays_and_refuses_other_parameters(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    params = session_params(ready_account(stripe_client, fake_stripe))
    options: stripe.RequestOptions = {"idempotency_key": "order-7-checkout"}
    first = stripe_client.v1.checkout.sessions.create(params=params, options=options)
    again = stripe_client.v1.checkout.sessions.create(params=params, options=options)
    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    with pytest.raises(stripe.IdempotencyError, match="same parameters"):
        stripe_client.v1.checkout.sessions.create(
            params={**params, "metadata": {"order_id": "order-8"}}, options=options)
    sessions = stripe_client.v1.checkout.sessions.list()
    assert [s.id for s in sessions.data] == [first.id]


def test_injected_500s_raise_api_error_and_nothing_is_made(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    params = session_params(ready_account(stripe_client, fake_stripe))
    fake_stripe.fail_next(3)  # the client tries once and retries twice
    with pytest.raises(stripe.APIError) as raised:
        stripe_client.v1.checkout.sessions.create(params=params)
    assert raised.value.http_status == 500
    assert stripe_client.v1.checkout.sessions.list().data == []
    attempts = [r for r in fake_stripe.requests
                if (r["method"], r["path"]) == ("POST", "/v1/checkout/sessions")]
    assert [r["status"] for r in attempts] == [500, 500, 500]
    assert len({r["idempotency_key"] for r in attempts}) == 1  # the library's retries reuse it


def test_a_lost_answer_is_retried_with_the_same_key_and_charged_once(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    session = paid_session(stripe_client, fake_stripe)
    fake_stripe.fail_next(1, "error_after", path="/v1/refunds")  # done, but the answer is lost
    assert stripe_client.v1.payment_intents.retrieve(session.payment_intent.id)  # spared
    refund = stripe_client.v1.refunds.create(params={
        "payment_intent": session.payment_intent.id, "amount": 1000})
    assert refund.amount == 1000
    assert fake_stripe.ledger()["refunded"] == 1000
    posts = [r for r in fake_stripe.requests if r["path"] == "/v1/refunds"]
    assert [(r["status"], r["replayed"]) for r in posts] == [(200, False), (200, True)]


def test_an_unreachable_stripe_raises_api_connection_error(
    stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    fake_stripe.fail_next(3, "drop")
    with pytest.raises(stripe.APIConnectionError):
        stripe_client.v1.accounts.create(params={
            "type": "express", "capabilities": {"transfers": {"requested": True}}})
    assert fake_stripe.store.objects == {}
    fake_stripe.fail_next(1, "drop")  # one drop, then the retry gets through
    account = stripe_client.v1.accounts.create(params={
        "type": "express", "capabilities": {"transfers": {"requested": True}}})
    assert account.id in fake_stripe.store.objects


def test_secret_key_is_checked_bearer_or_basic(fake_stripe: FakeStripe) -> None:
    wrong = stripe.StripeClient("sk_test_wrongwrongwrong1234",
                                base_addresses={"api": fake_stripe.api_base})
    with pytest.raises(stripe.AuthenticationError, match=r"sk_test_\*+1234"):
        wrong.v1.accounts.retrieve("acct_anything")
    url = f"{fake_stripe.api_base}/v1/events"
    with httpx.Client() as http:
        nobody = http.get(url)
        assert nobody.status_code == 401
        assert "did not provide an API key" in nobody.json()["error"]["message"]
        basic = base64.b64encode(f"{fake_stripe.api_key}:".encode()).decode()
        listed = http.get(url, headers={"Authorization": f"Basic {basic}"})
        assert listed.status_code == 200 and listed.json()["object"] == "list"
        unknown = http.get(f"{fake_stripe.api_base}/v1/nothing",
                           headers={"Authorization": f"Bearer {fake_stripe.api_key}"})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["type"] == "invalid_request_error"
