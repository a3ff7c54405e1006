"""Door-sync fixtures: an event with tickets sold through the real services, a paired device."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.orm import Session

from shared import protocol as p
from sync_server.devices.models import Device
from sync_server.door import scans
from sync_server.events.models import Event, TicketType
from sync_server.orders.models import Order, PaymentMethod, PaymentStatus
from sync_server.tickets.models import TicketInstance
from sync_server.tickets.services import issue_ticket_instance
from tests.server.conftest import MASTER_SECRET, Person, World, bearer

_orders = itertools.count(1)


def sell(session: Session, event: Event, ticket_type: TicketType, count: int,
         name: str = "Holder") -> list[TicketInstance]:
    """``count`` tickets in one order, issued by the real service, committed."""
    order = Order(order_number=f"SL-{next(_orders):06d}-{uuid.uuid4().hex[:6]}",
                  event_id=event.id, buyer_name=name, buyer_email="buyer@example.com",
                  payment_method=PaymentMethod.STRIPE, payment_status=PaymentStatus.COMPLETED)
    session.add(order)
    session.flush()
    tickets = [issue_ticket_instance(session, order=order, event=event, ticket_type=ticket_type,
                                     holder_name=f"{name} {i}", holder_email=f"h{i}@example.com",
                                     master_secret=MASTER_SECRET) for i in range(count)]
    session.commit()
    return tickets


def reload_ticket(session: Session, ticket_id: int) -> TicketInstance:
    """The ticket as the database holds it now (uploads write behind the test's session)."""
    session.expire_all()
    ticket = session.get(TicketInstance, ticket_id)
    assert ticket is not None
    return ticket


T0 = datetime(2030, 6, 7, 0, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def server_clock_after_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests date scans in June 2030 (the World's events): the server's bound on scan
    times in the future (``scans.latest_scan_time``) reads the clock as a month after T0.
    ``test_scan_upload`` sets it back to test that bound itself."""
    monkeypatch.setattr(scans, "latest_scan_time",
                        lambda now: max(now, T0 + timedelta(days=30)) + scans.CLOCK_SKEW)


def scan(event: Event | int | None, ticket: TicketInstance | int | None, *, minutes: float = 0,
         door: str = "North", verdict: str = "admit", scan_id: str | None = None,
         direction: p.Direction = p.Direction.ENTRY) -> p.ScanRecord:
    event_id = event.id if isinstance(event, Event) else event
    ticket_id = ticket.id if isinstance(ticket, TicketInstance) else ticket
    return p.ScanRecord(scan_id=scan_id or str(uuid.uuid4()),
                        scanned_at=T0 + timedelta(minutes=minutes), door=door,
                        payload="X" * 32, verdict=verdict, scan_type=p.ScanType.QR_SCAN,
                        direction=direction, event_id=event_id, ticket_id=ticket_id)


@dataclass
class Door:
    """A paired device as the door-sync API sees it."""

    token: str
    device: Device

    @property
    def headers(self) -> dict[str, str]:
        return {**bearer(self.token), "X-Protocol-Version": "1"}


@dataclass
class Setup:
    organizer: Person
    event: Event
    ticket_type: TicketType
    north: Door
    south: Door
    tickets: list[TicketInstance] = field(default_factory=list)


@pytest.fixture
def door_setup(world: World, session: Session) -> Setup:
    organizer = world.person("Olive Organizer")
    event = world.event(organizer)
    ticket_type = world.ticket_type(event, organizer, quantity=1000)
    north = Door(*world.device(organizer, event, name="North"))
    south = Door(*world.device(organizer, event, name="South"))
    setup = Setup(organizer, event, ticket_type, north, south)
    setup.tickets = sell(session, event, ticket_type, 5)
    return setup


def upload(api: httpx.Client, door: Door, scans: list[p.ScanRecord]) -> p.ScanBatchResult:
    response = api.post("/door/scans", headers=door.headers,
                        json=p.ScanBatch(tuple(scans), datetime.now(UTC)).to_json())
    assert response.status_code == 200, response.text
    return p.ScanBatchResult.from_json(response.json())


def download(api: httpx.Client, door: Door, event_id: int, cursor: str | None = None,
             limit: int | None = None) -> p.DoorDataPage:
    params: dict[str, str | int] = {}
    if cursor is not None:
        params["cursor"] = cursor
    if limit is not None:
        params["limit"] = limit
    response = api.get(f"/door/events/{event_id}/data", headers=door.headers, params=params)
    assert response.status_code == 200, response.text
    return p.DoorDataPage.from_json(response.json())
