"""The sync client against a protocol-faithful in-memory server (httpx.MockTransport)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from scanner_app.core.door import Door
from scanner_app.core.sync import (
    Backoff,
    DeviceRevoked,
    NotPaired,
    SyncEngine,
    SyncError,
    pair,
    parse_retry_after,
)
from scanner_app.core.verdict import VerdictCode
from scanner_app.storage import database as db
from scanner_app.storage import models as m
from shared import protocol as p
from tests.scanner_core.conftest import DURING_DAY1, EVENT, FakeClock, token
from tests.scanner_core.fake_server import PAIRING_CODE, TOKEN, FakeServer

V = VerdictCode


@pytest.fixture
def server() -> FakeServer:
    s = FakeServer()
    s.add_tickets(25)
    return s


@pytest.fixture
def paired(data_dir: Path, server: FakeServer, clock: FakeClock) -> Door:
    with server.client() as client:
        pair(client, data_dir, PAIRING_CODE)
    door = Door.open(data_dir, clock=clock)
    return door


def engine(door: Door, server: FakeServer, **kw: object) -> SyncEngine:
    return SyncEngine(door.store, server.client(), clock=lambda: DURING_DAY1, **kw)  # type: ignore[arg-type]


def test_pairing_stores_the_token_sealed_and_activates_the_server(
    data_dir: Path, server: FakeServer
) -> None:
    with server.client() as client:
        answer = pair(client, data_dir, PAIRING_CODE)
    assert answer.token == TOKEN
    door = Door.open(data_dir)
    identity = door.store.identity()
    assert identity is not None and identity.paired
    assert identity.server_url == "http://server.test"
    assert door.store.device_token() == TOKEN
    door.close()


def test_a_wrong_pairing_code_is_a_clear_error(data_dir: Path, server: FakeServer) -> None:
    with server.client() as client, pytest.raises(SyncError) as caught:
        pair(client, data_dir, "WRONG")
    assert caught.value.code == p.ErrorCode.PAIRING_CODE_INVALID
    assert db.active_slug(data_dir) == db.UNPAIRED


def test_unpaired_door_cannot_sync(door: Door, server: FakeServer) -> None:
    with pytest.raises(NotPaired):
        engine(door, server).sync_once()


def test_full_download_in_pages_then_deltas(paired: Door, server: FakeServer) -> None:
    report = engine(paired, server, page_size=10).sync_once()
    assert (report.tickets, report.pages) == (25, 3)
    assert paired.status().tickets_cached == 25
    assert paired.check(token(3), door="North", source="t").code is V.ADMIT
    report = engine(paired, server).sync_once()  # our admission changed ticket 3 on the server
    assert (report.uploaded, report.tickets) == (1, 1)
    # nothing changed since: no download at all
    server.log.clear()
    engine(paired, server).sync_once()
    assert server.log == ["POST /api/v1/door/heartbeat"]
    # a transfer while the door was offline is refused after the next sync
    server.update_ticket(4, status=p.TicketStatus.TRANSFERRED)
    server.add_tickets(1, start=26)
    report = engine(paired, server).sync_once()
    assert report.tickets == 2  # 4 (transferred), 26 (new)
    assert paired.check(token(4), door="North", source="t").code is V.REVOKED
    assert paired.check(token(26), door="North", source="t").code is V.ADMIT


def test_upload_before_download_and_acknowledged_scans_leave_the_queue(
    paired: Door, server: FakeServer
) -> None:
    engine(paired, server).sync_once()
    for i in range(1, 8):
        paired.check(token(i), door="North", source="t")
    paired.check("junk", door="North", source="t")
    assert paired.status().scans_queued == 8
    server.log.clear()
    report = engine(paired, server, batch_size=3).sync_once()
    assert server.log[:3] == ["POST /api/v1/door/scans"] * 3
    assert report.uploaded == 8
    assert paired.status().scans_queued == 0
    assert len(server.scans) == 8
    # the server now says ticket 1 was scanned at North
    with paired.store.transaction() as s:
        t1 = paired.store.ticket(s, 1)
    assert t1 is not None and t1.status is p.TicketStatus.SCANNED and t1.scanned_door == "North"


def test_a_lost_answer_means_a_harmless_resend(paired: Door, server: FakeServer) -> None:
    engine(paired, server).sync_once()
    paired.check(token(1), door="North", source="t")

    def drop_answer(request: httpx.Request) -> None:
        if request.url.path == p.SCANS_PATH:
            server.before = None
            server.handle(request)  # the server stores the scan ...
            raise httpx.ReadTimeout("answer lost", request=request)  # ... the door never hears

    server.before = drop_answer
    with pytest.raises(SyncError) as caught:
        engine(paired, server).sync_once()
    assert caught.value.code == "offline"
    assert paired.status().scans_queued == 1 and len(server.scans) == 1
    report = engine(paired, server).sync_once()
    assert (report.uploaded, report.duplicates) == (0, 1)
    assert paired.status().scans_queued == 0 and len(server.scans) == 1


def test_two_doors_admit_the_same_ticket_offline_and_both_see_the_conflict(
    tmp_path: Path, server: FakeServer
) -> None:
    doors = []
    for name in ("north", "south"):
        clock = FakeClock()
        with server.client() as client:
            pair(client, tmp_path / name, PAIRING_CODE)
        door = Door.open(tmp_path / name, clock=clock)
        engine(door, server).sync_once()
        doors.append((door, clock))
    (north, _), (south, south_clock) = doors
    south_clock.advance(seconds=30)  # south admits later, but uploads first
    assert south.check(token(9), door="South", source="t").code is V.ADMIT
    assert north.check(token(9), door="North", source="t").code is V.ADMIT
    south_report = engine(south, server).sync_once()
    assert south_report.conflicts == 0  # alone so far
    north_report = engine(north, server).sync_once()
    assert north_report.conflicts == 0  # north's scan was first in scan time
    engine(south, server).sync_once()  # south learns from the door data
    for door in (north, south):
        conflicts = door.conflicts()
        assert len(conflicts) == 1
        assert conflicts[0].door == "South" and conflicts[0].winning_door == "North"
        assert door.status().conflicts == 1


def test_rejected_scans_are_final(paired: Door, server: FakeServer) -> None:
    engine(paired, server).sync_once()
    paired.check(token(1, event_id=99), door="North", source="t")  # wrong event, names 99
    report = engine(paired, server).sync_once()
    assert report.rejected == 1 and paired.status().scans_queued == 0


def test_server_down_every_scan_still_answered_and_kept(paired: Door, server: FakeServer) -> None:
    engine(paired, server).sync_once()

    def down(request: httpx.Request) -> None:
        raise httpx.ConnectError("connection refused", request=request)

    server.before = down
    for i in range(1, 11):
        assert paired.check(token(i), door="North", source="t").code is V.ADMIT
        with pytest.raises(SyncError):
            engine(paired, server).sync_once()
    status = paired.status()
    assert (status.scans_queued, status.online) == (10, False)
    server.before = None
    engine(paired, server).sync_once()
    assert paired.status().scans_queued == 0 and len(server.scans) == 10


def test_429_carries_retry_after_and_nothing_is_lost(paired: Door, server: FakeServer) -> None:
    paired.check(token(1), door="North", source="t")
    server.failures.append((429, "rate_limited", {"Retry-After": "7"}))
    with pytest.raises(SyncError) as caught:
        engine(paired, server).sync_once()
    assert (caught.value.status, caught.value.retry_after) == (429, 7.0)
    assert paired.status().scans_queued == 1
    backoff = Backoff(rng=random.Random(1))
    assert backoff.failure(caught.value.retry_after) == 7.0


def test_413_halves_the_batch(paired: Door, server: FakeServer) -> None:
    for i in range(1, 9):
        paired.check(token(i), door="North", source="t")
    server.max_batch = 2
    report = engine(paired, server, batch_size=8).sync_once()
    assert report.uploaded == 8


def test_expired_cursor_restarts_the_snapshot(paired: Door, server: FakeServer) -> None:
    engine(paired, server).sync_once()
    with paired.store.transaction() as s:
        row = s.get(m.Event, EVENT)
        assert row is not None
        row.cursor, row.revision = "garbage", 0
    server.log.clear()
    report = engine(paired, server).sync_once()
    assert server.log.count(f"GET {p.door_data_path(EVENT)}") == 2  # 410, then from scratch
    assert (report.tickets, report.pages) == (25, 1)
    assert paired.store.event_cursors()[EVENT][0] == f"delta:{server.change}"


def test_an_event_no_longer_served_is_dropped(paired: Door, server: FakeServer) -> None:
    engine(paired, server).sync_once()
    server.served = False
    engine(paired, server).sync_once()
    assert paired.status().tickets_cached == 0
    assert paired.check(token(1), door="North", source="t").code is V.WRONG_EVENT


def test_revoked_device_wipes_its_data(paired: Door, server: FakeServer) -> None:
    engine(paired, server).sync_once()
    folder = paired.store.folder
    server.revoked = True
    with pytest.raises(DeviceRevoked):
        engine(paired, server).sync_once()
    assert not folder.exists()


def test_backoff_grows_with_full_jitter_and_resets() -> None:
    backoff = Backoff(base=1.0, cap=60.0, rng=random.Random(7))
    ceilings = [1, 2, 4, 8, 16, 32, 60, 60]
    waits = [backoff.failure() for _ in ceilings]
    assert all(0 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert max(waits[5:]) > 4  # it does grow
    backoff.success()
    assert backoff.failure() <= 1


def test_parse_retry_after() -> None:
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True),
                             now) == 90.0
    assert parse_retry_after("-5", now) == 0.0
    assert parse_retry_after("99999999", now) == 3600.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("nan", now) is None


def test_background_loop_backs_off_then_stops(paired: Door, server: FakeServer) -> None:
    import threading

    stop = threading.Event()
    outcomes: list[object] = []
    server.failures.extend([(503, "unavailable", {"Retry-After": "0"})] * 2)

    def record(outcome: object) -> None:
        outcomes.append(outcome)
        if len(outcomes) == 3:
            stop.set()

    engine(paired, server).run(stop, interval=0, on_result=record)
    assert [type(o).__name__ for o in outcomes] == ["SyncError", "SyncError", "SyncReport"]


def test_a_scan_the_server_calls_invalid_is_isolated_and_kept(
    paired: Door, server: FakeServer
) -> None:
    for i in range(1, 7):
        paired.check(token(i), door="North", source="t")
    poison = paired.store.pending_scans(10)[2].scan_id

    def refuse_poison(request: httpx.Request) -> None:
        if request.url.path == p.SCANS_PATH and poison.encode() in request.content:
            server.failures.append((422, p.ErrorCode.VALIDATION_FAILED, {}))

    server.before = refuse_poison
    with pytest.raises(SyncError) as caught:
        engine(paired, server, batch_size=6).sync_once()
    assert caught.value.code == p.ErrorCode.VALIDATION_FAILED
    assert set(server.scans) == {s for s in server.scans if s != poison}
    assert len(server.scans) == 5
    assert [s.scan_id for s in paired.store.pending_scans(10)] == [poison]


def test_scanning_goes_on_while_a_big_download_is_stored(paired: Door,
                                                         server: FakeServer) -> None:
    import threading

    server.add_tickets(20_000, start=100)
    failures: list[BaseException] = []

    def download() -> None:
        try:
            engine(paired, server, page_size=5_000).sync_once()
        except BaseException as exc:  # report in the main thread
            failures.append(exc)

    worker = threading.Thread(target=download)
    worker.start()
    verdicts = []
    while worker.is_alive() or len(verdicts) < 20:
        verdicts.append(paired.check(token(len(verdicts) % 20 + 1), door="North", source="t"))
    worker.join()
    assert failures == []
    assert all(v.scan_id is not None and v.code is not V.ERROR for v in verdicts)
    assert paired.status().tickets_cached == 20_025
    assert paired.store.counts()["scans"] == len(verdicts)


def test_clock_skew_is_measured_at_the_heartbeat(paired: Door, server: FakeServer,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    slow = SyncEngine(paired.store, server.client(),
                      clock=lambda: DURING_DAY1 - timedelta(hours=1))
    slow.sync_once()
    assert paired.store.sync_info().clock_skew_seconds == 3600.0
    assert "clock is -3600 s off" in caplog.text
    engine(paired, server).sync_once()
    assert paired.store.sync_info().clock_skew_seconds == 0.0
