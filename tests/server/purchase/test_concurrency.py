"""No oversell under concurrency: many threads, many rounds, racing for the last tickets.

Each round makes a fresh ticket type and bundle with few units, then buyers on their own
connections race: they check out ticket types, bundles or both, some confirm (issuing tickets),
some abandon, some have a hold that is already expired. Afterwards every ticket, hold and order is
counted. PostgreSQL runs the heavy version (row locks really contend); SQLite a small one.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.db import utcnow
from sync_server.errors import ApiError
from sync_server.events.catalog import add_bundle
from sync_server.events.models import Bundle, TicketType
from sync_server.orders.cancellation import cancel_order
from sync_server.orders.models import InventoryHold, Order, OrderItem, PaymentMethod, PaymentStatus
from sync_server.orders.services import WantedLine, checkout, complete_order
from sync_server.tickets.models import TicketInstance
from tests.server.conftest import World
from tests.server.purchase.conftest import SETTINGS


@dataclass
class Tally:
    placed: dict[int, str] = field(default_factory=dict)  # order id -> what the buyer did
    sold_out: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def buyer_thread(app: Flask, seed: int, event_id: int, type_id: int, bundle_id: int,
                 attempts: int, start: threading.Barrier, tally: Tally) -> None:
    rng = random.Random(seed)
    factory = app.extensions["sync_db_sessionmaker"]
    start.wait()
    for _ in range(attempts):
        choice = rng.random()
        wanted = ([WantedLine(type_id, None, rng.randint(1, 3))] if choice < 0.45 else
                  [WantedLine(None, bundle_id, 1)] if choice < 0.75 else
                  [WantedLine(type_id, None, 1), WantedLine(None, bundle_id, 1)])
        fate = rng.choice(["confirm", "confirm", "abandon", "expired", "hold"])
        now = utcnow() - (timedelta(minutes=11) if fate == "expired" else timedelta(0))
        with factory() as session:
            try:
                from sync_server.events.models import Event

                event = session.get(Event, event_id)
                assert event is not None
                order = checkout(session, event=event, buyer=None, wanted=wanted,
                                 buyer_name="Racer", buyer_email="racer@example.test",
                                 payment_method=PaymentMethod.CASH, settings=SETTINGS,
                                 now=now).order
                session.commit()
                if fate == "confirm":
                    complete_order(session, order, method=PaymentMethod.CASH, settings=SETTINGS)
                    session.commit()
                elif fate == "abandon":
                    cancel_order(session, order, by_user=None, reason="abandoned")
                    session.commit()
                with tally.lock:
                    tally.placed[order.id] = fate
            except ApiError as error:
                session.rollback()
                if error.code != "sold_out":
                    with tally.lock:
                        tally.errors.append(f"{error.code}: {error.message}")
                else:
                    with tally.lock:
                        tally.sold_out += 1
            except Exception as error:  # an IntegrityError here would be an oversell
                session.rollback()
                with tally.lock:
                    tally.errors.append(f"{type(error).__name__}: {error}")


def check_round(session: Session, type_id: int, bundle_id: int, tally: Tally) -> int:
    session.expire_all()
    now = utcnow()
    issued = 0
    rows: list[tuple[TicketType | Bundle | None, str, int]] = [
        (session.get(TicketType, type_id), "ticket_type_id", type_id),
        (session.get(Bundle, bundle_id), "bundle_id", bundle_id)]
    for row, column, ident in rows:
        assert row is not None
        instances = session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)
                                   .where(getattr(TicketInstance, column) == ident))
        completed_units = session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(OrderItem.quantity), 0))
            .join(Order, Order.id == OrderItem.order_id)
            .where(getattr(OrderItem, column) == ident,
                   Order.payment_status == PaymentStatus.COMPLETED))
        unreleased = session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(InventoryHold.quantity), 0))
            .where(getattr(InventoryHold, column) == ident, InventoryHold.released_at.is_(None)))
        live = session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(InventoryHold.quantity), 0))
            .where(getattr(InventoryHold, column) == ident, InventoryHold.released_at.is_(None),
                   InventoryHold.expires_at > now))
        assert row.quantity_sold == instances == completed_units, (column, ident)
        assert row.quantity_reserved == unreleased, (column, ident)
        assert row.quantity_sold + int(live or 0) <= row.quantity_total, (column, ident)
        issued += int(instances or 0)
    # No order lost: every order a buyer was told about exists, in the state they left it.
    states = dict(session.execute(sa.select(Order.id, Order.payment_status)
                                  .where(Order.id.in_(list(tally.placed)))).all())
    expected = {"confirm": PaymentStatus.COMPLETED, "abandon": PaymentStatus.FAILED,
                "expired": PaymentStatus.PENDING, "hold": PaymentStatus.PENDING}
    assert {i: states.get(i) for i in tally.placed} == {
        i: expected[f] for i, f in tally.placed.items()}
    return issued


@pytest.mark.slow
def test_many_buyers_never_oversell(app: Flask, world: World, session: Session,
                                    database_url: str) -> None:
    heavy = database_url.startswith("postgresql")
    threads, rounds, attempts = (12, 10, 10) if heavy else (4, 2, 5)
    organizer = world.person()
    event = world.event(organizer)
    event.max_tickets_per_order = 10
    session.commit()
    outcomes: Counter[str] = Counter()
    for round_number in range(rounds):
        ticket_type = world.ticket_type(event, organizer, quantity=12 if heavy else 6)
        bundle = add_bundle(session, event, user=organizer.user, values={
            "name": f"Pass {round_number}", "price_cents": 4000,
            "quantity_total": 6 if heavy else 3, "event_day_ids": [d.id for d in event.days]})
        session.commit()
        tally = Tally()
        start = threading.Barrier(threads)
        workers = [threading.Thread(target=buyer_thread, args=(
            app, round_number * 1000 + n, event.id, ticket_type.id, bundle.id, attempts, start,
            tally)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert not any(w.is_alive() for w in workers)
        assert tally.errors == []
        assert tally.sold_out > 0, "demand must exceed supply for the race to mean anything"
        check_round(session, ticket_type.id, bundle.id, tally)
        outcomes.update(tally.placed.values())
    assert outcomes["confirm"] > 0 and outcomes["expired"] > 0 and outcomes["abandon"] > 0
