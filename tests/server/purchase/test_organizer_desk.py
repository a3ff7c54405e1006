"""The organizer's side: order list, fees, tidying lapsed holds, concurrent confirmations."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.errors import ApiError
from sync_server.events.models import TicketType
from sync_server.orders.cancellation import tidy_expired_orders
from sync_server.orders.models import Order, PaymentMethod, PaymentStatus
from sync_server.orders.services import WantedLine, checkout, complete_order
from sync_server.tickets.models import TicketInstance
from tests.server.conftest import World, error_code
from tests.server.purchase.conftest import SETTINGS, Shop, buy


def test_orders_list_and_fees(api: httpx.Client, world: World, shop: Shop) -> None:
    buyer = world.person()
    for _ in range(3):
        assert buy(api, buyer, shop.event, ("ticket_type", shop.day1.id, 1)).status_code == 201
    listed = api.get(f"/events/{shop.event.id}/orders", headers=shop.organizer.headers,
                     params={"status": "PENDING", "per_page": 2})
    assert listed.status_code == 200
    assert (listed.json()["total"], len(listed.json()["orders"])) == (3, 2)
    assert api.get(f"/events/{shop.event.id}/fees", headers=shop.organizer.headers).json() == {
        "percent_bp": 0, "fixed_cents": 0}
    refused = api.put(f"/events/{shop.event.id}/fees", headers=shop.organizer.headers,
                      json={"percent_bp": 250, "fixed_cents": 99})
    assert (refused.status_code, error_code(refused)) == (403, "forbidden")
    admin = world.person(is_admin=True)
    assert api.put(f"/events/{shop.event.id}/fees", headers=admin.headers,
                   json={"percent_bp": 250, "fixed_cents": 99}).status_code == 200
    order = buy(api, buyer, shop.event, ("ticket_type", shop.day1.id, 2)).json()["order"]
    # 2.5 % of 5000 = 125, plus 2 x 99.
    assert (order["fees_cents"], order["total_cents"]) == (323, 5323)


def test_tidying_releases_lapsed_holds_and_fails_their_orders(
    world: World, shop: Shop, session: Session
) -> None:
    past = datetime.now(UTC) - timedelta(minutes=30)
    lapsed = checkout(session, event=shop.event, buyer=None,
                      wanted=[WantedLine(shop.day1.id, None, 3)], buyer_name="L",
                      buyer_email="l@example.test", settings=SETTINGS, now=past).order
    live = checkout(session, event=shop.event, buyer=None,
                    wanted=[WantedLine(shop.day1.id, None, 2)], buyer_name="N",
                    buyer_email="n@example.test", settings=SETTINGS).order
    session.commit()
    assert tidy_expired_orders(session) == 1
    session.commit()
    session.expire_all()
    assert session.get(Order, lapsed.id).payment_status is PaymentStatus.FAILED  # type: ignore[union-attr]
    assert session.get(Order, live.id).payment_status is PaymentStatus.PENDING  # type: ignore[union-attr]
    assert session.get(TicketType, shop.day1.id).quantity_reserved == 2  # type: ignore[union-attr]


def test_concurrent_confirmations_issue_the_tickets_once(
    app: Flask, world: World, shop: Shop, session: Session
) -> None:
    order = checkout(session, event=shop.event, buyer=None,
                     wanted=[WantedLine(shop.day1.id, None, 3)], buyer_name="C",
                     buyer_email="c@example.test", payment_method=PaymentMethod.CASH,
                     settings=SETTINGS).order
    session.commit()
    factory = app.extensions["sync_db_sessionmaker"]
    start = threading.Barrier(6)
    results: list[str] = []
    lock = threading.Lock()

    def confirm() -> None:
        with factory() as own:
            mine = own.get(Order, order.id)
            assert mine is not None
            start.wait()
            try:
                outcome = complete_order(own, mine, method=PaymentMethod.CASH, settings=SETTINGS)
                own.commit()
                result = f"issued {len(outcome.issued)}"
            except ApiError as error:  # pragma: no cover - would fail the assertion below
                result = error.code
            with lock:
                results.append(result)

    threads = [threading.Thread(target=confirm) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == ["issued 0"] * 5 + ["issued 3"]
    assert session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)) == 3
    session.expire_all()
    row = session.get(TicketType, shop.day1.id)
    assert row is not None and (row.quantity_sold, row.quantity_reserved) == (3, 0)
