"""An order's ``units`` (migration 0016) is the sum of its items' quantities on every way an
order is made, and the analytics that read it instead of the items give the figures a count of
the rows gives: tickets per slice and per ticket type or bundle, over completed orders only,
with pending, failed and refunded orders and another event's orders beside them."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.events.models import TicketType
from sync_server.orders.batch_holds import hold_for_each
from sync_server.orders.models import Order, OrderItem, PaymentMethod, PaymentStatus
from sync_server.orders.services import complete_order
from sync_server.reports.services import analytics
from tests.server.conftest import World
from tests.server.purchase.conftest import SETTINGS, Shop, buy


def _units_by_order(session: Session) -> dict[int, tuple[int, int]]:
    """order id -> (its units, the sum of its items' quantities)."""
    session.expire_all()
    summed = {order_id: int(n) for order_id, n in session.execute(
        sa.select(OrderItem.order_id, sa.func.sum(OrderItem.quantity))
        .group_by(OrderItem.order_id))}
    return {o.id: (o.units, summed.get(o.id, 0)) for o in session.scalars(sa.select(Order))}


def _sales(api: httpx.Client, world: World, shop: Shop, session: Session) -> None:
    """Orders made every way the server makes them, in several states."""
    buyer = world.person()
    free = world.ticket_type(shop.event, shop.organizer, price_cents=0, quantity=50)
    made = [buy(api, buyer, shop.event, *lines).json()["order"]["id"] for lines in (
        [("ticket_type", shop.day1.id, 2), ("ticket_type", shop.day2.id, 1),
         ("bundle", shop.bundle.id, 1)],  # three items, 4 units
        [("ticket_type", shop.day1.id, 3)],
        [("bundle", shop.bundle.id, 2), ("ticket_type", shop.day2.id, 2)],
        [("ticket_type", shop.day2.id, 1)],  # left PENDING
        [("ticket_type", free.id, 2)],  # the free fast path (orders.free_sale): COMPLETED
    )]
    held = hold_for_each(session, event=shop.event, ticket_type_id=shop.day1.id,
                         buyers=[(buyer.user, 3), (world.person().user, 1)],
                         settings=SETTINGS, now=datetime.now(UTC))
    session.commit()
    for order_id in made[:3]:
        order = session.get(Order, order_id)
        assert order is not None
        complete_order(session, order, method=PaymentMethod.CASH, settings=SETTINGS)
    refunded = session.get(Order, made[2])
    assert refunded is not None
    refunded.payment_status = PaymentStatus.REFUNDED
    failed = session.get(Order, held[1].id)
    assert failed is not None
    failed.payment_status = PaymentStatus.FAILED
    session.commit()
    elsewhere = world.event(shop.organizer)  # another event's completed order
    other = world.ticket_type(elsewhere, shop.organizer, price_cents=0, quantity=10)
    assert buy(api, buyer, elsewhere, ("ticket_type", other.id, 4)).status_code == 201


def test_every_way_of_making_an_order_stores_its_units(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    _sales(api, world, shop, session)
    units = _units_by_order(session)
    assert len(units) == 8 and all(u > 0 for u, _summed in units.values())
    assert {order: stored for order, (stored, _summed) in units.items()} == {
        order: summed for order, (_stored, summed) in units.items()}


def test_the_analytics_give_what_a_count_of_the_rows_gives(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    _sales(api, world, shop, session)
    session.expire_all()
    done = [o for o in session.scalars(sa.select(Order).where(Order.event_id == shop.event.id))
            if o.payment_status is PaymentStatus.COMPLETED]
    assert len(done) == 3  # two paid (one refunded), the free one
    sold: dict[tuple[int | None, int | None], list[int]] = {}
    per_slice: dict[int, list[int]] = {}
    found = analytics(session, shop.event.id)
    for order in done:
        at = order.completed_at or order.created_at
        row = per_slice.setdefault(int(at.timestamp()) // found.slice_seconds, [0, 0, 0])
        row[0] += 1
        row[2] += order.total_cents
        for item in order.items:
            row[1] += item.quantity
            cell = sold.setdefault((item.ticket_type_id, item.bundle_id), [0, 0])
            cell[0] += item.quantity
            cell[1] += item.subtotal_cents
    assert {int(s.start.timestamp()) // found.slice_seconds: [s.orders, s.tickets, s.gross_cents]
            for s in found.sales if s.orders} == per_slice
    assert found.tickets == sum(units for units, _cents in sold.values()) == 2 + 1 + 1 + 3 + 2
    assert found.orders == 3 and found.refunded_orders == 1
    names = {(t.id, None): t.name for t in session.scalars(
        sa.select(TicketType).where(TicketType.event_id == shop.event.id))}
    names |= {(None, shop.bundle.id): shop.bundle.name}
    assert {t.name: [t.sold, t.gross_cents] for t in found.types if t.sold} == {
        names[key]: cell for key, cell in sold.items()}
