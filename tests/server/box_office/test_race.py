"""The box office and online buyers race for the last tickets (PostgreSQL: real row locks;
SQLite: a small version): 0 oversold, no seller over their allocation, counts and commission
exact, no deadlock and no unexpected error."""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.box_office import services
from sync_server.box_office.models import BoxOfficeSale, SaleStatus, StockTicket
from sync_server.box_office.stock import download
from sync_server.errors import ApiError
from sync_server.events.models import Event, TicketType
from sync_server.orders.models import PaymentMethod
from sync_server.orders.services import PurchaseSettings, WantedLine, checkout, complete_order
from sync_server.staff.models import AuthorizedSeller
from sync_server.tickets.models import TicketInstance, TicketStatus
from tests.server.box_office.conftest import box_office_device
from tests.server.conftest import MASTER_SECRET, World

SETTINGS = services.BoxOfficeSettings(
    purchase=PurchaseSettings(master_secret=MASTER_SECRET, hold_minutes=10), stock_max=4)
EXPECTED = {"sold_out", "allocation_exceeded", "stock_limit"}


@dataclass
class Tally:
    refusals: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refused(self, code: str) -> None:
        with self.lock:
            if code in EXPECTED:
                self.refusals[code] = self.refusals.get(code, 0) + 1
            else:
                self.errors.append(code)


def online_buyer(app: Flask, seed: int, event_id: int, type_id: int, attempts: int,
                 start: threading.Barrier, tally: Tally) -> None:
    rng = random.Random(seed)
    factory = app.extensions["sync_db_sessionmaker"]
    start.wait()
    for _ in range(attempts):
        with factory() as session:
            try:
                event = session.get(Event, event_id)
                assert event is not None
                order = checkout(session, event=event, buyer=None,
                                 wanted=[WantedLine(type_id, None, rng.randint(1, 3))],
                                 buyer_name="Online", buyer_email="online@example.test",
                                 payment_method=PaymentMethod.CASH,
                                 settings=SETTINGS.purchase).order
                session.commit()
                complete_order(session, order, method=PaymentMethod.CASH,
                               settings=SETTINGS.purchase)
                session.commit()
            except ApiError as error:
                session.rollback()
                tally.refused(error.code)
            except Exception as error:  # an IntegrityError here would be an oversell
                session.rollback()
                tally.refused(f"{type(error).__name__}: {error}")


def desk(app: Flask, seed: int, event_id: int, type_id: int, seller_id: int, device_id: int,
         attempts: int, start: threading.Barrier, tally: Tally) -> None:
    rng = random.Random(seed)
    factory = app.extensions["sync_db_sessionmaker"]
    start.wait()
    for _ in range(attempts):
        with factory() as session:
            try:
                event = session.get(Event, event_id)
                seller = session.get(AuthorizedSeller, seller_id)
                assert event is not None and seller is not None
                wanted = [WantedLine(type_id, None, rng.randint(1, 2))]
                if rng.random() < 0.25:
                    download(session, event=event, seller=seller, device_id=device_id,
                             batch_id=str(uuid.uuid4()), wanted=wanted, settings=SETTINGS)
                    session.commit()
                    continue
                sale, _ = services.place_hold(
                    session, event=event, seller=seller, device_id=device_id,
                    client_sale_id=str(uuid.uuid4()), wanted=wanted, buyer_name="Cash",
                    buyer_email="", buyer_phone=None, settings=SETTINGS)
                session.commit()
                if rng.random() < 0.8:
                    services.confirm_sale(session, sale=sale, seller=seller, settings=SETTINGS)
                else:
                    services.drop_hold(session, sale=sale, seller=seller, by_user=None)
                session.commit()
            except ApiError as error:
                session.rollback()
                tally.refused(error.code)
            except Exception as error:
                session.rollback()
                tally.refused(f"{type(error).__name__}: {error}")


@pytest.mark.slow
def test_box_office_and_online_buyers_race_for_the_last_tickets(
        app: Flask, world: World, session: Session, database_url: str) -> None:
    heavy = database_url.startswith("postgresql")
    buyers, desks_per_seller, attempts = (6, 2, 8) if heavy else (2, 1, 4)
    organizer = world.person()
    event = world.event(organizer)
    event.max_tickets_per_order = 10
    session.commit()
    tier = world.ticket_type(event, organizer, quantity=30 if heavy else 12)
    sellers = []
    for name, allocation in (("Ann", 9), ("Bob", 7)):
        person = world.person(f"{name} Seller")
        world.seller(event, organizer, person, allocated=allocation)
        sellers.append(session.scalars(sa.select(AuthorizedSeller).where(
            AuthorizedSeller.user_id == person.user.id)).one())
    devices = [box_office_device(world, organizer, event, name=f"Desk {n}")[1]
               for n in range(desks_per_seller * 2)]
    tally = Tally()
    jobs: list[threading.Thread] = []
    total = buyers + len(devices)
    start = threading.Barrier(total)
    for n in range(buyers):
        jobs.append(threading.Thread(target=online_buyer, args=(
            app, n, event.id, tier.id, attempts, start, tally)))
    for n, device_id in enumerate(devices):
        seller = sellers[n % 2]
        jobs.append(threading.Thread(target=desk, args=(
            app, 100 + n, event.id, tier.id, seller.id, device_id, attempts, start, tally)))
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(timeout=180)
    assert not any(job.is_alive() for job in jobs)
    assert tally.errors == []
    assert tally.refusals.get("sold_out", 0) + tally.refusals.get("allocation_exceeded", 0) > 0

    session.expire_all()
    row = session.get(TicketType, tier.id)
    assert row is not None
    valid = session.scalar(sa.select(sa.func.count()).select_from(TicketInstance).where(
        TicketInstance.ticket_type_id == tier.id, TicketInstance.status == TicketStatus.VALID))
    assert row.quantity_sold == valid <= row.quantity_total  # 0 oversold
    for seller in sellers:
        session.refresh(seller)
        sales = session.scalars(sa.select(BoxOfficeSale).where(
            BoxOfficeSale.seller_id == seller.id,
            BoxOfficeSale.status == SaleStatus.COMPLETED)).all()
        stock = session.scalar(sa.select(sa.func.count()).select_from(StockTicket).where(
            StockTicket.seller_id == seller.id))
        assert seller.sold_tickets == sum(s.quantity for s in sales)
        assert seller.sold_tickets + int(stock or 0) <= seller.allocated_tickets
        assert seller.commission_earned_cents == sum(
            services.commission_of(s.total_cents, seller.commission_rate_bp) for s in sales)
        sold_here = session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)
                                   .join(BoxOfficeSale, BoxOfficeSale.order_id
                                         == TicketInstance.order_id)
                                   .where(BoxOfficeSale.seller_id == seller.id,
                                          BoxOfficeSale.status == SaleStatus.COMPLETED))
        assert sold_here == seller.sold_tickets
