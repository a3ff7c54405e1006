"""Issue 13, money and inventory: caps on what one buyer and one address may hold unpaid, and
checkout's Idempotency-Key (a retry returns the first order; one order even when two race)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.db import utcnow
from sync_server.orders.models import IdempotencyKey, Order
from tests.server.conftest import World, error_code
from tests.server.purchase.conftest import Shop, buy


@pytest.fixture
def caps(app: Flask) -> Iterator[None]:
    config = app.extensions["sync_config"]
    app.extensions["sync_config"] = config.model_copy(update=dict(
        max_held_units_per_buyer=4, max_held_units_per_address=7))
    yield
    app.extensions["sync_config"] = config


def client_from(app: Flask, address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app, remote_addr=address),
                        base_url="http://testserver/api/v1")


def held(api: httpx.Client, shop: Shop) -> int:
    found = api.get(f"/events/{shop.event.id}/availability",
                    headers=shop.organizer.headers).json()
    return sum(row["held"] for row in found["ticket_types"] + found["bundles"])


def test_one_buyer_holds_at_most_the_cap_across_unpaid_orders(
    api: httpx.Client, world: World, shop: Shop, caps: None,
) -> None:
    buyer = world.person()
    assert buy(api, buyer, shop.event, ("ticket_type", shop.day1.id, 3)).status_code == 201
    refused = buy(api, buyer, shop.event, ("ticket_type", shop.day2.id, 2))
    assert (refused.status_code, error_code(refused)) == (409, "too_many_held")
    assert "at most 4" in refused.json()["error"]["message"]
    assert held(api, shop) == 3  # the refused order held nothing
    assert buy(api, buyer, shop.event, ("ticket_type", shop.day2.id, 1)).status_code == 201
    assert buy(api, world.person(), shop.event, ("bundle", shop.bundle.id, 3)).status_code == 201
    assert held(api, shop) == 7


def test_one_address_holds_at_most_its_cap_whatever_the_accounts(
    app: Flask, world: World, shop: Shop, caps: None,
) -> None:
    with client_from(app, "203.0.113.7") as venue, client_from(app, "198.51.100.2") as home:
        assert buy(venue, world.person(), shop.event,
                   ("ticket_type", shop.day1.id, 4)).status_code == 201
        assert buy(venue, world.person(), shop.event,
                   ("ticket_type", shop.day1.id, 3)).status_code == 201
        refused = buy(venue, world.person(), shop.event, ("ticket_type", shop.day1.id, 1))
        assert (refused.status_code, error_code(refused)) == (409, "too_many_held")
        assert buy(home, world.person(), shop.event,
                   ("ticket_type", shop.day1.id, 4)).status_code == 201


def test_a_retried_checkout_with_the_same_key_returns_the_first_order(
    api: httpx.Client, world: World, shop: Shop, session: Session,
) -> None:
    buyer = world.person()
    key = {"Idempotency-Key": "order-attempt-7f3a"}
    body: dict[str, Any] = {"event_id": shop.event.id, "payment_method": "CASH",
                            "items": [{"ticket_type_id": shop.day1.id, "quantity": 2}]}
    first = api.post("/checkout", json=body, headers={**buyer.headers, **key})
    again = api.post("/checkout", json=body, headers={**buyer.headers, **key})
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
    assert held(api, shop) == 2

    other = api.post("/checkout", json={**body, "items": [
        {"ticket_type_id": shop.day1.id, "quantity": 3}]}, headers={**buyer.headers, **key})
    assert (other.status_code, error_code(other)) == (422, "idempotency_key_reused")
    # Another buyer's key is theirs; a key is kept 24 hours.
    stranger = world.person()
    theirs = api.post("/checkout", json=body, headers={**stranger.headers, **key})
    assert theirs.json()["order"]["id"] != first.json()["order"]["id"]
    session.execute(sa.update(IdempotencyKey).values(
        expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    later = api.post("/checkout", json=body, headers={**buyer.headers, **key})
    assert later.status_code == 201
    assert later.json()["order"]["id"] not in (first.json()["order"]["id"],
                                               theirs.json()["order"]["id"])
    bad = api.post("/checkout", json=body, headers={**buyer.headers, "Idempotency-Key": "a b"})
    assert (bad.status_code, error_code(bad)) == (422, "validation_failed")


def test_a_free_order_replayed_has_the_same_tickets(
    api: httpx.Client, world: World, shop: Shop, session: Session,
) -> None:
    free = world.ticket_type(shop.event, shop.organizer, day=shop.event.days[0], price_cents=0,
                             quantity=10)
    buyer = world.person()
    headers = {**buyer.headers, "Idempotency-Key": "free-1"}
    body = {"event_id": shop.event.id, "items": [{"ticket_type_id": free.id, "quantity": 2}]}
    first = api.post("/checkout", json=body, headers=headers)
    again = api.post("/checkout", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert len(first.json()["order"]["tickets"]) == 2


def test_two_concurrent_checkouts_with_one_key_place_one_order(
    app: Flask, world: World, shop: Shop, session: Session,
) -> None:
    buyer = world.person()
    body = {"event_id": shop.event.id, "payment_method": "CASH",
            "items": [{"ticket_type_id": shop.day1.id, "quantity": 1}]}
    def post(start: threading.Barrier, key: str, answers: list[httpx.Response]) -> None:
        with client_from(app, "127.0.0.1") as client:
            start.wait()
            answers.append(client.post("/checkout", json=body, headers={
                **buyer.headers, "Idempotency-Key": key}))

    for round_ in range(4):
        start, answers = threading.Barrier(2), []
        threads = [threading.Thread(target=post, args=(start, f"race-{round_}", answers))
                   for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
        assert answers[0].json() == answers[1].json()
    assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == 4
