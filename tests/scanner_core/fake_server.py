"""A small in-memory server that speaks the sync protocol, for the sync client's unit tests.

It is served through ``httpx.MockTransport`` (allowed for client unit tests); the real Flask app
is exercised by tests/contract/. It follows docs/sync-protocol.md: snapshot pages by ticket id,
deltas from a server change number, dedupe by scan id, the earliest admitted entry wins.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from shared import protocol as p
from tests.scanner_core.conftest import DURING_DAY1, EVENT, key_b64, settings, ticket

TOKEN = "sld_test-device-token"
PAIRING_CODE = "GOOD-CODE"
ADMISSIONS = {"admit", "admit_uncached"}


@dataclass
class FakeServer:
    change: int = 0
    tickets: dict[int, p.TicketRecord] = field(default_factory=dict)
    revocations: dict[int, tuple[int, p.Revocation]] = field(default_factory=dict)
    scans: dict[str, p.ScanRecord] = field(default_factory=dict)
    conflicts: dict[str, tuple[int, p.Conflict]] = field(default_factory=dict)
    revoked: bool = False
    served: bool = True
    event: p.EventSettings = field(default_factory=settings)
    versions: tuple[int, ...] = (1,)
    # queued canned failures: each is (status, code, headers), used before normal handling
    failures: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    before: Callable[[httpx.Request], None] | None = None
    now: datetime = DURING_DAY1
    max_batch: int = p.MAX_SCANS_PER_BATCH

    def add_tickets(self, count: int, start: int = 1) -> None:
        for i in range(start, start + count):
            self.change += 1
            self.tickets[i] = ticket(i, revision=self.change)

    def update_ticket(self, ticket_id: int, **changes: Any) -> None:
        self.change += 1
        fields = {f: getattr(self.tickets[ticket_id], f) for f in p.TicketRecord.__slots__}
        self.tickets[ticket_id] = p.TicketRecord(**{**fields, **changes, "revision": self.change})

    def revoke_ticket(self, ticket_id: int, reason: p.RevocationReason) -> None:
        self.change += 1
        self.revocations[ticket_id] = (self.change, p.Revocation(ticket_id, reason, self.now))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport(), base_url="http://server.test")

    # --- handling ------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.log.append(f"{request.method} {request.url.path}")
        if self.before is not None:
            self.before(request)
        if self.failures:
            status, code, headers = self.failures.pop(0)
            return httpx.Response(status, json=p.error_body(code, code), headers=headers)
        path = request.url.path
        if path == p.PAIR_PATH:
            return self._pair(request)
        auth = request.headers.get("Authorization", "")
        if auth != f"Bearer {TOKEN}":
            return self._error(401, p.ErrorCode.INVALID_TOKEN)
        if self.revoked:
            return self._error(401, p.ErrorCode.DEVICE_REVOKED)
        if path == p.HEARTBEAT_PATH:
            p.HeartbeatRequest.from_json(json.loads(request.content))
            events = (p.EventSummary(EVENT, self.event.name, self.change),) if self.served else ()
            return self._ok(p.HeartbeatResponse(self.now, 7, "North door", events))
        if path == p.door_data_path(EVENT):
            if not self.served:
                return self._error(403, p.ErrorCode.EVENT_NOT_SERVED)
            return self._data(request)
        if path == p.SCANS_PATH:
            return self._scans(request)
        return self._error(404, p.ErrorCode.NOT_FOUND)

    def _ok(self, body: Any, status: int = 200) -> httpx.Response:
        return httpx.Response(status, json=body.to_json())

    def _error(self, status: int, code: str) -> httpx.Response:
        return httpx.Response(status, json=p.error_body(code, code))

    def _pair(self, request: httpx.Request) -> httpx.Response:
        body = p.PairRequest.from_json(json.loads(request.content))
        if body.code != PAIRING_CODE:
            return self._error(400, p.ErrorCode.PAIRING_CODE_INVALID)
        return self._ok(p.PairResponse(7, "North door", TOKEN, (EVENT,)), 201)

    def _data(self, request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", p.DEFAULT_PAGE_SIZE))
        cursor = request.url.params.get("cursor")
        keys = tuple(p.EventKey(v, key_b64(EVENT, v)) for v in self.versions)
        if cursor is None or cursor.startswith("snap:"):
            after, high = (0, self.change) if cursor is None else map(int, cursor[5:].split(":"))
            rows = sorted(t for t in self.tickets if t > after)[:limit]
            has_more = len(rows) == limit and rows[-1] < max(self.tickets)
            first = cursor is None
            page = p.DoorDataPage(
                event=self.event, keys=keys, tickets=tuple(self.tickets[t] for t in rows),
                revocations=tuple(r for _, r in self.revocations.values()) if first else (),
                conflicts=tuple(c for _, c in self.conflicts.values()) if first else (),
                cursor=f"snap:{rows[-1]}:{high}" if has_more else f"delta:{high}",
                has_more=has_more, full=True, server_time=self.now,
            )
            return self._ok(page)
        if not cursor.startswith("delta:"):
            return self._error(410, p.ErrorCode.CURSOR_EXPIRED)
        since = int(cursor[6:])
        changed = sorted((t for t in self.tickets.values() if t.revision > since),
                         key=lambda t: t.revision)[:limit]
        has_more = len(changed) == limit
        upto = changed[-1].revision if has_more else self.change
        page = p.DoorDataPage(
            event=self.event, keys=keys, tickets=tuple(changed),
            revocations=tuple(r for n, r in self.revocations.values() if n > since),
            conflicts=tuple(c for n, c in self.conflicts.values() if n > since),
            cursor=f"delta:{upto}", has_more=has_more, full=False, server_time=self.now,
        )
        return self._ok(page)

    def _scans(self, request: httpx.Request) -> httpx.Response:
        try:
            batch = p.ScanBatch.from_json(json.loads(request.content))
        except p.ProtocolError as exc:
            return httpx.Response(400, json=p.error_body("validation_failed", str(exc),
                                                         exc.fields))
        if len(batch.scans) > self.max_batch:
            return self._error(413, p.ErrorCode.PAYLOAD_TOO_LARGE)
        results = []
        for scan in batch.scans:
            if scan.scan_id in self.scans:
                results.append(p.ScanResult(scan.scan_id, p.ScanOutcome.DUPLICATE,
                                            self._conflict_of(scan.scan_id)))
                continue
            if scan.event_id is not None and scan.event_id != EVENT:
                self.scans[scan.scan_id] = scan
                results.append(p.ScanResult(scan.scan_id, p.ScanOutcome.REJECTED,
                                            error=p.ErrorCode.EVENT_NOT_SERVED))
                continue
            self.scans[scan.scan_id] = scan
            self._apply(scan)
            results.append(p.ScanResult(scan.scan_id, p.ScanOutcome.ACCEPTED,
                                        self._conflict_of(scan.scan_id)))
        return self._ok(p.ScanBatchResult(tuple(results), self.now))

    def _conflict_of(self, scan_id: str) -> p.Conflict | None:
        found = self.conflicts.get(scan_id)
        return None if found is None else found[1]

    def _apply(self, scan: p.ScanRecord) -> None:
        if scan.ticket_id is None or scan.verdict not in ADMISSIONS:
            return
        if scan.direction is not p.Direction.ENTRY:
            return
        entries = sorted(
            (s for s in self.scans.values()
             if s.ticket_id == scan.ticket_id and s.verdict in ADMISSIONS
             and s.direction is p.Direction.ENTRY),
            key=lambda s: (s.scanned_at, s.scan_id),
        )
        winner = entries[0]
        for later in entries[1:]:
            if later.scan_id not in self.conflicts:
                self.change += 1
                self.conflicts[later.scan_id] = (self.change, p.Conflict(
                    later.scan_id, later.ticket_id or 0, later.scanned_at, later.door,
                    winner.scan_id, winner.scanned_at, winner.door))
        if scan.ticket_id in self.tickets:
            current = self.tickets[scan.ticket_id]
            if current.scanned_at is None or winner.scanned_at < current.scanned_at:
                self.update_ticket(scan.ticket_id, status=p.TicketStatus.SCANNED,
                                   scanned_at=winner.scanned_at, scanned_door=winner.door)

