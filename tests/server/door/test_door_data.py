"""Door data over HTTP: snapshot pages, deltas from the server's cursor, keys, revocations."""

from __future__ import annotations

import base64
import importlib.metadata

import httpx
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from shared import protocol as p
from shared.keys import derive_event_key
from sync_server.db import utcnow
from sync_server.door.changes import current_revision
from sync_server.door.cursor import Delta, encode
from sync_server.keys.services import rotate_key
from sync_server.tickets.models import TicketInstance, TicketStatus
from sync_server.tickets.services import transfer_ticket_instance
from tests.server.conftest import MASTER_SECRET, World, error_code
from tests.server.door.conftest import Setup, download, sell


def full_download(api: httpx.Client, setup: Setup, limit: int) -> tuple[list[p.DoorDataPage], str]:
    pages = [download(api, setup.north, setup.event.id, limit=limit)]
    for _ in range(100):
        if not pages[-1].has_more:
            break
        pages.append(download(api, setup.north, setup.event.id, pages[-1].cursor, limit))
    return pages, pages[-1].cursor


def test_snapshot_comes_in_pages_of_limit_then_deltas_carry_only_changes(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    pages, cursor = full_download(api, setup, limit=2)
    assert [len(pg.tickets) for pg in pages] == [2, 2, 1]
    assert all(pg.full for pg in pages) and [pg.has_more for pg in pages] == [True, True, False]
    # The first page announces the snapshot's size, for the door's progress bar.
    assert [pg.total_tickets for pg in pages] == [5, None, None]
    ids = [t.ticket_id for pg in pages for t in pg.tickets]
    assert ids == sorted(t.id for t in setup.tickets)
    first = pages[0].tickets[0]
    ticket = session.get(TicketInstance, first.ticket_id)
    assert ticket is not None
    assert (first.ticket_number, first.holder_name, first.status) == (
        ticket.ticket_number, ticket.holder_name, p.TicketStatus.VALID)
    assert first.ticket_type == setup.ticket_type.name and first.order_number.startswith("SL-")
    assert first.valid_dates is None  # a whole-event ticket
    assert first.revision > 0
    key = pages[0].keys[0]
    assert base64.b64decode(key.key) == derive_event_key(MASTER_SECRET, setup.event.id, 1)
    assert pages[0].event.time_zone == "America/Chicago" and len(pages[0].event.days) == 2

    nothing = download(api, setup.north, setup.event.id, cursor)
    assert (nothing.tickets, nothing.full, nothing.has_more) == ((), False, False)
    assert nothing.total_tickets is None

    cancelled = setup.tickets[3]
    cancelled.status = TicketStatus.CANCELLED
    session.commit()
    delta = download(api, setup.north, setup.event.id, nothing.cursor)
    assert [(t.ticket_id, t.status) for t in delta.tickets] == [
        (cancelled.id, p.TicketStatus.CANCELLED)]
    assert delta.tickets[0].revision == current_revision(session, setup.event.id)
    again = download(api, setup.north, setup.event.id, delta.cursor)
    assert again.tickets == ()


def test_a_transfer_reaches_the_door_as_a_revocation_and_a_new_ticket(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    _, cursor = full_download(api, setup, limit=100)
    old = setup.tickets[0]
    order = session.scalars(sa.select(TicketInstance).where(TicketInstance.id == old.id)).one()
    new = transfer_ticket_instance(session, order, event=setup.event, order=_order(session, old),
                                   holder_name="New Holder", holder_email="new@example.com",
                                   master_secret=MASTER_SECRET)
    session.commit()
    delta = download(api, setup.north, setup.event.id, cursor)
    by_id = {t.ticket_id: t for t in delta.tickets}
    assert by_id[old.id].status is p.TicketStatus.TRANSFERRED
    assert by_id[new.id].holder_name == "New Holder"
    assert [(r.ticket_id, r.reason) for r in delta.revocations] == [
        (old.id, p.RevocationReason.TRANSFERRED)]
    # a fresh snapshot carries the revocation on its first page
    first = download(api, setup.north, setup.event.id, limit=1)
    assert [r.ticket_id for r in first.revocations] == [old.id]


def _order(session: Session, ticket: TicketInstance):  # type: ignore[no-untyped-def]
    from sync_server.orders.models import Order

    return session.get(Order, ticket.order_id)


def test_delta_pages_split_one_big_change_without_losing_rows(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    _, cursor = full_download(api, setup, limit=100)
    more = sell(session, setup.event, setup.ticket_type, 7)  # one transaction: one number
    numbers = {t.door_change for t in more}
    assert len(numbers) == 1
    seen: list[int] = []
    page = download(api, setup.north, setup.event.id, cursor, limit=3)
    seen += [t.ticket_id for t in page.tickets]
    for _ in range(10):
        if not page.has_more:
            break
        page = download(api, setup.north, setup.event.id, page.cursor, limit=3)
        seen += [t.ticket_id for t in page.tickets]
    assert seen == [t.id for t in more]


def test_key_rotation_and_event_changes_move_the_revision(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    before = current_revision(session, setup.event.id)
    rotate_key(session, setup.event.id)
    session.commit()
    after_rotation = current_revision(session, setup.event.id)
    assert after_rotation > before
    page = download(api, setup.north, setup.event.id, limit=1)
    assert [k.key_version for k in page.keys] == [1, 2]
    setup.event.name = "Renamed weekend"
    session.commit()
    assert current_revision(session, setup.event.id) > after_rotation
    beat = api.post("/door/heartbeat", headers=setup.north.headers,
                    json=p.HeartbeatRequest(device_time=page.server_time).to_json())
    assert beat.status_code == 200, beat.text
    answer = p.HeartbeatResponse.from_json(beat.json())
    assert [(e.event_id, e.name, e.revision) for e in answer.events] == [
        (setup.event.id, "Renamed weekend", current_revision(session, setup.event.id))]


def test_the_heartbeat_names_the_newest_door_app(
    app: Flask, api: httpx.Client, door_setup: Setup
) -> None:
    """Default: the server's own version (the door app ships from the same package); the
    setting overrides it; empty says nothing."""
    def latest() -> str:
        beat = api.post("/door/heartbeat", headers=door_setup.north.headers,
                        json=p.HeartbeatRequest(device_time=utcnow()).to_json())
        assert beat.status_code == 200, beat.text
        return p.HeartbeatResponse.from_json(beat.json()).latest_app_version

    assert latest() == importlib.metadata.version("stepperslife-door") != ""
    config = app.extensions["sync_config"]
    for setting in ("2.5.1", ""):
        app.extensions["sync_config"] = config.model_copy(
            update={"door_app_latest_version": setting})
        assert latest() == setting
    app.extensions["sync_config"] = config


def test_pages_are_gzipped_for_clients_that_accept_it(
    api: httpx.Client, door_setup: Setup
) -> None:
    response = api.get(f"/door/events/{door_setup.event.id}/data",
                       headers={**door_setup.north.headers, "Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert p.DoorDataPage.from_json(response.json()).event.event_id == door_setup.event.id


def test_refusals_carry_the_protocol_codes(
    api: httpx.Client, door_setup: Setup, world: World
) -> None:
    setup = door_setup
    other = world.event(setup.organizer)
    path = f"/door/events/{other.id}/data"
    response = api.get(path, headers=setup.north.headers)
    assert (response.status_code, error_code(response)) == (403, "event_not_served")
    own = f"/door/events/{setup.event.id}/data"
    for bad in ("junk", "e30", encode(Delta(other.id, 0)), encode(Delta(setup.event.id, 10**9))):
        response = api.get(own, headers=setup.north.headers, params={"cursor": bad})
        assert (response.status_code, error_code(response)) == (410, "cursor_expired"), bad
    for limit in ("0", "20001", "x", "-1"):
        response = api.get(own, headers=setup.north.headers, params={"limit": limit})
        assert (response.status_code, error_code(response)) == (422, "validation_failed")
    response = api.get(own, headers={**setup.north.headers, "X-Protocol-Version": "2"})
    assert (response.status_code, error_code(response)) == (400, "unsupported_protocol")
    response = api.post("/door/heartbeat", headers=setup.north.headers, content=b"{nope")
    assert (response.status_code, error_code(response)) == (400, "malformed_json")
    response = api.post("/door/heartbeat", headers=setup.north.headers, json={"x": 1})
    assert (response.status_code, error_code(response)) == (422, "validation_failed")
    assert "device_time" in response.json()["error"]["fields"]


def test_day_tickets_carry_their_dates_and_whole_event_tickets_null(
    api: httpx.Client, door_setup: Setup, session: Session, world: World
) -> None:
    setup = door_setup
    day = setup.event.days[1]
    day_tier = world.ticket_type(setup.event, setup.organizer, day=day, quantity=2000)
    day_tickets = {t.id for t in sell(session, setup.event, day_tier, 950)}
    whole = {t.id for t in setup.tickets}
    for limit in (20_000, 7):  # one big page (range query), then small pages (id lists)
        records: list[p.TicketRecord] = []
        page = download(api, setup.north, setup.event.id, limit=limit)
        records += page.tickets
        for _ in range(200):
            if not page.has_more:
                break
            page = download(api, setup.north, setup.event.id, page.cursor, limit)
            records += page.tickets
        dates = {t.ticket_id: t.valid_dates for t in records}
        assert set(dates) == whole | day_tickets
        assert {dates[i] for i in day_tickets} == {(day.date,)}
        assert {dates[i] for i in whole} == {None}


def test_organizers_set_the_door_rules_and_doors_get_them(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    path = f"/events/{setup.event.id}/door-settings"
    assert api.get(path, headers=setup.north.headers).json()["door_settings"] == {
        "event_id": setup.event.id, "reentry_allowed": False,
        "uncached_policy": "admit_with_warning", "entry_opens_minutes_before": 120}
    before = current_revision(session, setup.event.id)
    response = api.patch(path, headers=setup.organizer.headers,
                         json={"reentry_allowed": True, "uncached_policy": "refuse"})
    assert response.status_code == 200, response.text
    assert current_revision(session, setup.event.id) > before
    page = download(api, setup.north, setup.event.id, limit=1)
    assert (page.event.reentry_allowed, page.event.uncached_policy,
            page.event.entry_opens_minutes_before) == (True, p.UncachedPolicy.REFUSE, 120)
    for bad in ({"entry_opens_minutes_before": 5000}, {"uncached_policy": "maybe"},
                {"reentry_allowed": "yes"}, {"other": 1}):
        response = api.patch(path, headers=setup.organizer.headers, json=bad)
        assert (response.status_code, error_code(response)) == (422, "validation_failed"), bad
    refused = api.patch(path, headers=setup.north.headers, json={"reentry_allowed": False})
    assert (refused.status_code, error_code(refused)) == (403, "forbidden")
