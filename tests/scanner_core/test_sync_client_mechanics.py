"""Sync-client mechanics that the real server cannot produce on demand.

A real server does not answer 429 with a chosen Retry-After, 413 at a batch size we pick, 503
twice in a row, or 422 for one scan in a batch whenever a test asks. So here a small transport
(``Faults``) stands IN FRONT of the real app: it answers those faults itself when a test says so
and passes every other request to the real Flask app (httpx.WSGITransport on a SQLite file), so
the recovery after each fault is checked against the real server. Backoff timing and Retry-After
parsing are pure functions. Everything else about sync is in test_sync.py.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from scanner_app.core.door import Door
from scanner_app.core.sync import Backoff, SyncEngine, SyncError, pair, parse_retry_after
from shared import protocol as p
from sync_server.events.models import Event
from sync_server.tickets.models import TicketInstance
from tests.scanner_core.real_server import (
    BASE_URL,
    RealServer,
    real_server,  # noqa: F401 (fixture)
    ticket_token,
)

Rule = Callable[[httpx.Request], httpx.Response | None]


def fault(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=p.error_body(code, code), headers=headers)


class Faults(httpx.BaseTransport):
    """Queued canned answers first, then ``rule`` (if it answers), else the real app."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.queued: list[httpx.Response] = []
        self.rule: Rule | None = None
        self.scan_batches: list[int] = []  # scans per upload request that reached the server

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.queued:
            return self.queued.pop(0)
        if self.rule is not None:
            answer = self.rule(request)
            if answer is not None:
                return answer
        if request.url.path == p.SCANS_PATH:
            self.scan_batches.append(len(p.ScanBatch.from_json(_json(request)).scans))
        return self.inner.handle_request(request)


def _json(request: httpx.Request) -> object:
    return json.loads(request.content)


class Rig:
    def __init__(self, server: RealServer, event: Event, tickets: list[TicketInstance],
                 faults: Faults, client: httpx.Client, door: Door) -> None:
        self.server, self.event, self.tickets = server, event, tickets
        self.faults, self.client, self.door = faults, client, door

    def token(self, n: int) -> str:
        return ticket_token(self.tickets[n - 1])

    def engine(self, **kw: object) -> SyncEngine:
        return SyncEngine(self.door.store, self.client, **kw)  # type: ignore[arg-type]


@pytest.fixture
def rig(real_server: RealServer, data_dir: Path) -> Iterator[Rig]:  # noqa: F811
    event, _tier, tickets = real_server.event(tickets=10)
    faults = Faults(real_server.transport())
    with httpx.Client(transport=faults, base_url=BASE_URL) as client:
        pair(client, data_dir, real_server.pairing_code(event, name="North"))
        door = Door.open(data_dir)
        yield Rig(real_server, event, tickets, faults, client, door)
        door.close()


def test_429_carries_retry_after_and_nothing_is_lost(rig: Rig) -> None:
    rig.door.check(rig.token(1), door="North", source="t")
    rig.faults.queued.append(fault(429, p.ErrorCode.RATE_LIMITED, {"Retry-After": "7"}))
    with pytest.raises(SyncError) as caught:
        rig.engine().sync_once()
    assert (caught.value.status, caught.value.retry_after) == (429, 7.0)
    assert rig.door.status().scans_queued == 1
    backoff = Backoff(rng=random.Random(1))
    assert backoff.failure(caught.value.retry_after) == 7.0
    rig.engine().sync_once()  # the real server takes it afterwards
    assert rig.door.status().scans_queued == 0 and len(rig.server.door_scans()) == 1


def test_413_halves_the_batch(rig: Rig) -> None:
    for i in range(1, 9):
        rig.door.check(rig.token(i), door="North", source="t")

    def at_most_two(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == p.SCANS_PATH and len(_json(request)["scans"]) > 2:  # type: ignore[index]
            return fault(413, p.ErrorCode.PAYLOAD_TOO_LARGE)
        return None

    rig.faults.rule = at_most_two
    report = rig.engine(batch_size=8).sync_once()
    assert report.uploaded == 8
    assert rig.faults.scan_batches == [2, 2, 2, 2]
    assert len(rig.server.door_scans()) == 8


def test_sync_rounds_back_off_then_recover_and_never_raise(rig: Rig) -> None:
    rig.faults.queued.extend(fault(503, "unavailable", {"Retry-After": "0"}) for _ in range(2))
    engine = rig.engine()
    outcomes = [engine.sync_round() for _ in range(3)]
    assert [o.online for o in outcomes] == [False, False, True]
    assert [o.retry_after_s for o in outcomes] == [0.0, 0.0, None]  # the server's Retry-After
    assert engine.backoff.failures == 0  # reset by the round that reached the server
    assert rig.door.status().tickets_cached == 10  # the third round reached the real server


def test_a_sync_round_reports_revocation_and_a_missing_pairing(rig: Rig, tmp_path: Path) -> None:
    rig.faults.queued.append(fault(401, p.ErrorCode.DEVICE_REVOKED))
    revoked = rig.engine().sync_round()
    assert revoked.revoked and revoked.message == "device revoked"
    unpaired = Door.open(tmp_path / "unpaired", server_url=BASE_URL)
    try:
        outcome = SyncEngine(unpaired.store, rig.client).sync_round()
    finally:
        unpaired.close()
    assert not outcome.online and not outcome.revoked and outcome.retry_after_s is None


def test_a_scan_the_server_calls_invalid_is_isolated_and_kept(rig: Rig) -> None:
    for i in range(1, 7):
        rig.door.check(rig.token(i), door="North", source="t")
    poison = rig.door.store.pending_scans(10)[2].scan_id

    def refuse_poison(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == p.SCANS_PATH and poison.encode() in request.content:
            return fault(422, p.ErrorCode.VALIDATION_FAILED)
        return None

    rig.faults.rule = refuse_poison
    report = rig.engine(batch_size=6).sync_once()  # recorded; the round went on
    assert report.upload_error is not None and p.ErrorCode.VALIDATION_FAILED in report.upload_error
    stored = rig.server.stored_scan_ids()
    assert len(stored) == 5 and poison not in stored
    assert [s.scan_id for s in rig.door.store.pending_scans(10)] == [poison]


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


def test_the_next_page_is_asked_for_while_this_one_is_stored(rig: Rig) -> None:
    """Prefetch (the full download's time, issue #13): page n + 1's request reaches the server
    while page n is being stored; pages are still stored in order, and a failed prefetch ends
    the round with every earlier page kept, so the next round resumes from its cursor."""
    asked: list[str | None] = []
    second_asked = threading.Event()

    def note(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == p.door_data_path(rig.event.id):
            asked.append(request.url.params.get("cursor"))
            if len(asked) == 2:
                second_asked.set()
            if len(asked) == 3 and fail_third:
                return fault(503, "unavailable")
        return None

    store = rig.door.store
    real_store_page = store.store_page
    overlapped: list[bool] = []

    def store_page(event_id: int, page: p.DoorDataPage, revision: int | None) -> int:
        if not overlapped:  # page 1: wait (up to 5 s) for page 2's request to arrive
            overlapped.append(second_asked.wait(5))
        return real_store_page(event_id, page, revision)

    fail_third = True
    rig.faults.rule = note
    store.store_page = store_page  # type: ignore[method-assign]
    with pytest.raises(SyncError):
        rig.engine(page_size=3).sync_once()
    assert overlapped == [True]
    assert rig.door.status().tickets_cached == 6  # pages 1 and 2 stored, page 3 refused
    fail_third = False
    asked.clear()
    report = rig.engine(page_size=3).sync_once()
    assert asked[0] is not None  # resumed from page 2's cursor, not from the start
    assert report.tickets == 4 and rig.door.status().tickets_cached == 10


def test_without_prefetch_pages_are_asked_for_one_after_the_other(rig: Rig) -> None:
    second_asked = threading.Event()
    rig.faults.rule = lambda r: (second_asked.set() if "cursor" in r.url.params else None)
    store = rig.door.store
    real_store_page = store.store_page
    seen: list[bool] = []

    def store_page(event_id: int, page: p.DoorDataPage, revision: int | None) -> int:
        seen.append(second_asked.is_set())
        return real_store_page(event_id, page, revision)

    store.store_page = store_page  # type: ignore[method-assign]
    rig.engine(page_size=3, prefetch=False).sync_once()
    assert seen == [False, True, True, True]
    assert rig.door.status().tickets_cached == 10
