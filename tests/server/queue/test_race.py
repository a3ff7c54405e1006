"""The waiting list under concurrency: buyers whose holds lapse, confirm or are abandoned,
people in line accepting, declining or ignoring their offers, and TWO jobs workers advancing the
same line at once. Afterwards every ticket, hold, order and entry is counted: nothing oversold,
no ticket offered twice, no offer without its reserved ticket, no ticket left idle while someone
waits. PostgreSQL runs it for real (row locks contend across connections); SQLite a small one.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from sync_server import create_app
from sync_server.db import utcnow
from sync_server.errors import ApiError
from sync_server.events.models import Event, TicketType
from sync_server.jobs.registry import JobContext, advance_queues, tidy_holds
from sync_server.migrate import upgrade
from sync_server.orders.cancellation import cancel_order
from sync_server.orders.models import InventoryHold, Order, OrderItem, PaymentMethod, PaymentStatus
from sync_server.orders.services import PurchaseSettings, WantedLine, checkout, complete_order
from sync_server.queue import services as queue
from sync_server.queue.models import WaitingListEntry, WaitingStatus
from sync_server.tickets.models import TicketInstance, TicketStatus
from tests.server.conftest import MASTER_SECRET, World, server_config
from tests.support.apps import close_app

UNITS = 8


@dataclass
class Tally:
    errors: list[str] = field(default_factory=list)
    done: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, what: str) -> None:
        with self.lock:
            self.done[what] += 1


def _buyer(app: Flask, seed: int, event_id: int, tier_id: int, stop: threading.Event,
           tally: Tally) -> None:
    rng = random.Random(seed)
    factory = app.extensions["sync_db_sessionmaker"]
    settings = PurchaseSettings(master_secret=MASTER_SECRET, hold_minutes=rng.uniform(0.005, 0.02))
    with app.app_context():
        while not stop.is_set():
            with factory() as session:
                try:
                    event = session.get(Event, event_id)
                    assert event is not None
                    order = checkout(session, event=event, buyer=None, buyer_name="B",
                                     buyer_email=f"b{seed}@example.test", settings=settings,
                                     wanted=[WantedLine(tier_id, None, 1)],
                                     payment_method=PaymentMethod.CASH).order
                    session.commit()
                    fate = rng.choice(["confirm", "abandon", "lapse", "lapse"])
                    if fate == "confirm":
                        complete_order(session, order, method=PaymentMethod.CASH,
                                       settings=settings)
                    elif fate == "abandon":
                        cancel_order(session, order, by_user=None, reason="abandoned")
                    session.commit()
                    tally.note(fate)
                except ApiError as error:
                    session.rollback()
                    tally.note(error.code)
                except Exception as error:
                    session.rollback()
                    with tally.lock:
                        tally.errors.append(f"buyer: {type(error).__name__}: {error}")
            time.sleep(rng.uniform(0.0, 0.05))


def _waiter(app: Flask, seed: int, user_ids: list[int], stop: threading.Event,
            tally: Tally) -> None:
    rng = random.Random(seed)
    factory = app.extensions["sync_db_sessionmaker"]
    settings = queue.QueueSettings.from_config(app.extensions["sync_config"])
    with app.app_context():
        while not stop.is_set():
            with factory() as session:
                try:
                    offers = list(session.scalars(sa.select(WaitingListEntry).where(
                        WaitingListEntry.user_id.in_(user_ids),
                        WaitingListEntry.status == WaitingStatus.OFFERED)))
                    for entry in offers:
                        fate = rng.choice(["accept", "accept", "decline", "ignore"])
                        try:
                            if fate == "accept":
                                queue.accept(session, entry, settings=settings)
                                # paid: the card payment arrives (cash stands in for it)
                                order = session.get(Order, entry.order_id)
                                assert order is not None
                                if order.payment_status is PaymentStatus.PENDING:
                                    complete_order(session, order, method=PaymentMethod.CASH,
                                                   settings=settings.purchase)
                            elif fate == "decline":
                                queue.decline(session, entry)
                            session.commit()
                            tally.note(fate)
                        except ApiError as error:
                            session.rollback()
                            tally.note(error.code)
                except Exception as error:
                    session.rollback()
                    with tally.lock:
                        tally.errors.append(f"waiter: {type(error).__name__}: {error}")
            time.sleep(rng.uniform(0.01, 0.1))


def _worker(app: Flask, stop: threading.Event, tally: Tally) -> None:
    ctx = JobContext(app=app, config=app.extensions["sync_config"],
                     factory=app.extensions["sync_db_sessionmaker"])
    with app.app_context():
        while not stop.is_set():
            try:
                result = advance_queues(ctx)
                tally.note(f"worker offered {result['offered']}")
                tidy_holds(ctx)
            except Exception as error:
                with tally.lock:
                    tally.errors.append(f"worker: {type(error).__name__}: {error}")
            time.sleep(0.05)


def _count(app: Flask, tier_id: int) -> None:
    factory = app.extensions["sync_db_sessionmaker"]
    now = utcnow()
    with factory() as s:
        tier = s.get(TicketType, tier_id)
        assert tier is not None
        valid = s.scalar(sa.select(sa.func.count()).select_from(TicketInstance).where(
            TicketInstance.ticket_type_id == tier_id, TicketInstance.status == TicketStatus.VALID))
        completed = s.scalar(sa.select(sa.func.coalesce(sa.func.sum(OrderItem.quantity), 0))
                             .join(Order).where(OrderItem.ticket_type_id == tier_id,
                                                Order.payment_status == PaymentStatus.COMPLETED))
        unreleased = s.scalar(sa.select(sa.func.coalesce(sa.func.sum(InventoryHold.quantity), 0))
                              .where(InventoryHold.ticket_type_id == tier_id,
                                     InventoryHold.released_at.is_(None)))
        live = s.scalar(sa.select(sa.func.coalesce(sa.func.sum(InventoryHold.quantity), 0))
                        .where(InventoryHold.ticket_type_id == tier_id,
                               InventoryHold.released_at.is_(None),
                               InventoryHold.expires_at > now))
        assert tier.quantity_sold == valid == completed, "sold = tickets = completed units"
        assert tier.quantity_reserved == unreleased, "reserved = unreleased holds"
        assert tier.quantity_sold + live <= tier.quantity_total, "0 oversold"
        entries = list(s.scalars(sa.select(WaitingListEntry)))
        offered_orders = [e.order_id for e in entries if e.order_id is not None]
        assert len(offered_orders) == len(set(offered_orders)), "an order offered twice"
        for e in entries:
            order = s.get(Order, e.order_id) if e.order_id else None
            if e.status is WaitingStatus.OFFERED:
                assert order is not None and order.payment_status is PaymentStatus.PENDING
                hold = s.scalars(sa.select(InventoryHold).where(
                    InventoryHold.order_id == order.id)).one()
                assert hold.released_at is None, "an offer lost its reserved ticket"
            if e.status is WaitingStatus.PURCHASED:
                assert order is not None and order.payment_status is PaymentStatus.COMPLETED
            if order is not None:
                assert order.user_id == e.user_id, "an offer went to someone else"
        waiting = sum(1 for e in entries if e.status is WaitingStatus.WAITING)
        if waiting:
            assert tier.quantity_total - tier.quantity_sold - live == 0, \
                "a ticket left idle while people wait"


def test_many_buyers_lapsing_holds_and_two_workers(database_url: str, tmp_path: Path) -> None:
    postgres = database_url.startswith("postgresql")
    upgrade(database_url)
    app = create_app({**server_config(database_url, tmp_path / "instance"),
                      "queue_offer_minutes": 0.04})  # offers lapse after 2.4 s
    try:
        factory = app.extensions["sync_db_sessionmaker"]
        with factory() as session:
            world = World(app, session)
            organizer = world.person()
            event = world.event(organizer, allow_waitlist=True)
            tier = world.ticket_type(event, organizer, price_cents=2500, quantity=UNITS)
            people = [world.person() for _ in range(30 if postgres else 10)]
            event_id, tier_id = event.id, tier.id
            # Sell out with long holds, then everyone joins; the holds then lapse in the run.
            settings = PurchaseSettings(master_secret=MASTER_SECRET, hold_minutes=0.05)
            checkout(session, event=event, buyer=None, buyer_name="F", buyer_email="f@x.test",
                     settings=settings, wanted=[WantedLine(tier_id, None, UNITS)],
                     payment_method=PaymentMethod.CASH)
            session.commit()
            with app.app_context():
                for person in people:
                    queue.join(session, user=person.user, event=event, ticket_type=tier)
                    session.commit()
            ids = [p.user.id for p in people]
        stop, tally = threading.Event(), Tally()
        threads = [threading.Thread(target=_buyer, args=(app, i, event_id, tier_id, stop, tally))
                   for i in range(4 if postgres else 2)]
        threads += [threading.Thread(target=_waiter, args=(app, 100 + i, ids[i::3], stop, tally))
                    for i in range(3)]
        threads += [threading.Thread(target=_worker, args=(app, stop, tally)) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(8)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert not tally.errors, "\n\n".join(tally.errors[:3])
        # Let the last offers and holds lapse, then one more advance: nothing idle, all counted.
        time.sleep(3)
        ctx = JobContext(app=app, config=app.extensions["sync_config"], factory=factory)
        with app.app_context():
            for _ in range(3):
                advance_queues(ctx)
        _count(app, tier_id)
        # The first holds (all the units) lapsed during the run: the line got them from there.
        if postgres:
            assert tally.done["accept"] + tally.done["decline"] > 0, tally.done
        else:  # few rounds: the offers were seen, some perhaps only once lapsed
            assert tally.done["accept"] + tally.done["decline"] + tally.done["offer_expired"] > 0
    finally:
        close_app(app)
