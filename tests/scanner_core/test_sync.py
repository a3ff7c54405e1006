"""The door's sync client against the real sync server.

The server is the real Flask app (``sync_server.create_app``) on a SQLite file, reached through
``httpx.WSGITransport`` (real HTTP requests and answers, no sockets); its data is made by its own
services (tests/scanner_core/real_server.py). The "server down" case uses a real socket with
nothing listening. Faults the real server cannot produce on demand (429, 413, 503, an upload it
calls invalid, backoff timing) are in test_sync_client_mechanics.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from scanner_app import __version__
from scanner_app.core.door import Door
from scanner_app.core.sync import DeviceRevoked, NotPaired, SyncEngine, SyncError, pair
from scanner_app.core.verdict import Verdict, VerdictCode
from scanner_app.storage import database as db
from scanner_app.storage import models as m
from shared import protocol as p
from shared.keys import derive_event_key
from shared.ticket_token import TicketClaims, sign
from sync_server.events.models import Event
from sync_server.orders.models import Order
from sync_server.tickets.models import TicketInstance, TicketStatus
from sync_server.tickets.services import first_day_start, transfer_ticket_instance
from tests.e2e.conftest import free_port
from tests.scanner_core.conftest import FakeClock
from tests.scanner_core.real_server import (
    BASE_URL,
    RealServer,
    real_server,  # noqa: F401 (fixture)
    ticket_token,
)
from tests.server.conftest import MASTER_SECRET

V = VerdictCode


@dataclass
class Setup:
    """An event open now on the real server, 25 tickets sold, and a client that logs requests."""

    server: RealServer
    event: Event
    tickets: list[TicketInstance]
    client: httpx.Client
    log: list[str] = field(default_factory=list)

    def token(self, n: int) -> str:
        """The signed token of the n-th ticket sold (1-based)."""
        return ticket_token(self.tickets[n - 1])


@pytest.fixture
def setup(real_server: RealServer) -> Iterator[Setup]:  # noqa: F811
    event, _tier, tickets = real_server.event(tickets=25)
    log: list[str] = []

    def record(response: httpx.Response) -> None:
        log.append(f"{response.request.method} {response.request.url.path} "
                   f"{response.status_code}")

    with real_server.client(event_hooks={"response": [record]}) as client:
        yield Setup(real_server, event, tickets, client, log)


@pytest.fixture
def now_clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def paired(data_dir: Path, setup: Setup, now_clock: FakeClock) -> Iterator[Door]:
    pair(setup.client, data_dir, setup.server.pairing_code(setup.event, name="North"))
    door = Door.open(data_dir, clock=now_clock)
    yield door
    door.close()


def engine(door: Door, setup: Setup, **kw: object) -> SyncEngine:
    return SyncEngine(door.store, setup.client, **kw)  # type: ignore[arg-type]


def paths(setup: Setup) -> list[str]:
    """The logged requests without their status."""
    return [line.rsplit(" ", 1)[0] for line in setup.log]


def test_pairing_stores_the_token_sealed_and_activates_the_server(
    data_dir: Path, setup: Setup
) -> None:
    answer = pair(setup.client, data_dir, setup.server.pairing_code(setup.event, name="North"))
    assert answer.token.startswith("sld_") and answer.device_name == "North"
    assert answer.event_ids == (setup.event.id,)
    door = Door.open(data_dir)
    identity = door.store.identity()
    assert identity is not None and identity.paired
    assert identity.server_url == BASE_URL
    assert door.store.device_token() == answer.token
    door.close()
    assert setup.server.device("North").id == answer.device_id
    # sealed: the token is in none of the door's files as plain text (database, WAL, keys)
    files = [f for f in data_dir.rglob("*") if f.is_file()]
    assert any(f.name == db.DB_NAME for f in files)
    assert not any(answer.token.encode() in f.read_bytes() for f in files)


def test_a_wrong_pairing_code_is_a_clear_error(data_dir: Path, setup: Setup) -> None:
    setup.server.pairing_code(setup.event)  # a real code exists, but not the one typed
    with pytest.raises(SyncError) as caught:
        pair(setup.client, data_dir, "WRONG")
    assert caught.value.code == p.ErrorCode.PAIRING_CODE_INVALID
    assert db.active_slug(data_dir) == db.UNPAIRED


def test_unpaired_door_cannot_sync(door: Door, setup: Setup) -> None:
    with pytest.raises(NotPaired):
        engine(door, setup).sync_once()
    assert setup.log == []  # nothing was sent


def test_full_download_in_pages_then_deltas(paired: Door, setup: Setup) -> None:
    report = engine(paired, setup, page_size=10).sync_once()
    assert (report.tickets, report.pages) == (25, 3)
    assert paired.status().tickets_cached == 25
    assert paired.check(setup.token(3), door="North", source="t").code is V.ADMIT
    report = engine(paired, setup).sync_once()  # our admission changed ticket 3 on the server
    assert (report.uploaded, report.tickets) == (1, 1)
    # nothing changed since: no download at all
    setup.log.clear()
    engine(paired, setup).sync_once()
    assert paths(setup) == ["POST /api/v1/door/heartbeat"]
    # a transfer and a new sale while the door was offline: known after the next sync
    server = setup.server
    old = server.ticket(setup.tickets[3].id)
    order = server.session.get(Order, old.order_id)
    assert order is not None
    new = transfer_ticket_instance(server.session, old, event=setup.event, order=order,
                                   holder_name="New Holder", holder_email="new@example.com",
                                   master_secret=MASTER_SECRET,
                                   now=first_day_start(setup.event) - timedelta(minutes=5))
    server.session.commit()
    tier = server.ticket(setup.tickets[0].id).ticket_type
    assert tier is not None
    sold = server.sell(setup.event, tier, 1, name="Late Buyer")[0]
    report = engine(paired, setup).sync_once()
    assert report.tickets == 3  # 4 (transferred away), its new instance, the new sale
    assert paired.check(setup.token(4), door="North", source="t").code is V.REVOKED
    assert paired.check(ticket_token(new), door="North", source="t").code is V.ADMIT
    assert paired.check(ticket_token(sold), door="North", source="t").code is V.ADMIT


def test_upload_before_download_and_acknowledged_scans_leave_the_queue(
    paired: Door, setup: Setup
) -> None:
    engine(paired, setup).sync_once()
    for i in range(1, 8):
        paired.check(setup.token(i), door="North", source="t")
    paired.check("junk", door="North", source="t")
    assert paired.status().scans_queued == 8
    setup.log.clear()
    report = engine(paired, setup, batch_size=3).sync_once()
    assert paths(setup)[:3] == ["POST /api/v1/door/scans"] * 3
    assert report.uploaded == 8
    assert paired.status().scans_queued == 0
    assert len(setup.server.door_scans()) == 8
    # the server now says ticket 1 was scanned at North, and the door learnt it
    assert setup.server.ticket(setup.tickets[0].id).status is TicketStatus.SCANNED
    with paired.store.transaction() as s:
        t1 = paired.store.ticket(s, setup.tickets[0].id)
    assert t1 is not None and t1.status is p.TicketStatus.SCANNED and t1.scanned_door == "North"


class LoseScanAnswers(httpx.BaseTransport):
    """The real server handles the upload; its answer never reaches the door (once)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lose = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.lose and request.url.path == p.SCANS_PATH:
            self.lose = False
            response.read()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


def test_a_lost_answer_means_a_harmless_resend(paired: Door, setup: Setup) -> None:
    engine(paired, setup).sync_once()
    paired.check(setup.token(1), door="North", source="t")
    with httpx.Client(transport=LoseScanAnswers(setup.server.transport()),
                      base_url=BASE_URL) as lossy:
        with pytest.raises(SyncError) as caught:
            SyncEngine(paired.store, lossy).sync_once()
        assert caught.value.code == "offline"
        assert paired.status().scans_queued == 1 and len(setup.server.door_scans()) == 1
        report = SyncEngine(paired.store, lossy).sync_once()
    assert (report.uploaded, report.duplicates) == (0, 1)
    assert paired.status().scans_queued == 0 and len(setup.server.door_scans()) == 1


def test_two_doors_admit_the_same_ticket_offline_and_both_see_the_conflict(
    tmp_path: Path, setup: Setup
) -> None:
    doors = []
    for name in ("North", "South"):
        clock = FakeClock(datetime.now(UTC))
        pair(setup.client, tmp_path / name, setup.server.pairing_code(setup.event, name=name))
        door = Door.open(tmp_path / name, clock=clock)
        engine(door, setup).sync_once()
        doors.append((door, clock))
    (north, _), (south, south_clock) = doors
    south_clock.advance(seconds=30)  # south admits later, but uploads first
    assert south.check(setup.token(9), door="South", source="t").code is V.ADMIT
    assert north.check(setup.token(9), door="North", source="t").code is V.ADMIT
    south_report = engine(south, setup).sync_once()
    assert south_report.conflicts == 0  # alone so far
    north_report = engine(north, setup).sync_once()
    assert north_report.conflicts == 0  # north's scan was first in scan time
    engine(south, setup).sync_once()  # south learns from the door data
    for door in (north, south):
        conflicts = door.conflicts()
        assert len(conflicts) == 1
        assert conflicts[0].door == "South" and conflicts[0].winning_door == "North"
        assert door.status().conflicts == 1
        door.close()
    # the server kept both scans and says which one lost
    stored = {row.door: row.lost_to_id for row in setup.server.door_scans()}
    assert stored["North"] is None and stored["South"] is not None


def test_rejected_scans_are_final(paired: Door, setup: Setup) -> None:
    engine(paired, setup).sync_once()
    other = setup.event.id + 1000  # an event this door does not serve
    paired.check(sign(TicketClaims(other, 1, 1), derive_event_key(MASTER_SECRET, other, 1)),
                 door="North", source="t")
    report = engine(paired, setup).sync_once()
    assert report.rejected == 1 and paired.status().scans_queued == 0


def test_server_down_every_scan_still_answered_and_kept(paired: Door, setup: Setup) -> None:
    engine(paired, setup).sync_once()
    # a real socket address with nothing listening: the connection is refused
    with httpx.Client(base_url=f"http://127.0.0.1:{free_port()}", timeout=5.0) as nowhere:
        for i in range(1, 11):
            assert paired.check(setup.token(i), door="North", source="t").code is V.ADMIT
            with pytest.raises(SyncError) as caught:
                SyncEngine(paired.store, nowhere).sync_once()
            assert caught.value.code == "offline"
    status = paired.status()
    assert (status.scans_queued, status.online) == (10, False)
    engine(paired, setup).sync_once()
    assert paired.status().scans_queued == 0 and len(setup.server.door_scans()) == 10


def test_expired_cursor_restarts_the_snapshot(paired: Door, setup: Setup) -> None:
    engine(paired, setup).sync_once()
    good = paired.store.event_cursors()[setup.event.id][0]
    with paired.store.transaction() as s:
        row = s.get(m.Event, setup.event.id)
        assert row is not None
        row.cursor, row.revision = "garbage", 0
    setup.log.clear()
    report = engine(paired, setup).sync_once()
    data = f"GET {p.door_data_path(setup.event.id)}"
    assert [line for line in setup.log if line.startswith(data)] == [f"{data} 410",
                                                                      f"{data} 200"]
    assert (report.tickets, report.pages) == (25, 1)
    assert paired.store.event_cursors()[setup.event.id][0] == good
    assert engine(paired, setup).sync_once().pages == 0  # and deltas work from it


def test_an_event_no_longer_served_is_dropped(paired: Door, setup: Setup) -> None:
    engine(paired, setup).sync_once()
    assert paired.status().tickets_cached == 25
    setup.server.unassign("North")
    engine(paired, setup).sync_once()
    assert paired.status().tickets_cached == 0
    assert paired.check(setup.token(1), door="North", source="t").code is V.WRONG_EVENT


def test_revoked_device_wipes_its_data(paired: Door, setup: Setup) -> None:
    engine(paired, setup).sync_once()
    folder = paired.store.folder
    setup.server.revoke("North")
    with pytest.raises(DeviceRevoked):
        engine(paired, setup).sync_once()
    assert not folder.exists()


def test_scanning_goes_on_while_a_big_download_is_stored(paired: Door, setup: Setup) -> None:
    tier = setup.server.ticket(setup.tickets[0].id).ticket_type
    assert tier is not None
    setup.server.bulk_sell(setup.event, tier, 20_000)
    failures: list[BaseException] = []

    def download() -> None:
        try:
            engine(paired, setup, page_size=5_000).sync_once()
        except BaseException as exc:  # report in the main thread
            failures.append(exc)

    worker = threading.Thread(target=download)
    worker.start()
    verdicts: list[Verdict] = []
    while worker.is_alive() or len(verdicts) < 20:
        verdicts.append(paired.check(setup.token(len(verdicts) % 20 + 1), door="North",
                                     source="t"))
    worker.join()
    assert failures == []
    assert all(v.scan_id is not None and v.code is not V.ERROR for v in verdicts)
    assert paired.status().tickets_cached == 20_025
    assert paired.store.counts()["scans"] == len(verdicts)


def test_the_door_hears_of_a_newer_door_app_at_the_heartbeat(paired: Door, setup: Setup) -> None:
    """Told once, remembered (``scanner-app status`` and the status strip read it); an answer
    without the field (an older server) changes nothing; the running release is no news."""
    app = setup.server.app
    config = app.extensions["sync_config"]
    try:
        for setting, told in (("99.1.0", "99.1.0"), ("", "99.1.0"), (__version__, None),
                              ("0.0.1", None)):
            app.extensions["sync_config"] = config.model_copy(
                update={"door_app_latest_version": setting})
            engine(paired, setup).sync_once()
            assert paired.status().newer_app_version == told, setting
    finally:
        app.extensions["sync_config"] = config


def test_clock_skew_is_measured_at_the_heartbeat(paired: Door, setup: Setup,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    slow = SyncEngine(paired.store, setup.client,
                      clock=lambda: datetime.now(UTC) - timedelta(hours=1))
    slow.sync_once()
    skew = paired.store.sync_info().clock_skew_seconds
    assert skew is not None and abs(skew - 3600) < 5  # both clocks are real: a hair apart
    assert "clock is -3600 s off" in caplog.text
    engine(paired, setup).sync_once()
    skew = paired.store.sync_info().clock_skew_seconds
    assert skew is not None and abs(skew) < 5
