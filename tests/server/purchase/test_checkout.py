"""Checkout over real HTTP: holds, availability, limits, free orders, confirmation, codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from shared.ticket_token import verify
from sync_server.events.models import Bundle, EventStatus, TicketType
from sync_server.keys.services import keyring_for_event
from sync_server.orders import holds
from sync_server.orders.models import (
    InventoryHold,
    Order,
    PaymentMethod,
    PaymentStatus,
    ReleaseReason,
)
from sync_server.orders.services import complete_order
from sync_server.tickets.models import TicketInstance
from tests.server.conftest import MASTER_SECRET, World, error_code
from tests.server.purchase.conftest import SETTINGS, Shop, buy


def available(api: httpx.Client, shop: Shop) -> dict[str, int]:
    body = api.get(f"/events/{shop.event.id}/availability").json()
    found = {f"tt{r['id']}": r["available"] for r in body["ticket_types"]}
    found |= {f"b{r['id']}": r["available"] for r in body["bundles"]}
    return found


def test_checkout_holds_inventory_and_places_a_pending_order(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    buyer = world.person("Bea Buyer")
    response = buy(api, buyer, shop.event, ("ticket_type", shop.day1.id, 2),
                   ("bundle", shop.bundle.id, 1))
    assert response.status_code == 201, response.text
    order = response.json()["order"]
    assert order["payment_status"] == "PENDING"
    assert order["payment_method"] == "CASH"
    assert (order["subtotal_cents"], order["total_cents"]) == (10000, 10000)
    assert order["buyer_email"] == buyer.user.email and order["tickets"] == []
    expires = datetime.fromisoformat(order["hold_expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=9) < expires - datetime.now(UTC) <= timedelta(minutes=10)
    left = available(api, shop)
    assert left[f"tt{shop.day1.id}"] == 98 and left[f"b{shop.bundle.id}"] == 19
    assert left[f"tt{shop.day2.id}"] == 100
    session.expire_all()
    assert session.get(TicketType, shop.day1.id).quantity_reserved == 2  # type: ignore[union-attr]
    assert session.get(Bundle, shop.bundle.id).quantity_reserved == 1  # type: ignore[union-attr]


def test_an_expired_hold_stops_counting_at_once_and_is_released_by_the_next_buyer(
    app: Flask, world: World, shop: Shop, session: Session
) -> None:
    from sync_server.orders.services import WantedLine, checkout

    buyer = world.person()
    shop.event.max_tickets_per_order = 20
    session.commit()
    start = datetime.now(UTC)
    first = checkout(session, event=shop.event, buyer=buyer.user,
                     wanted=[WantedLine(None, shop.bundle.id, 20)], buyer_name="A",
                     buyer_email="a@example.test", settings=SETTINGS, now=start).order
    session.commit()
    stock = holds.Stock("bundle", shop.bundle.id)
    assert holds.availability(session, shop.event.id, start)[stock].available == 0
    later = start + timedelta(minutes=10)  # the hold's expiry instant: no longer counts
    assert holds.availability(session, shop.event.id, later)[stock].available == 20
    second = checkout(session, event=shop.event, buyer=buyer.user,
                      wanted=[WantedLine(None, shop.bundle.id, 20)], buyer_name="B",
                      buyer_email="b@example.test", settings=SETTINGS, now=later).order
    session.commit()
    released = session.scalars(sa.select(InventoryHold).where(
        InventoryHold.order_id == first.id)).one()
    assert released.release_reason is ReleaseReason.EXPIRED
    session.expire_all()
    assert session.get(Bundle, shop.bundle.id).quantity_reserved == 20  # type: ignore[union-attr]
    # The first buyer's payment arrives late: its units went to the second buyer.
    import pytest

    from sync_server.errors import ApiError

    with pytest.raises(ApiError) as refused:
        complete_order(session, first, method=PaymentMethod.CASH, settings=SETTINGS, now=later)
    assert refused.value.code == "sold_out"
    session.rollback()
    done = complete_order(session, second, method=PaymentMethod.CASH, settings=SETTINGS, now=later)
    session.commit()
    assert len(done.issued) == 20
    session.expire_all()
    row = session.get(Bundle, shop.bundle.id)
    assert row is not None and (row.quantity_sold, row.quantity_reserved) == (20, 0)


def test_sold_out_is_a_409_and_nothing_is_written(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    buyer = world.person()
    assert buy(api, buyer, shop.event, ("bundle", shop.bundle.id, 10)).status_code == 201
    assert buy(api, buyer, shop.event, ("bundle", shop.bundle.id, 10)).status_code == 201
    orders_before = session.scalar(sa.select(sa.func.count()).select_from(Order))
    refused = buy(api, buyer, shop.event, ("ticket_type", shop.day1.id, 1),
                  ("bundle", shop.bundle.id, 1))
    assert (refused.status_code, error_code(refused)) == (409, "sold_out")
    assert f"bundle:{shop.bundle.id}" in refused.json()["error"]["fields"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == orders_before
    assert available(api, shop)[f"tt{shop.day1.id}"] == 100


def test_checkout_refuses_bad_requests_with_field_errors(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    buyer = world.person()
    other = world.event(world.person())
    foreign = world.ticket_type(other, world.person())
    shop.day2.sales_start = datetime.now(UTC) + timedelta(days=1)
    session.commit()
    cases = [
        ((("ticket_type", foreign.id, 1),), "items.0"),
        ((("ticket_type", shop.day2.id, 1),), "items.0"),  # not on sale yet
        ((("ticket_type", shop.day1.id, 11),), "items.0"),  # above max_per_order 10
        ((("ticket_type", shop.day1.id, 1), ("ticket_type", shop.day1.id, 1)), "items.1"),
        ((("ticket_type", shop.day1.id, 6), ("bundle", shop.bundle.id, 5)), "items"),  # > 10
    ]
    for items, field in cases:
        response = buy(api, buyer, shop.event, *items)
        assert (response.status_code, error_code(response)) == (422, "validation_failed"), items
        assert field in response.json()["error"]["fields"], response.text
    both = api.post("/checkout", headers=buyer.headers, json={
        "event_id": shop.event.id,
        "items": [{"ticket_type_id": shop.day1.id, "bundle_id": shop.bundle.id, "quantity": 1}]})
    assert both.status_code == 422
    missing = api.post("/checkout", headers=buyer.headers,
                       json={"event_id": 999999, "items": [{"bundle_id": 1, "quantity": 1}]})
    assert (missing.status_code, error_code(missing)) == (404, "not_found")
    draft = world.event(shop.organizer, published=False)
    draft_type = world.ticket_type(draft, shop.organizer)
    closed = buy(api, buyer, draft, ("ticket_type", draft_type.id, 1))
    assert (closed.status_code, error_code(closed)) == (409, "invalid_state")
    assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_a_free_order_completes_at_once_with_signed_tickets(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    free = world.ticket_type(shop.event, shop.organizer, price_cents=0, quantity=5)
    buyer = world.person()
    response = buy(api, buyer, shop.event, ("ticket_type", free.id, 3))
    assert response.status_code == 201, response.text
    order = response.json()["order"]
    assert (order["payment_status"], order["payment_method"]) == ("COMPLETED", "FREE")
    assert len(order["tickets"]) == 3
    numbers = {t["ticket_number"] for t in order["tickets"]}
    assert len(numbers) == 3 and all(len(n) == 9 and n[4] == "-" for n in numbers)
    keyring = keyring_for_event(session, shop.event.id, MASTER_SECRET)
    for ticket in order["tickets"]:
        result = verify(ticket["token"], keyring, {shop.event.id})
        assert result.claims is not None and result.claims.ticket_id == ticket["id"], result
        assert len(ticket["valid_day_ids"]) == 2  # a whole-event ticket
    session.expire_all()
    row = session.get(TicketType, free.id)
    assert row is not None and (row.quantity_sold, row.quantity_reserved) == (3, 0)
    assert session.scalar(sa.select(sa.func.count()).select_from(InventoryHold)) == 0


def test_confirming_twice_issues_once_and_cash_is_confirmed_later(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    buyer = world.person()
    created = buy(api, buyer, shop.event, ("ticket_type", shop.day1.id, 2),
                  payment_method="CASH").json()["order"]
    assert (created["payment_method"], created["payment_status"]) == ("CASH", "PENDING")
    order = session.get(Order, created["id"])
    assert order is not None
    first = complete_order(session, order, method=PaymentMethod.CASH, settings=SETTINGS,
                          by_user=shop.organizer.user)
    session.commit()
    again = complete_order(session, order, method=PaymentMethod.CASH, settings=SETTINGS)
    session.commit()
    assert (len(first.issued), first.completed_now) == (2, True)
    assert (again.issued, again.completed_now) == ([], False)
    assert session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)) == 2
    mine = api.get("/me/orders", headers=buyer.headers).json()["orders"]
    assert [o["payment_status"] for o in mine] == ["COMPLETED"]
    assert len(mine[0]["tickets"]) == 2
    session.expire_all()
    row = session.get(TicketType, shop.day1.id)
    assert row is not None and (row.quantity_sold, row.quantity_reserved) == (2, 0)


def test_discount_codes_price_the_order_and_count_uses_on_completion(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    now = datetime.now(UTC)
    code = api.post(f"/events/{shop.event.id}/discount-codes", headers=shop.organizer.headers,
                    json={"code": "early20", "discount_type": "PERCENTAGE", "value": 20,
                          "valid_from": (now - timedelta(hours=1)).isoformat(),
                          "valid_until": (now + timedelta(hours=1)).isoformat(),
                          "max_uses": 2, "max_uses_per_user": 1,
                          "ticket_type_ids": [shop.day1.id]})
    assert code.status_code == 201, code.text
    assert code.json()["discount_code"]["code"] == "EARLY20"
    ann, bob, cy = world.person(), world.person(), world.person()
    order = buy(api, ann, shop.event, ("ticket_type", shop.day1.id, 2),
                ("ticket_type", shop.day2.id, 1), discount_code="Early20").json()["order"]
    # 20 % of the two day-1 tickets only: 1000 of 5000 off.
    assert (order["subtotal_cents"], order["discount_cents"], order["total_cents"]) == (
        8000, 1000, 7000)
    pending = [buy(api, p, shop.event, ("ticket_type", shop.day1.id, 1),
                   discount_code="EARLY20").json()["order"] for p in (bob, cy)]
    # Three PENDING orders priced with a two-use code: uses count only on completion.
    for created in [order, *pending[:1]]:
        row = session.get(Order, created["id"])
        assert row is not None
        complete_order(session, row, method=PaymentMethod.CASH, settings=SETTINGS)
        session.commit()
    late = session.get(Order, pending[1]["id"])
    assert late is not None
    import pytest

    from sync_server.errors import ApiError

    with pytest.raises(ApiError) as used_up:
        complete_order(session, late, method=PaymentMethod.CASH, settings=SETTINGS)
    assert used_up.value.code == "discount_code_used_up"
    session.rollback()
    session.expire_all()
    assert session.get(Order, late.id).payment_status is PaymentStatus.PENDING  # type: ignore[union-attr]
    codes = api.get(f"/events/{shop.event.id}/discount-codes",
                    headers=shop.organizer.headers).json()["discount_codes"]
    assert codes[0]["current_uses"] == 2
    again = buy(api, ann, shop.event, ("ticket_type", shop.day1.id, 1), discount_code="EARLY20")
    assert (again.status_code, error_code(again)) == (422, "validation_failed")
    unknown = buy(api, ann, shop.event, ("ticket_type", shop.day1.id, 1), discount_code="NOPE")
    assert unknown.json()["error"]["fields"] == {"discount_code": ["no such code"]}


def test_checkout_is_rate_limited_per_user(
    app: Flask, api: httpx.Client, world: World, shop: Shop
) -> None:
    # A day-long window: the test never straddles two windows in practice.
    app.extensions["sync_config"] = app.extensions["sync_config"].model_copy(update=dict(
        checkout_limit_per_user=3, checkout_window_seconds=86400))
    buyer, other = world.person(), world.person()
    codes = [buy(api, buyer, shop.event, ("ticket_type", shop.day1.id, 1)).status_code
             for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    assert buy(api, other, shop.event, ("ticket_type", shop.day1.id, 1)).status_code == 201
    # 5 checkouts counted from this address so far (the refused one too).
    app.extensions["sync_config"] = app.extensions["sync_config"].model_copy(update=dict(
        checkout_limit_per_user=0, checkout_limit_per_address=4))
    third = world.person()
    limited = buy(api, third, shop.event, ("ticket_type", shop.day1.id, 1))
    assert (limited.status_code, error_code(limited)) == (429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1


def test_refused_checkouts_count_too_and_both_limits_share_one_statement(
    app: Flask, api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    from sync_server.ratelimit.models import RateLimit

    app.extensions["sync_config"] = app.extensions["sync_config"].model_copy(update=dict(
        checkout_limit_per_user=2, checkout_limit_per_address=1000, checkout_window_seconds=86400))
    buyer = world.person()
    # The engine refuses these (no such ticket type); each was counted first, in a short
    # transaction of its own (ratelimit.services.count), which their rollback leaves alone.
    refused = [buy(api, buyer, shop.event, ("ticket_type", 999_999, 1)) for _ in range(2)]
    assert [(r.status_code, error_code(r)) for r in refused] == [(422, "validation_failed")] * 2
    third = buy(api, buyer, shop.event, ("ticket_type", shop.day1.id, 1))
    assert (third.status_code, error_code(third)) == (429, "rate_limited")
    counts = {s.split(":")[0]: c for s, c in session.execute(
        sa.select(RateLimit.subject, RateLimit.count).where(RateLimit.action == "checkout"))}
    # The third was refused by the limit, and counted like every attempt.
    assert counts == {"user": 3, "addr": 3}
    again = buy(api, buyer, shop.event, ("ticket_type", shop.day1.id, 1))
    assert (again.status_code, error_code(again)) == (429, "rate_limited")


def test_complimentary_tickets_and_the_event_status_gate(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    response = api.post(f"/events/{shop.event.id}/complimentary",
                        headers=shop.organizer.headers,
                        json={"items": [{"bundle_id": shop.bundle.id, "quantity": 2}],
                              "holder_name": "Guest DJ", "holder_email": "dj@example.test"})
    assert response.status_code == 201, response.text
    order = response.json()["order"]
    assert (order["payment_method"], order["total_cents"], len(order["tickets"])) == (
        "FREE", 0, 2)
    assert order["user_id"] is None
    # A bundle's tickets are valid on each of its days.
    assert [len(t["valid_day_ids"]) for t in order["tickets"]] == [2, 2]
    assert available(api, shop)[f"b{shop.bundle.id}"] == 18
    over = world.event(shop.organizer)
    over.starts_at = datetime.now(UTC) - timedelta(days=2)
    over.ends_at = datetime.now(UTC) - timedelta(days=1)
    old_tier = world.ticket_type(over, shop.organizer)
    late = buy(api, world.person(), over, ("ticket_type", old_tier.id, 1))
    assert (late.status_code, error_code(late)) == (409, "invalid_state")
    assert late.json()["error"]["message"] == "this event is over"
    shop.event.status = EventStatus.CANCELLED
    session.commit()
    refused = buy(api, world.person(), shop.event, ("ticket_type", shop.day1.id, 1))
    assert (refused.status_code, error_code(refused)) == (409, "invalid_state")


def test_a_free_order_behind_expired_holds_releases_them_and_is_numbered_for_the_doors(
    world: World, shop: Shop, session: Session
) -> None:
    """The common free sale is counted by its insert statement (PostgreSQL); when lapsed holds
    make the row look full, the slow way releases them, and the tickets still get a door change
    number. One unit more than is free is refused and leaves nothing behind."""
    from sync_server.errors import ApiError
    from sync_server.orders.services import WantedLine, checkout

    small = world.ticket_type(shop.event, shop.organizer, price_cents=1000, quantity=3)
    start = datetime.now(UTC)
    held = checkout(session, event=shop.event, buyer=world.person().user,
                    wanted=[WantedLine(small.id, None, 3)], buyer_name="Holder",
                    buyer_email="h@example.test", settings=SETTINGS, now=start).order
    session.commit()
    later = start + timedelta(minutes=11)  # the hold lapsed; nobody tidied it
    comp = checkout(session, event=shop.event, buyer=None, wanted=[WantedLine(small.id, None, 2)],
                    buyer_name="Guest", buyer_email="g@example.test", settings=SETTINGS,
                    complimentary=True, by_user=shop.organizer.user, now=later)
    session.commit()
    assert comp.order.payment_status is PaymentStatus.COMPLETED and len(comp.issued) == 2
    session.expire_all()
    tickets = session.scalars(sa.select(TicketInstance)
                              .where(TicketInstance.order_id == comp.order.id)).all()
    assert len(tickets) == 2 and all(t.door_change > 0 for t in tickets)
    assert session.scalars(sa.select(InventoryHold.release_reason)
                           .where(InventoryHold.order_id == held.id)).one() is (
        ReleaseReason.EXPIRED)
    row = session.get(TicketType, small.id)
    assert row is not None and (row.quantity_sold, row.quantity_reserved) == (2, 0)
    with pytest.raises(ApiError) as refused:
        checkout(session, event=shop.event, buyer=None, wanted=[WantedLine(small.id, None, 2)],
                 buyer_name="Late", buyer_email="l@example.test", settings=SETTINGS,
                 complimentary=True, by_user=shop.organizer.user, now=later)
    assert refused.value.code == "sold_out"
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Order)
                          .where(Order.buyer_name == "Late")) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)
                          .where(TicketInstance.ticket_type_id == small.id)) == 2


def test_a_free_checkout_sells_a_unit_whose_hold_lapsed(
    app: Flask, api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    """When lapsed holds make the row look full, the checkout releases them under the row lock
    and sells; a row full for real answers 409 ``sold_out``."""
    small = world.ticket_type(shop.event, shop.organizer, price_cents=0, quantity=2)
    buyer = world.person()
    for _ in range(2):
        assert buy(api, buyer, shop.event, ("ticket_type", small.id, 1)).status_code == 201
    assert buy(api, buyer, shop.event, ("ticket_type", small.id, 1)).status_code == 409

    # A unit held by an order whose hold lapsed (priced then; the organizer made it free).
    from sync_server.orders.services import WantedLine, checkout

    lapsing = world.ticket_type(shop.event, shop.organizer, price_cents=1000, quantity=1)
    past = datetime.now(UTC) - timedelta(minutes=11)
    held = checkout(session, event=shop.event, buyer=world.person().user,
                    wanted=[WantedLine(lapsing.id, None, 1)], buyer_name="Holder",
                    buyer_email="h@example.test", settings=SETTINGS, now=past).order
    lapsing.price_cents = 0
    session.commit()
    third = buy(api, buyer, shop.event, ("ticket_type", lapsing.id, 1))
    assert third.status_code == 201, third.text
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)
                          .where(TicketInstance.ticket_type_id == lapsing.id)) == 1
    assert session.scalars(sa.select(InventoryHold.release_reason)
                           .where(InventoryHold.order_id == held.id)).one() is (
        ReleaseReason.EXPIRED)
    row = session.get(TicketType, lapsing.id)
    assert row is not None and (row.quantity_sold, row.quantity_reserved) == (1, 0)
    assert session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)
                          .where(TicketInstance.ticket_type_id == small.id)) == 2


def test_online_cash_orders_are_refused_unless_the_server_allows_them(
    api: httpx.Client, app: Flask, shop: Shop, world: World, session: Session
) -> None:
    """Issue #13, "inventory held for free": an online CASH order held tickets with no payment
    under way. By default cash is for the box office only (SYNC_ONLINE_CASH_ORDERS)."""
    buyer = world.person()
    config = app.extensions["sync_config"]
    app.extensions["sync_config"] = config.model_copy(update={"online_cash_orders": False})
    try:
        before = available(api, shop)
        refused = buy(api, buyer, shop.event, ("ticket_type", shop.day1.id, 2))
        assert (refused.status_code, error_code(refused)) == (422, "validation_failed")
        assert "payment_method" in refused.json()["error"]["fields"]
        assert available(api, shop) == before  # nothing held
        assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    finally:
        app.extensions["sync_config"] = config
    allowed = buy(api, buyer, shop.event, ("ticket_type", shop.day1.id, 2))
    assert allowed.status_code == 201  # a server that opts in (the tests' default)
