"""A stolen door's admissions voided since a time: the earliest remaining admission wins."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared import protocol as p
from shared.vocabulary import format_time
from sync_server.audit.models import AuditEntry
from sync_server.door.models import DoorScan
from sync_server.tickets.models import TicketStatus
from tests.server.conftest import World, error_code
from tests.server.door.conftest import T0, Setup, download, scan, upload
from tests.server.door.conftest import reload_ticket as _ticket


def test_voiding_a_stolen_doors_admissions_lets_the_real_entries_win(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    t0, t1, t2, t3 = setup.tickets[:4]
    stolen, honest = setup.north, setup.south
    upload(api, stolen, [scan(setup.event, t2, minutes=-100)])  # before the theft: stays
    cursor = download(api, honest, setup.event.id).cursor
    forged = upload(api, stolen, [scan(setup.event, t, minutes=-60, door="North")
                                  for t in (t0, t1, t3)])
    assert all(r.outcome is p.ScanOutcome.ACCEPTED for r in forged.results)
    real = upload(api, honest, [scan(setup.event, t0, minutes=10, door="South"),
                                scan(setup.event, t3, minutes=20, door="South"),
                                scan(setup.event, t3, minutes=30, door="South")])
    assert real.results[0].conflict is not None  # lost to the forged admission, for now
    assert _ticket(session, t0.id).scan_location == "North"

    base = f"/events/{setup.event.id}/devices/{stolen.device.id}"
    assert api.post(base + "/revoke", headers=setup.organizer.headers).status_code == 200
    bad = api.post(base + "/void-admissions", headers=setup.organizer.headers, json={})
    assert (bad.status_code, error_code(bad)) == (422, "validation_failed")
    voided = api.post(base + "/void-admissions", headers=setup.organizer.headers,
                      json={"since": format_time(T0 - timedelta(minutes=90))})
    assert voided.status_code == 200, voided.text
    assert voided.json() == {"voided_scans": 3, "tickets": sorted([t0.id, t1.id, t3.id])}

    first = _ticket(session, t0.id)
    assert (first.status, first.scanned_at, first.scan_location) == (
        TicketStatus.SCANNED, T0 + timedelta(minutes=10), "South")
    assert first.scanned_by_device_id == honest.device.id
    assert _ticket(session, t1.id).status is TicketStatus.VALID
    assert _ticket(session, t1.id).scanned_at is None
    assert _ticket(session, t2.id).scan_location == "North"  # before `since`: kept
    third = _ticket(session, t3.id)
    assert third.scanned_at == T0 + timedelta(minutes=20)
    flags = dict(session.execute(sa.select(DoorScan.scanned_at, DoorScan.lost_to_id).where(
        DoorScan.ticket_instance_id == t3.id, DoorScan.admission)).all())
    assert flags[T0 + timedelta(minutes=20)] is None  # the new winner is no longer flagged
    assert flags[T0 + timedelta(minutes=30)] is not None  # flagged, now lost to the new winner
    # every door hears of it
    delta = download(api, honest, setup.event.id, cursor)
    changed = {t.ticket_id: t.status for t in delta.tickets}
    assert changed[t1.id] is p.TicketStatus.VALID
    assert changed[t0.id] is p.TicketStatus.SCANNED
    [entry] = session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "device.void_admissions")).all()
    assert entry.event_id == setup.event.id


def test_only_the_events_organizer_voids_and_only_its_devices(
    api: httpx.Client, door_setup: Setup, world: World
) -> None:
    setup = door_setup
    other = world.person()
    body = {"since": format_time(T0)}
    path = f"/events/{setup.event.id}/devices/{setup.north.device.id}/void-admissions"
    refused = api.post(path, headers=other.headers, json=body)
    assert (refused.status_code, error_code(refused)) == (403, "forbidden")
    elsewhere = world.event(world.person())
    foreign = api.post(f"/events/{elsewhere.id}/devices/{setup.north.device.id}/void-admissions",
                       headers=other.headers, json=body)
    assert foreign.status_code == 403
    mine = world.event(setup.organizer)
    missing = api.post(f"/events/{mine.id}/devices/{setup.north.device.id}/void-admissions",
                       headers=setup.organizer.headers, json=body)
    assert (missing.status_code, error_code(missing)) == (404, "not_found")
