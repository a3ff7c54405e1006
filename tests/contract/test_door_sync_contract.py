"""The real door sync client against the real server app: pairing, downloads, uploads, faults."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from scanner_app.core.sync import DeviceRevoked, SyncError
from scanner_app.core.verdict import VerdictCode
from scanner_app.storage import database as door_db
from sync_server.devices.models import Device
from sync_server.devices.services import revoke_device
from sync_server.door.models import DoorScan
from sync_server.orders.models import Order
from sync_server.scanning.models import Scan
from sync_server.tickets.models import TicketInstance, TicketStatus
from sync_server.tickets.services import transfer_ticket_instance
from tests.contract.conftest import SERVER, DoorClient
from tests.server.conftest import MASTER_SECRET, World
from tests.server.door.conftest import sell

MakeDoor = Callable[..., DoorClient]


def _token(ticket: TicketInstance) -> str:
    assert ticket.token is not None
    return ticket.token


def _fresh(session: Session, ticket_id: int) -> TicketInstance:
    session.expire_all()
    ticket = session.get(TicketInstance, ticket_id)
    assert ticket is not None
    return ticket


def test_pair_download_check_upload_and_delta(
    world: World, session: Session, make_door: MakeDoor
) -> None:
    organizer = world.person()
    event = world.event(organizer)
    tier = world.ticket_type(event, organizer, quantity=500)
    tickets = sell(session, event, tier, 25)
    north = make_door(organizer, event, name="North")

    report = north.sync()
    assert (report.tickets, report.events) == (25, 1)
    door = north.open()
    assert door.status().tickets_cached == 25
    assert door.lookup(tickets[3].ticket_number)[0].ticket_id == tickets[3].id

    verdict = door.check(_token(tickets[0]), door="North", source="test")
    assert verdict.code is VerdictCode.ADMIT
    assert door.status().scans_queued == 1
    report = north.sync()
    assert (report.uploaded, report.duplicates, report.conflicts) == (1, 0, 0)
    assert door.status().scans_queued == 0
    scanned = _fresh(session, tickets[0].id)
    assert scanned.status is TicketStatus.SCANNED and scanned.scan_location == "North"

    # a delta: the server cancels a ticket, the door refuses it after the next sync
    cancelled = _fresh(session, tickets[1].id)
    cancelled.status = TicketStatus.CANCELLED
    session.commit()
    report = north.sync()
    assert report.tickets == 1  # only the cancelled one: the scan came back in the last sync
    assert door.check(_token(tickets[1]), door="North", source="test").code \
        is VerdictCode.CANCELLED
    # nothing changed: the heartbeat's revision says so and no page is asked for
    north.sync()
    assert north.sync().pages == 0


def test_a_lost_answer_is_resent_and_the_server_keeps_each_scan_once(
    app: object, world: World, session: Session, make_door: MakeDoor
) -> None:
    organizer = world.person()
    event = world.event(organizer)
    tickets = sell(session, event, world.ticket_type(event, organizer), 3)

    class LoseScanAnswers(httpx.BaseTransport):
        """The server handles the upload; the answer never reaches the door."""

        def __init__(self, inner: httpx.BaseTransport) -> None:
            self.inner = inner
            self.lose = True

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = self.inner.handle_request(request)
            if self.lose and request.url.path.endswith("/door/scans"):
                response.read()
                raise httpx.ReadError("connection reset", request=request)
            return response

    transport = LoseScanAnswers(httpx.WSGITransport(app=app))  # type: ignore[arg-type]
    with httpx.Client(transport=transport, base_url=SERVER) as client:
        north = make_door(organizer, event, name="North", client=client)
        north.sync()
        door = north.open()
        for ticket in tickets:
            assert door.check(_token(ticket), door="North", source="t").code is VerdictCode.ADMIT
        with pytest.raises(SyncError) as failed:
            north.sync()
        assert failed.value.code == "offline"
        assert door.status().scans_queued == 3
        transport.lose = False
        report = north.sync()
    assert (report.uploaded, report.duplicates) == (0, 3)
    assert door.status().scans_queued == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(DoorScan)) == 3
    assert session.scalar(sa.select(sa.func.count()).select_from(Scan)) == 3


def test_two_doors_admit_one_ticket_offline_and_both_learn_of_the_conflict(
    world: World, session: Session, make_door: MakeDoor
) -> None:
    organizer = world.person()
    event = world.event(organizer)
    ticket = sell(session, event, world.ticket_type(event, organizer), 1)[0]
    north = make_door(organizer, event, name="North")
    south = make_door(organizer, event, name="South", offset=timedelta(minutes=1))
    north.sync()
    south.sync()
    # both offline: each admits the same ticket (the south a little later by its journal)
    assert north.open().check(_token(ticket), door="North", source="t").code is VerdictCode.ADMIT
    assert south.open().check(_token(ticket), door="South", source="t").code is VerdictCode.ADMIT
    first = north.sync()
    second = south.sync()
    assert (first.conflicts, second.conflicts) == (0, 1)
    north.sync()
    rows = session.execute(sa.select(DoorScan.door, DoorScan.lost_to_id).order_by(
        DoorScan.id)).all()
    assert [(door, lost is None) for door, lost in rows] == [("North", True), ("South", False)]
    for door in (north, south):
        conflicts = door.open().conflicts()
        assert [(c.door, c.winning_door) for c in conflicts] == [("South", "North")], door.name
        assert door.open().status().conflicts == 1


def test_a_ticket_transferred_while_a_door_was_offline_is_refused_after_the_next_sync(
    world: World, session: Session, make_door: MakeDoor
) -> None:
    organizer = world.person()
    event = world.event(organizer)
    ticket = sell(session, event, world.ticket_type(event, organizer), 2)[0]
    north = make_door(organizer, event, name="North")
    north.sync()
    order = session.get(Order, ticket.order_id)
    assert order is not None
    new = transfer_ticket_instance(session, _fresh(session, ticket.id), event=event, order=order,
                                   holder_name="New Holder", holder_email="new@example.com",
                                   master_secret=MASTER_SECRET)
    session.commit()
    north.sync()
    door = north.open()
    assert door.check(_token(ticket), door="North", source="t").code is VerdictCode.REVOKED
    assert door.check(_token(new), door="North", source="t").code is VerdictCode.ADMIT


def test_a_revoked_device_wipes_its_data(
    world: World, session: Session, make_door: MakeDoor
) -> None:
    organizer = world.person()
    event = world.event(organizer)
    sell(session, event, world.ticket_type(event, organizer), 2)
    north = make_door(organizer, event, name="North")
    north.sync()
    folder = door_db.server_dir(north.data_dir, north.open().store.slug)
    assert any(folder.iterdir())
    device = session.scalars(sa.select(Device).where(Device.name == "North")).one()
    revoke_device(session, device, by=organizer.user)
    session.commit()
    with pytest.raises(DeviceRevoked):
        north.sync()
    north.door = None  # the store closed itself when it wiped
    assert not (folder / door_db.DB_NAME).exists()


def test_a_door_unassigned_from_an_event_drops_its_cache(
    world: World, session: Session, make_door: MakeDoor, tmp_path: Path
) -> None:
    organizer = world.person()
    event = world.event(organizer)
    sell(session, event, world.ticket_type(event, organizer), 4)
    north = make_door(organizer, event, name="North")
    north.sync()
    assert north.open().status().tickets_cached == 4
    device = session.scalars(sa.select(Device).where(Device.name == "North")).one()
    device.events = []
    session.commit()
    north.sync()
    assert north.open().status().tickets_cached == 0
