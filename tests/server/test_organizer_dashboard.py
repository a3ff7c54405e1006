"""The dashboard's numbers: events by phase, today's sales and check-ins, what needs attention."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from shared.protocol import Direction
from sync_server.devices.models import Device
from sync_server.door.models import DoorScan
from sync_server.events.catalog import add_day
from sync_server.events.models import EventType
from sync_server.events.services import cancel_event, create_event, publish_event
from sync_server.orders.models import Order
from sync_server.organizer.dashboard import dashboard
from sync_server.scanning.models import ScanType
from tests.server.conftest import World
from tests.server.door.conftest import sell
from tests.server.pages_client import PageClient, text


def test_phases_today_and_attention(app: Flask, world: World, session: Session) -> None:
    olive = world.person("Olive")
    now = datetime.now(UTC).replace(microsecond=0)
    tonight = create_event(session, organizer=olive.user, values={
        "name": "Tonight's set", "event_type": EventType.TICKETED_EVENT,
        "starts_at": now - timedelta(hours=1), "timezone": "UTC"})
    add_day(session, tonight, user=olive.user, values={
        "starts_at": now - timedelta(hours=1), "ends_at": now + timedelta(hours=5)})
    publish_event(session, tonight, user=olive.user)
    session.commit()
    tier = world.ticket_type(tonight, olive, price_cents=2000)
    later = world.event(olive, name="Summer weekend")  # 2030, published, no tiers
    draft = world.event(olive, published=False, name="Idea", event_type=EventType.SAVE_THE_DATE)
    gone = world.event(olive, name="Called off")
    cancel_event(session, gone, user=olive.user)
    session.commit()
    other = world.event(world.person("Other"), name="Not mine")
    sold = sell(session, tonight, tier, 3)
    session.execute(sa.update(Order).values(completed_at=now - timedelta(minutes=30),
                                            total_cents=6000))
    _, door = world.device(olive, tonight, name="North door")
    session.execute(sa.update(Device).where(Device.id == door.id)
                    .values(last_seen_at=now - timedelta(minutes=25)))
    for ticket in sold[:2]:
        session.add(DoorScan(scan_id=str(uuid.uuid4()), device_id=door.id,
                             event_id=tonight.id, ticket_id=ticket.id,
                             ticket_instance_id=ticket.id, scanned_at=now - timedelta(minutes=5),
                             door="North", direction=Direction.ENTRY, verdict="admit",
                             scan_type=ScanType.QR_SCAN,
                             admission=True))
    session.commit()

    board = dashboard(session, olive.user, now)
    names = {phase: [e.name for e in rows] for phase, rows in board.phases.items()}
    assert names == {"tonight": ["Tonight's set"], "on_sale": ["Summer weekend"],
                     "draft": ["Idea"], "past": ["Called off"]}
    assert other.id not in board.today
    assert board.today[tonight.id].orders == 1 and board.today[tonight.id].entries == 2
    assert board.totals.entries == 2 and board.totals.revenue_cents == 6000
    kinds = [(kind, event.name if event else None) for _, event, kind in board.attention]
    assert ("stripe", None) in kinds
    assert ("tiers", "Summer weekend") in kinds
    assert ("tiers", "Idea") not in kinds  # a save-the-date has no tickets on purpose
    assert ("device", "Tonight's set") in kinds
    words = next(w for w, _, kind in board.attention if kind == "device")
    assert "North door" in words and "25 min ago" in words

    page = text(PageClient(app, olive.user.email).get("/organize"))
    assert 'id="today-entries">2<' in page and "is silent (last contact 25 min ago)" in page
    assert "Not mine" not in page and draft.name in page and later.name in page
