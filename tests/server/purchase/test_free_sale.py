"""The flash sale's fast path (orders.free_sale) writes what complete_order writes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.mail.models import OutboxMessage
from sync_server.orders import free_sale, pricing
from sync_server.orders.models import Order, OrderItem
from sync_server.tickets.models import TicketInstance
from tests.server.conftest import World, error_code
from tests.server.purchase.conftest import Shop, buy

ORDER_COLUMNS = ("event_id", "user_id", "units", "subtotal_cents", "discount_cents", "fees_cents",
                 "total_cents", "discount_code_id", "payment_method", "payment_status",
                 "sold_by_seller_id", "sold_by_device_id", "buyer_name", "buyer_email")
TICKET_COLUMNS = ("event_id", "ticket_type_id", "bundle_id", "holder_name", "holder_email",
                  "status", "key_version", "original_owner_id", "current_owner_id",
                  "transferred_at", "cancelled_at")


def _written(session: Session, order_id: int) -> dict[str, Any]:
    """What the database holds for one order (ids and times left out)."""
    session.expire_all()
    order = session.get(Order, order_id)
    assert order is not None
    tickets = session.scalars(sa.select(TicketInstance).where(TicketInstance.order_id == order_id)
                              .order_by(TicketInstance.id)).all()
    return {
        "order": {c: getattr(order, c) for c in ORDER_COLUMNS},
        "completed": order.completed_at is not None,
        "items": [(i.ticket_type_id, i.bundle_id, i.quantity, i.price_per_item_cents,
                   i.subtotal_cents) for i in session.scalars(
                       sa.select(OrderItem).where(OrderItem.order_id == order_id))],
        "tickets": [({c: getattr(t, c) for c in TICKET_COLUMNS},
                     [d.id for d in t.valid_days], t.door_change > 0, bool(t.token))
                    for t in tickets],
        "mail": session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                               .where(OutboxMessage.order_id == order_id)),
    }


def test_the_fast_path_writes_what_complete_order_writes(
    api: httpx.Client, world: World, shop: Shop, session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    free = world.ticket_type(shop.event, shop.organizer, price_cents=0, quantity=10)
    buyer = world.person()
    taken: list[bool] = []
    applies = free_sale.applies

    def spy(*args: Any, **kwargs: Any) -> bool:
        taken.append(applies(*args, **kwargs))
        return taken[-1]

    monkeypatch.setattr(free_sale, "applies", spy)
    fast = buy(api, buyer, shop.event, ("ticket_type", free.id, 2))
    assert fast.status_code == 201, fast.text
    monkeypatch.setattr(free_sale, "applies", lambda *_, **__: taken.append(False) or False)
    slow = buy(api, buyer, shop.event, ("ticket_type", free.id, 2))
    assert slow.status_code == 201, slow.text
    assert taken == [True, False]

    fast_body, slow_body = fast.json()["order"], slow.json()["order"]
    for body in (fast_body, slow_body):  # the answers differ only in ids, numbers and times
        for key in ("id", "order_number", "completed_at", "created_at"):
            body.pop(key)
        for ticket in body["tickets"]:
            for key in ("id", "order_id", "ticket_number", "token", "created_at"):
                ticket.pop(key)
    assert fast_body == slow_body
    assert (_written(session, fast.json()["order"]["id"])
            == _written(session, slow.json()["order"]["id"]))
    row = _written(session, fast.json()["order"]["id"])
    assert row["mail"] == 1 and all(door and token for _, _, door, token in row["tickets"])


def test_a_sold_out_fast_sale_writes_nothing(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    free = world.ticket_type(shop.event, shop.organizer, price_cents=0, quantity=1)
    buyer = world.person()
    assert buy(api, buyer, shop.event, ("ticket_type", free.id, 1)).status_code == 201
    refused = buy(api, buyer, shop.event, ("ticket_type", free.id, 1))
    assert refused.status_code == 409 and error_code(refused) == "sold_out"
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(Order)
                          .where(Order.user_id == buyer.user.id)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)
                          .where(TicketInstance.ticket_type_id == free.id)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                          .join(Order, Order.id == OutboxMessage.order_id)
                          .where(Order.user_id == buyer.user.id)) == 1


def test_a_free_checkout_reads_no_waiting_list(
    api: httpx.Client, world: World, shop: Shop
) -> None:
    """An order placed and completed in one request can be no waiting-list offer's order, so
    the queue's receiver of ``order_completed`` looks nothing up (it cost the flash sale one
    statement and ~14 % of a checkout's CPU)."""
    free = world.ticket_type(shop.event, shop.organizer, price_cents=0, quantity=10)
    buyer = world.person()
    sent: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", seen)
    try:
        answer = buy(api, buyer, shop.event, ("ticket_type", free.id, 1))
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", seen)
    assert answer.status_code == 201, answer.text
    assert any("INSERT INTO orders" in s for s in sent)
    assert not [s for s in sent if "waiting_list" in s]


FREE_LINE = pricing.Line(ticket_type_id=1, bundle_id=None, quantity=2, unit_cents=0)
BUNDLE_LINE = pricing.Line(ticket_type_id=None, bundle_id=1, quantity=1, unit_cents=0)
PAID_LINE = pricing.Line(ticket_type_id=1, bundle_id=None, quantity=1, unit_cents=500)
CASE = {"complimentary": False, "discount_code": None, "seller": False, "device": False,
        "key_version": 1}


@pytest.mark.parametrize(("lines", "changed", "fast"), [
    ([FREE_LINE], {}, True),
    ([FREE_LINE], {"complimentary": True}, False),
    ([FREE_LINE], {"discount_code": "FREE100"}, False),
    ([FREE_LINE], {"seller": True}, False),
    ([FREE_LINE], {"device": True}, False),
    ([FREE_LINE], {"key_version": None}, False),
    ([FREE_LINE, FREE_LINE], {}, False),
    ([BUNDLE_LINE], {}, False),
    ([PAID_LINE], {}, False),
])
def test_the_fast_path_takes_only_the_flash_sale_case(
    lines: list[pricing.Line], changed: dict[str, Any], fast: bool
) -> None:
    price = pricing.quote(lines, discount=None, fees=pricing.Fees())
    assert free_sale.applies(lines, price, **(CASE | changed)) is fast
