"""A door never stops syncing (issue 13): the real door client against the real app, on SQLite
and PostgreSQL.

A code holding a NUL byte is refused at the door and journaled in a printable form, so its
upload is an ordinary one. A batch the server answers 500 for (``httpx.MockTransport`` in front
of the real app, answering 500 for any upload holding one chosen scan) does not stop the round:
the download still runs, the scan is retried behind the others, and after ``MAX_REFUSALS``
rounds it is set aside, visible in the door's status and never sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from scanner_app import cli
from scanner_app.core.sync import MAX_REFUSALS, SyncError
from scanner_app.core.verdict import VerdictCode
from scanner_app.storage import models as door_models
from scanner_app.storage.journal import SET_ASIDE
from shared import protocol as p
from sync_server.door.models import DoorScan
from sync_server.orders.models import Order
from sync_server.tickets.models import TicketInstance
from sync_server.tickets.services import transfer_ticket_instance
from tests.contract.conftest import SERVER, DoorClient
from tests.server.conftest import MASTER_SECRET, World
from tests.server.door.conftest import sell

MakeDoor = Callable[..., DoorClient]


def _token(ticket: TicketInstance) -> str:
    assert ticket.token is not None
    return ticket.token


class PoisonTransport(httpx.MockTransport):
    """The real app behind a mock that answers 500 to any upload holding a scan in ``poison``
    (or to every request while ``down``)."""

    def __init__(self, app: Flask) -> None:
        self.real = httpx.WSGITransport(app=app)
        self.poison: set[str] = set()
        self.poisoned_uploads = 0
        self.down = False
        super().__init__(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        failing = self.down or (request.url.path == p.SCANS_PATH
                                and any(s.encode() in request.content for s in self.poison))
        if failing:
            self.poisoned_uploads += request.url.path == p.SCANS_PATH
            return httpx.Response(500, json=p.error_body(p.ErrorCode.INTERNAL_ERROR, "boom"))
        return self.real.handle_request(request)


def _server_payloads(session: Session) -> list[str | None]:
    session.expire_all()
    return list(session.scalars(sa.select(DoorScan.payload).order_by(DoorScan.id)))


def test_a_nul_in_a_code_is_refused_at_the_door_and_uploads_cleanly(
    world: World, session: Session, make_door: MakeDoor
) -> None:
    organizer = world.person()
    event = world.event(organizer)
    tickets = sell(session, event, world.ticket_type(event, organizer), 2)
    north = make_door(organizer, event, name="North")
    north.sync()
    door = north.open()

    nul = door.check(_token(tickets[0]) + "\x00", door="North", source="camera")
    assert nul.code is VerdictCode.MALFORMED
    assert door.check(_token(tickets[1]) + "\r\n", door="North", source="t").code \
        is VerdictCode.ADMIT

    report = north.sync()
    assert report.upload_error is None and report.uploaded == 2
    payloads = _server_payloads(session)
    assert payloads[0] == _token(tickets[0]) + "\\x00"
    assert all(text is None or (text.isascii() and text.isprintable()) for text in payloads)


def test_a_batch_answered_500_never_blocks_the_download_and_its_scan_is_set_aside(
    app: Flask, world: World, session: Session, make_door: MakeDoor, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    organizer = world.person()
    event = world.event(organizer)
    tickets = sell(session, event, world.ticket_type(event, organizer), 4)
    transport = PoisonTransport(app)
    with httpx.Client(transport=transport, base_url=SERVER) as client:
        north = make_door(organizer, event, name="North", client=client)
        north.sync()
        door = north.open()
        for ticket in tickets[:2]:
            assert door.check(_token(ticket), door="North", source="t").code is VerdictCode.ADMIT
        poison = door.store.pending_scans(10)[1].scan_id
        transport.poison.add(poison)
        order = session.get(Order, tickets[2].order_id)
        assert order is not None
        transferred = transfer_ticket_instance(
            session, tickets[2], event=event, order=order, holder_name="New Holder",
            holder_email="new@example.com", master_secret=MASTER_SECRET)
        session.commit()

        report = north.sync()  # the upload fails for one scan; the round goes on
        assert report.upload_error is not None and "internal_error" in report.upload_error
        assert report.uploaded == 1 and report.tickets >= 1  # the download ran
        assert door.check(_token(tickets[2]), door="North", source="t").code \
            is VerdictCode.REVOKED  # the door learned of the transfer
        assert door.check(_token(transferred), door="North", source="t").code is VerdictCode.ADMIT
        queue = [s.scan_id for s in door.store.pending_scans(10)]
        assert queue[-1] == poison and len(queue) == 3  # retried behind the newer scans
        assert door.status().set_aside == 0
        info = door.store.sync_info()
        assert info.online and info.last_error is not None and "internal_error" in info.last_error

        for _ in range(MAX_REFUSALS - 1):
            north.sync()
        status = door.status()
        assert (status.scans_queued, status.set_aside) == (0, 1)
        with door.store.transaction() as s:
            row = s.scalar(sa.select(door_models.Scan).where(door_models.Scan.scan_id == poison))
            assert row is not None
            assert (row.upload_state, row.upload_error) == (SET_ASIDE, "internal_error")
        session.expire_all()
        stored = set(session.scalars(sa.select(DoorScan.scan_id)))
        assert poison not in stored and len(stored) == 3

        refused_so_far = transport.poisoned_uploads
        door.check(_token(tickets[3]), door="North", source="t")
        assert north.sync().upload_error is None  # never sent again
        assert transport.poisoned_uploads == refused_so_far
        north.close()

    assert cli.main(["--data-dir", str(north.data_dir), "status"]) == 0
    assert '"set_aside": 1' in capsys.readouterr().out


def test_a_server_that_fails_everything_sets_nothing_aside(
    app: Flask, world: World, session: Session, make_door: MakeDoor
) -> None:
    organizer = world.person()
    event = world.event(organizer)
    ticket = sell(session, event, world.ticket_type(event, organizer), 1)[0]
    transport = PoisonTransport(app)
    with httpx.Client(transport=transport, base_url=SERVER) as client:
        north = make_door(organizer, event, name="North", client=client)
        north.sync()
        door = north.open()
        door.check(_token(ticket), door="North", source="t")
        transport.down = True
        for _ in range(MAX_REFUSALS + 1):
            with pytest.raises(SyncError):
                north.sync()  # the heartbeat fails too: an outage, not a bad scan
        assert (door.status().scans_queued, door.status().set_aside) == (1, 0)
        transport.down = False
        assert north.sync().uploaded == 1
