"""Split payments: an order paid by named payers, each their own share and payment page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.db import utcnow
from sync_server.mail.models import MailKind, OutboxMessage
from sync_server.orders.models import Order
from sync_server.payments.models import SplitPayment, SplitShare
from sync_server.payments.splits import TimeoutResult, timeout_split_payments
from tests.fake_stripe.server import FakeStripe
from tests.server.conftest import Person, World, error_code
from tests.server.payments.conftest import Shop, hold, order_state

TOTAL = 5450  # 2 x $25.00 + 5 % + $1.00 a ticket
SHARES = [("Ann", 2000), ("Bob", 2000), ("Cat", 1450)]


def split_order(api: httpx.Client, buyer: Person, shop: Shop,
                shares: list[tuple[str, int]] = SHARES) -> tuple[int, dict[str, Any]]:
    placed = api.post("/checkout", headers=buyer.headers, json={
        "event_id": shop.event.id, "payment_method": "SPLIT",
        "items": [{"ticket_type_id": shop.tier.id, "quantity": 2}]})
    assert placed.status_code == 201, placed.text
    order = placed.json()["order"]
    assert (order["payment_status"], order["total_cents"]) == ("PENDING", TOTAL)
    made = api.post("/payments/splits", headers=buyer.headers, json={
        "order_id": order["id"], "shares": [
            {"payer_name": name, "payer_email": f"{name.lower()}@example.test",
             "amount_cents": cents} for name, cents in shares]})
    assert made.status_code == 201, made.text
    return order["id"], made.json()["split"]


def token_of(link: str) -> str:
    return link.split("token=")[1]


def open_page(api: httpx.Client, share: dict[str, Any]) -> str:
    """The payer follows their link: a redirect to their own hosted payment page."""
    response = api.get("/payments/shares/pay", params={"token": token_of(share["pay_url"])})
    assert response.status_code == 302, response.text
    return response.headers["location"]


def session_of(session: Session, share_id: int) -> str:
    session.expire_all()
    row = session.get(SplitShare, share_id)
    assert row is not None and row.checkout_session_id
    return row.checkout_session_id


def pay_share(api: httpx.Client, fake: FakeStripe, session: Session, share: dict[str, Any],
              *, wait: bool = True) -> None:
    open_page(api, share)
    fake.pay(session_of(session, share["id"]))
    if wait:
        fake.wait_for_webhooks()


def share_states(session: Session, split_id: int) -> list[str]:
    session.expire_all()
    return [s.status.value for s in session.scalars(
        sa.select(SplitShare).where(SplitShare.split_id == split_id).order_by(SplitShare.id))]


def time_out(app: Flask, now: datetime) -> TimeoutResult:
    """What the jobs worker does."""
    with app.app_context(), app.extensions["sync_db_sessionmaker"]() as session:
        return timeout_split_payments(session, now)


def held(api: httpx.Client, shop: Shop) -> tuple[int, int]:
    row = api.get(f"/events/{shop.event.id}/availability").json()["ticket_types"][0]
    return row["held"], row["sold"]


def test_a_split_completes_when_every_share_is_paid(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    buyer = world.person("Bea Buyer")
    order_id, split = split_order(api, buyer, shop)
    assert split["status"] == "OPEN"
    deadline = datetime.fromisoformat(split["deadline"])
    assert timedelta(hours=23, minutes=59) < deadline - utcnow() <= timedelta(hours=24)
    assert [s["amount_cents"] for s in split["shares"]] == [2000, 2000, 1450]
    assert len({token_of(s["pay_url"]) for s in split["shares"]}) == 3
    assert held(api, shop) == (2, 0)

    first, second, third = split["shares"]
    page = api.get("/payments/shares", params={"token": token_of(first["pay_url"])}).json()
    assert (page["share"]["amount_cents"], page["order_total_cents"]) == (2000, TOTAL)
    assert "payer_email" not in page["share"] or page["share"]["payer_email"] is None
    assert open_page(api, first) == open_page(api, first)  # the same page, not a second one

    pay_share(api, fake_stripe, session, first)
    pay_share(api, fake_stripe, session, second)
    assert order_state(session, order_id) == ("PENDING", 0)
    assert share_states(session, split["id"]) == ["PAID", "PAID", "UNPAID"]
    paid_again = api.get("/payments/shares/pay", params={"token": token_of(first["pay_url"])})
    assert (paid_again.status_code, error_code(paid_again)) == (409, "invalid_state")

    pay_share(api, fake_stripe, session, third)
    assert order_state(session, order_id) == ("COMPLETED", 2)
    session.expire_all()
    order = session.get(Order, order_id)
    assert order is not None and order.payment_method.value == "STRIPE"
    assert order.split_payment_id == f"split-{split['id']}"
    mine = api.get("/payments/splits", params={"order_id": order_id}, headers=buyer.headers)
    assert mine.json()["split"]["status"] == "COMPLETED"
    assert held(api, shop) == (0, 2)
    ledger = fake_stripe.ledger()
    assert sorted(c["amount"] for c in ledger["charges"]) == [1450, 2000, 2000]
    assert sum(c["application_fee"] for c in ledger["charges"]) == 450  # the order's fee
    assert {c["destination"] for c in ledger["charges"]} == {shop.account}
    assert all(a["status"] == 200 for a in fake_stripe.webhooks.log)


def test_bad_splits_are_refused(
    api: httpx.Client, world: World, shop: Shop, session: Session,
) -> None:
    buyer = world.person()
    placed = api.post("/checkout", headers=buyer.headers, json={
        "event_id": shop.event.id, "payment_method": "SPLIT",
        "items": [{"ticket_type_id": shop.tier.id, "quantity": 2}]}).json()["order"]

    def split(shares: list[int], who: Person = buyer, order_id: int = placed["id"]) -> Any:
        return api.post("/payments/splits", headers=who.headers, json={
            "order_id": order_id, "shares": [
                {"payer_name": f"P{i}", "payer_email": f"p{i}@example.test", "amount_cents": c}
                for i, c in enumerate(shares)]})

    short = split([2000, 2000])
    assert (short.status_code, error_code(short)) == (422, "validation_failed")
    tiny = split([TOTAL - 10, 10])
    assert (tiny.status_code, error_code(tiny)) == (422, "validation_failed")
    alone = split([TOTAL])
    assert (alone.status_code, error_code(alone)) == (422, "validation_failed")
    other = split([2725, 2725], who=world.person())
    assert (other.status_code, error_code(other)) == (404, "not_found")
    card = api.post("/checkout", headers=buyer.headers, json={
        "event_id": shop.event.id, "payment_method": "STRIPE",
        "items": [{"ticket_type_id": shop.tier.id, "quantity": 2}]}).json()["order"]
    not_split = split([2725, 2725], order_id=card["id"])
    assert (not_split.status_code, error_code(not_split)) == (409, "invalid_state")
    assert split([2725, 2725]).status_code == 201
    twice = split([2725, 2725])
    assert (twice.status_code, error_code(twice)) == (409, "invalid_state")
    bogus = api.get("/payments/shares/pay", params={"token": "x" * 43})
    assert (bogus.status_code, error_code(bogus)) == (404, "not_found")
    short_token = api.get("/payments/shares", params={"token": "abc"})
    assert short_token.status_code == 422


def test_webhook_duplicates_pay_a_share_once_and_complete_once(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    order_id, split = split_order(api, world.person(), shop)
    hold(fake_stripe)
    for share in split["shares"]:
        pay_share(api, fake_stripe, session, share, wait=False)
    events = list(fake_stripe.webhooks.held)
    fake_stripe.deliver(list(reversed(events)), times=4, parallel=True)
    fake_stripe.deliver(events, times=3)
    fake_stripe.wait_for_webhooks()
    assert {a["status"] for a in fake_stripe.webhooks.log} == {200}
    assert order_state(session, order_id) == ("COMPLETED", 2)
    assert share_states(session, split["id"]) == ["PAID"] * 3
    mails = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                           .where(OutboxMessage.order_id == order_id,
                                  OutboxMessage.kind == MailKind.ORDER_TICKETS))
    assert mails == 1  # the tickets e-mail (besides each payer's link)
    assert held(api, shop) == (0, 2)
    assert fake_stripe.ledger()["refunded"] == 0


def test_a_split_not_paid_in_time_is_timed_out_and_its_paid_shares_refunded(
    app: Flask, api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe,
    session: Session,
) -> None:
    order_id, split = split_order(api, world.person(), shop)
    first, second, _third = split["shares"]
    pay_share(api, fake_stripe, session, first)
    open_page(api, second)  # opened, never paid
    deadline = datetime.fromisoformat(split["deadline"])
    assert time_out(app, deadline - timedelta(seconds=1)) == TimeoutResult()  # not yet

    done = time_out(app, deadline + timedelta(seconds=1))
    assert (done.timed_out, done.refunded, done.errors) == (1, 1, 0)
    fake_stripe.wait_for_webhooks()
    assert order_state(session, order_id) == ("FAILED", 0)
    assert share_states(session, split["id"]) == ["REFUNDED", "CANCELLED", "CANCELLED"]
    session.expire_all()
    row = session.get(SplitPayment, split["id"])
    assert row is not None and row.status.value == "TIMED_OUT"
    assert held(api, shop) == (0, 0)  # the hold is released
    [charge] = fake_stripe.ledger()["charges"]
    assert (charge["amount"], charge["amount_refunded"], charge["refunds"]) == (2000, 2000, 1)
    assert charge["transfer_reversed"] == 2000
    assert charge["application_fee_refunded"] == charge["application_fee"]
    expired = fake_stripe.events("checkout.session.expired")
    assert len(expired) == 1  # the second payer's page is closed
    closed = api.get("/payments/shares/pay", params={"token": token_of(second["pay_url"])})
    assert (closed.status_code, error_code(closed)) == (409, "invalid_state")
    assert time_out(app, deadline + timedelta(hours=1)) == TimeoutResult()  # once
    assert fake_stripe.ledger()["charges"][0]["refunds"] == 1


def test_a_share_paid_after_the_timeout_is_refunded(
    app: Flask, api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe,
    session: Session,
) -> None:
    order_id, split = split_order(api, world.person(), shop, [("Ann", 2725), ("Bob", 2725)])
    first, second = split["shares"]
    pay_share(api, fake_stripe, session, first)
    hold(fake_stripe)
    pay_share(api, fake_stripe, session, second, wait=False)  # paid; Stripe tells us late
    deadline = datetime.fromisoformat(split["deadline"])
    assert time_out(app, deadline + timedelta(seconds=1)).timed_out == 1
    assert order_state(session, order_id) == ("FAILED", 0)
    late = list(fake_stripe.webhooks.held)
    fake_stripe.deliver(late, times=3)
    fake_stripe.wait_for_webhooks()
    assert {a["status"] for a in fake_stripe.webhooks.log} == {200}
    assert share_states(session, split["id"]) == ["REFUNDED", "REFUNDED"]
    assert order_state(session, order_id) == ("FAILED", 0)
    ledger = fake_stripe.ledger()
    assert ledger["refunded"] == ledger["charged"] == 5450
    assert [c["refunds"] for c in ledger["charges"]] == [1, 1]
    assert held(api, shop) == (0, 0)


def test_the_deadline_is_a_setting(api: httpx.Client, world: World, shop: Shop,
                                   app: Flask) -> None:
    app.extensions["sync_config"] = app.extensions["sync_config"].model_copy(
        update={"split_payment_hours": 0.5})
    _order_id, split = split_order(api, world.person(), shop)
    left = datetime.fromisoformat(split["deadline"]) - utcnow()
    assert timedelta(minutes=29) < left <= timedelta(minutes=30)


def test_an_abandoned_split_order_takes_no_more_payments(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    buyer = world.person()
    order_id, split = split_order(api, buyer, shop)
    gone = api.post("/me/orders/abandon", headers=buyer.headers, json={"order_id": order_id})
    assert gone.status_code == 200, gone.text
    closed = api.get("/payments/shares/pay",
                     params={"token": token_of(split["shares"][0]["pay_url"])})
    assert (closed.status_code, error_code(closed)) == (409, "invalid_state")
    assert held(api, shop) == (0, 0)
    assert fake_stripe.ledger()["charged"] == 0
