"""Scan upload: exactly once, earliest admission wins, later ones kept and flagged."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from shared import protocol as p
from sync_server.door import scans
from sync_server.door.models import DoorScan
from sync_server.door.scans import latest_scan_time as real_latest_scan_time
from sync_server.orders.models import Order
from sync_server.scanning.models import Scan
from sync_server.tickets.models import TicketInstance, TicketStatus
from sync_server.tickets.services import transfer_ticket_instance
from tests.server.conftest import MASTER_SECRET, World, error_code
from tests.server.door.conftest import T0, Door, Setup, download, scan, sell, upload
from tests.server.door.conftest import reload_ticket as _ticket


def test_a_resent_batch_changes_nothing(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    batch = [scan(setup.event, t, minutes=i) for i, t in enumerate(setup.tickets[:3])]
    batch.append(scan(setup.event, None, verdict="malformed"))
    batch.append(scan(None, None, verdict="malformed"))
    first = upload(api, setup.north, batch)
    assert [r.outcome for r in first.results] == [p.ScanOutcome.ACCEPTED] * 5
    counts = (session.scalar(sa.select(sa.func.count()).select_from(DoorScan)),
              session.scalar(sa.select(sa.func.count()).select_from(Scan)))
    assert counts == (5, 4)  # the scan naming no event is kept, but the seed log needs one
    again = upload(api, setup.north, batch + batch[:1])
    assert [r.outcome for r in again.results] == [p.ScanOutcome.DUPLICATE] * 6
    assert (session.scalar(sa.select(sa.func.count()).select_from(DoorScan)),
            session.scalar(sa.select(sa.func.count()).select_from(Scan))) == counts
    ticket = _ticket(session, setup.tickets[0].id)
    assert ticket.status is TicketStatus.SCANNED
    assert ticket.scanned_at == T0 and ticket.scan_location == "North"
    assert ticket.scanned_by_device_id == setup.north.device.id
    log = session.scalars(sa.select(Scan).where(Scan.client_scan_id == batch[0].scan_id)).one()
    assert (log.result_code, log.valid, log.ticket_instance_id, log.device_id) == (
        "admit", True, setup.tickets[0].id, setup.north.device.id)


def test_two_doors_admit_one_ticket_the_later_scan_is_kept_and_flagged(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    ticket = setup.tickets[0]
    north = scan(setup.event, ticket, minutes=1, door="North")
    south = scan(setup.event, ticket, minutes=2, door="South")
    assert upload(api, setup.north, [north]).results[0].conflict is None
    result = upload(api, setup.south, [south]).results[0]
    assert result.outcome is p.ScanOutcome.ACCEPTED
    assert result.conflict is not None
    assert (result.conflict.scan_id, result.conflict.winning_scan_id,
            result.conflict.winning_door, result.conflict.ticket_id) == (
        south.scan_id, north.scan_id, "North", ticket.id)
    assert session.scalar(sa.select(sa.func.count()).select_from(DoorScan)) == 2
    # every door of the event hears of it, the winner's door too
    page = download(api, setup.north, setup.event.id)
    assert [c.scan_id for c in page.conflicts] == [south.scan_id]
    # re-sending the flagged scan answers duplicate, with the conflict again
    again = upload(api, setup.south, [south]).results[0]
    assert again.outcome is p.ScanOutcome.DUPLICATE and again.conflict == result.conflict


def test_a_late_upload_of_an_earlier_scan_takes_over_and_flags_the_former_winner(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    ticket = setup.tickets[1]
    _, cursor = _snapshot_cursor(api, setup)
    second = scan(setup.event, ticket, minutes=5, door="South")
    third = scan(setup.event, ticket, minutes=9, door="South")
    upload(api, setup.south, [second, third])
    assert _ticket(session, ticket.id).scanned_at == T0 + timedelta(minutes=5)
    first = scan(setup.event, ticket, minutes=1, door="North")  # a door offline for longer
    result = upload(api, setup.north, [first]).results[0]
    assert result.conflict is None
    fresh = _ticket(session, ticket.id)
    assert (fresh.scanned_at, fresh.scan_location) == (T0 + timedelta(minutes=1), "North")
    delta = download(api, setup.south, setup.event.id, cursor)
    assert {(c.scan_id, c.winning_scan_id) for c in delta.conflicts} == {
        (second.scan_id, first.scan_id), (third.scan_id, first.scan_id)}
    changed = {t.ticket_id: t for t in delta.tickets}
    assert changed[ticket.id].scanned_door == "North"
    assert changed[ticket.id].scanned_at == T0 + timedelta(minutes=1)


def _transfer(session: Session, setup: Setup, ticket: TicketInstance) -> TicketInstance:
    old = _ticket(session, ticket.id)
    new = transfer_ticket_instance(session, old, event=setup.event,
                                   order=session.get(Order, old.order_id),  # type: ignore[arg-type]
                                   holder_name="New Holder", holder_email="new@example.com",
                                   master_secret=MASTER_SECRET)
    session.commit()
    return new


def test_an_admission_uploaded_after_a_transfer_uses_up_the_new_ticket(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    old = setup.tickets[0]
    _, cursor = _snapshot_cursor(api, setup)
    new = _transfer(session, setup, old)
    newer = _transfer(session, setup, new)  # followed to the end of the chain
    entered = scan(setup.event, old, minutes=3, door="South")  # a door that had not synced
    assert upload(api, setup.south, [entered]).results[0].outcome is p.ScanOutcome.ACCEPTED
    used = _ticket(session, newer.id)
    assert (used.status, used.scanned_at, used.scan_location) == (
        TicketStatus.SCANNED, T0 + timedelta(minutes=3), "South")
    assert _ticket(session, old.id).status is TicketStatus.TRANSFERRED
    assert _ticket(session, new.id).status is TicketStatus.TRANSFERRED
    # every door hears of it: the successor comes in the next delta as used
    changed = {t.ticket_id: t for t in download(api, setup.north, setup.event.id, cursor).tickets}
    assert changed[newer.id].status is p.TicketStatus.SCANNED
    # the new holder's own later entry does not move the time; an earlier one would
    upload(api, setup.north, [scan(setup.event, newer, minutes=9)])
    assert _ticket(session, newer.id).scanned_at == T0 + timedelta(minutes=3)


def test_a_transfer_after_an_admission_was_applied_is_refused(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    stale = _ticket(session, setup.tickets[1].id)  # loaded while VALID, as a transfer would be
    order = session.get(Order, stale.order_id)
    upload(api, setup.north, [scan(setup.event, stale)])  # another session sets it SCANNED
    with pytest.raises(ValueError, match="only a VALID ticket"):
        transfer_ticket_instance(session, stale, event=setup.event, order=order,  # type: ignore[arg-type]
                                 holder_name="Pal", holder_email="pal@example.com",
                                 master_secret=MASTER_SECRET)


def test_scan_times_outside_the_event_or_before_the_device_was_paired_are_refused(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    forged = [dataclasses.replace(scan(setup.event, setup.tickets[0]),
                                  scanned_at=datetime(2001, 1, 1, tzinfo=UTC)),
              scan(setup.event, setup.tickets[1], minutes=-14 * 60)]  # 14 h before day 1
    late = scan(setup.event, setup.tickets[2], minutes=3 * 24 * 60)  # two days after the end
    fine = scan(setup.event, setup.tickets[3], minutes=-60)  # doors open early
    result = upload(api, setup.north, [*forged, late, fine])
    assert [(r.outcome, r.error) for r in result.results] == [
        (p.ScanOutcome.REJECTED, "scan_time_out_of_range")] * 3 + [
        (p.ScanOutcome.ACCEPTED, None)]
    assert session.scalar(sa.select(sa.func.count()).select_from(DoorScan)) == 1
    assert _ticket(session, setup.tickets[0].id).status is TicketStatus.VALID
    # inside the event, but before this device was paired
    device = session.get(type(setup.south.device), setup.south.device.id)
    assert device is not None
    device.paired_at = T0
    session.commit()
    before = upload(api, setup.south, [scan(setup.event, setup.tickets[0], minutes=-30),
                                       scan(None, None, verdict="malformed", minutes=-30)])
    assert {r.error for r in before.results} == {"scan_time_out_of_range"}
    assert _ticket(session, setup.tickets[0].id).status is TicketStatus.VALID


def test_scan_times_in_the_future_beyond_the_clock_skew_are_refused_per_scan(
    api: httpx.Client, door_setup: Setup, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = door_setup
    skew = scans.CLOCK_SKEW
    server_now = T0  # inside the event: a forged "later tonight" would be in its window
    monkeypatch.setattr(scans, "latest_scan_time", lambda now: server_now + skew)
    ahead = scan(setup.event, setup.tickets[0], minutes=skew.total_seconds() / 60 + 1)
    no_event = scan(None, None, verdict="malformed", minutes=90)
    within = scan(setup.event, setup.tickets[1], minutes=skew.total_seconds() / 60 - 1)
    result = upload(api, setup.north, [ahead, no_event, within])
    assert [(r.outcome, r.error) for r in result.results] == [
        (p.ScanOutcome.REJECTED, "scan_time_out_of_range")] * 2 + [
        (p.ScanOutcome.ACCEPTED, None)]
    assert _ticket(session, setup.tickets[0].id).status is TicketStatus.VALID
    assert _ticket(session, setup.tickets[1].id).status is TicketStatus.SCANNED


def test_the_future_bound_is_the_servers_clock_plus_the_skew() -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert real_latest_scan_time(now) == now + timedelta(minutes=10)  # unpatched


def _snapshot_cursor(api: httpx.Client, setup: Setup) -> tuple[p.DoorDataPage, str]:
    page = download(api, setup.south, setup.event.id)
    assert not page.has_more
    return page, page.cursor


def test_scan_order_inside_one_batch_does_not_matter(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    ticket = setup.tickets[2]
    late = scan(setup.event, ticket, minutes=30)
    early = scan(setup.event, ticket, minutes=10)
    results = upload(api, setup.north, [late, early]).results
    assert results[0].conflict is not None and results[0].conflict.winning_scan_id == early.scan_id
    assert results[1].conflict is None


def test_exits_refusals_and_reentry_events_flag_nothing(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    ticket = setup.tickets[0]
    results = upload(api, setup.north, [
        scan(setup.event, ticket, minutes=1),
        scan(setup.event, ticket, minutes=2, direction=p.Direction.EXIT, verdict="exit"),
        scan(setup.event, ticket, minutes=3, verdict="already_scanned"),
    ]).results
    assert [r.conflict for r in results] == [None, None, None]
    response = api.patch(f"/events/{setup.event.id}/door-settings",
                         headers=setup.organizer.headers, json={"reentry_allowed": True})
    assert response.status_code == 200, response.text
    again = upload(api, setup.south, [scan(setup.event, ticket, minutes=4)]).results[0]
    assert again.conflict is None
    assert download(api, setup.north, setup.event.id).event.reentry_allowed


def test_a_cancelled_ticket_keeps_its_scans_and_stays_cancelled(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    ticket = _ticket(session, setup.tickets[4].id)
    ticket.status = TicketStatus.CANCELLED
    session.commit()
    assert upload(api, setup.north, [scan(setup.event, ticket)]).results[0].outcome \
        is p.ScanOutcome.ACCEPTED
    assert _ticket(session, ticket.id).status is TicketStatus.CANCELLED


def test_scans_of_an_event_the_device_does_not_serve_are_refused(
    api: httpx.Client, door_setup: Setup, session: Session, world: World
) -> None:
    setup = door_setup
    other = world.event(setup.organizer)
    mine = scan(setup.event, setup.tickets[0])
    foreign = scan(other, 12345)
    results = upload(api, setup.north, [foreign, mine]).results
    assert [(r.outcome, r.error) for r in results] == [
        (p.ScanOutcome.REJECTED, "event_not_served"), (p.ScanOutcome.ACCEPTED, None)]
    assert session.scalars(sa.select(DoorScan.scan_id)).all() == [mine.scan_id]


def test_bad_batches_are_refused_whole_and_store_nothing(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    headers = setup.north.headers
    good = scan(setup.event, setup.tickets[0]).to_json()
    too_many = {"device_time": "2030-01-01T00:00:00Z", "scans": [good] * 1001}
    response = api.post("/door/scans", headers=headers, json=too_many)
    assert (response.status_code, error_code(response)) == (413, "payload_too_large")
    broken = dict(good, scan_id="not-a-uuid", scanned_at="yesterday")
    response = api.post("/door/scans", headers=headers,
                        json={"device_time": "2030-01-01T00:00:00Z", "scans": [good, broken]})
    assert (response.status_code, error_code(response)) == (422, "validation_failed")
    assert set(response.json()["error"]["fields"]) == {"scans[1].scan_id", "scans[1].scanned_at"}
    manual = dict(good, scan_type="MANUAL_LOOKUP", manual_reason=None)
    response = api.post("/door/scans", headers=headers,
                        json={"device_time": datetime.now(UTC).isoformat(), "scans": [manual]})
    assert (response.status_code, error_code(response)) == (422, "validation_failed")
    assert set(response.json()["error"]["fields"]) == {"scans[0].manual_reason"}
    for body, status in ((b"", 422), (b"[]", 422), (b"\xff\xfe", 400), (b'{"scans": "x"}', 422)):
        response = api.post("/door/scans", headers=headers, content=body)
        assert response.status_code == status, body
    assert session.scalar(sa.select(sa.func.count()).select_from(DoorScan)) == 0


def test_concurrent_uploads_of_one_ticket_leave_exactly_one_winner(
    app: Flask, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    tickets = sell(session, setup.event, setup.ticket_type, 40)
    batches = [
        (setup.north, [scan(setup.event, t, minutes=1, door="North") for t in tickets]),
        (setup.south, [scan(setup.event, t, minutes=2, door="South") for t in reversed(tickets)]),
    ]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def send(door: Door, scans: list[p.ScanRecord]) -> None:
        try:
            with httpx.Client(transport=httpx.WSGITransport(app=app),
                              base_url="http://testserver/api/v1") as client:
                start.wait(10)
                for i in range(0, 40, 8):
                    upload(client, door, scans[i:i + 8])
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=send, args=batch) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and not any(t.is_alive() for t in threads)
    session.expire_all()
    rows = session.execute(sa.select(DoorScan.door, DoorScan.lost_to_id).where(
        DoorScan.ticket_instance_id.in_([t.id for t in tickets]))).all()
    assert sorted((door, lost is None) for door, lost in rows) == (
        [("North", True)] * 40 + [("South", False)] * 40)
    for ticket in tickets:
        assert _ticket(session, ticket.id).scan_location == "North"


def test_an_earlier_check_in_recorded_another_way_is_kept(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    ticket = _ticket(session, setup.tickets[3].id)
    ticket.status = TicketStatus.SCANNED
    ticket.scanned_at = T0 - timedelta(minutes=30)
    ticket.scan_location = "Box office"
    session.commit()
    result = upload(api, setup.north, [scan(setup.event, ticket, minutes=0)]).results[0]
    assert (result.outcome, result.conflict) == (p.ScanOutcome.ACCEPTED, None)
    kept = _ticket(session, ticket.id)
    assert (kept.scanned_at, kept.scan_location) == (T0 - timedelta(minutes=30), "Box office")
    # an earlier door scan than that check-in does take over
    upload(api, setup.south, [scan(setup.event, ticket, minutes=-45, door="South")])
    moved = _ticket(session, ticket.id)
    assert (moved.scanned_at, moved.scan_location) == (T0 - timedelta(minutes=45), "South")
