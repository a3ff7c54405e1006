"""A door's sync cannot be poisoned: not by a scan it uploads, a cursor it sends, or a text the
server stored (issue #13, "the door must never stop syncing")."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import replace
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared import protocol as p
from sync_server.door.models import DoorScan
from sync_server.scanning.models import Scan
from sync_server.tickets.models import TicketInstance
from tests.server.conftest import error_code
from tests.server.door.conftest import Setup, download, scan

POISONS = ["a\u0000b", "a\r\nb", "a\u0085b", "a\tb", "a\u2028b"]


def test_a_poisoned_scan_is_refused_alone_and_the_rest_are_stored(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    good = scan(setup.event, setup.tickets[0])
    poisoned = [replace(scan(setup.event, setup.tickets[1]), scan_id=str(uuid.uuid4()))
                for _ in POISONS]
    body = p.ScanBatch((good, *poisoned), good.scanned_at).to_json()
    for item, poison in zip(body["scans"][1:], POISONS, strict=True):
        item["payload"] = poison  # as pyzbar passes a QR code's bytes through
    body["scans"][2]["door"] = "North\n"
    body["scans"][3]["manual_reason"] = "\u0000"

    for attempt in range(2):  # the door re-sends: the answer is the same, nothing doubles
        response = api.post("/door/scans", headers=setup.north.headers, json=body)
        assert response.status_code == 200, response.text
        results = p.ScanBatchResult.from_json(response.json()).results
        assert [(r.scan_id, r.outcome, r.error) for r in results] == [
            (good.scan_id, p.ScanOutcome.DUPLICATE if attempt else p.ScanOutcome.ACCEPTED, None),
            *[(s.scan_id, p.ScanOutcome.REJECTED, "control_characters") for s in poisoned]]
    session.expire_all()
    assert session.scalars(sa.select(DoorScan.scan_id)).all() == [good.scan_id]
    assert session.scalars(sa.select(Scan.client_scan_id)).all() == [good.scan_id]
    assert session.get(TicketInstance, setup.tickets[0].id).scanned_at is not None  # type: ignore[union-attr]
    assert session.get(TicketInstance, setup.tickets[1].id).scanned_at is None  # type: ignore[union-attr]
    page = download(api, setup.north, setup.event.id)  # the door's round goes on to its download
    assert page.full and len(page.tickets) == len(setup.tickets)


def test_a_batch_with_a_structural_fault_is_still_refused_whole(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    """Only control characters are answered per scan; a scan that cannot be named (no readable
    scan_id) or another bad field is a broken client: 422, nothing stored."""
    setup = door_setup
    good = scan(setup.event, setup.tickets[0]).to_json()
    for bad in (dict(good, scan_id="not-a-uuid", payload="a\u0000b"),
                dict(good, scan_id=str(uuid.uuid4()), payload="a\u0000b", scanned_at="x")):
        response = api.post("/door/scans", headers=setup.north.headers,
                            json={"device_time": good["scanned_at"], "scans": [good, bad]})
        assert (response.status_code, error_code(response)) == (422, "validation_failed")
        assert "scans[1].payload" in response.json()["error"]["fields"]
    assert session.scalar(sa.select(sa.func.count()).select_from(DoorScan)) == 0


def _cursor(data: Any) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_cursors_the_server_cannot_have_issued_are_410(
    api: httpx.Client, door_setup: Setup
) -> None:
    setup = door_setup
    event_id = setup.event.id
    first = download(api, setup.north, event_id)
    assert not first.has_more
    cursors = {
        "ticket id beyond 32 bits": _cursor({"v": 1, "e": event_id, "k": "s", "h": 0,
                                             "t": 2**40}),
        "ticket id at 2**63 - 1": _cursor({"v": 1, "e": event_id, "k": "s", "h": 0,
                                           "t": 2**63 - 1}),
        "change beyond 32 bits": _cursor({"v": 1, "e": event_id, "k": "d", "c": 2**40}),
        "paging ids beyond 32 bits": _cursor({"v": 1, "e": event_id, "k": "d", "c": 0, "h": 1,
                                              "a": [0, 2**40]}),
        "paging before its start": _cursor({"v": 1, "e": event_id, "k": "d", "c": 1, "h": 1,
                                            "a": [0, 1]}),
        "nested": _cursor(b"[" * 1_400),
        "NUL": first.cursor[:4] + "\u0000" + first.cursor[4:],
        "line break": first.cursor[:4] + "\n" + first.cursor[4:],
        "not ASCII": first.cursor[:4] + "\u0085" + first.cursor[4:],
        "float": _cursor({"v": 1, "e": event_id, "k": "d", "c": 1e300}),
        "not UTF-8": _cursor(b"\xff\xfe{}"),
        "huge number": _cursor(b'{"v": 1, "e": ' + b"9" * 1_400 + b"}"),
    }
    for what, cursor in cursors.items():
        response = api.get(f"/door/events/{event_id}/data", headers=setup.north.headers,
                           params={"cursor": cursor})
        assert (response.status_code, error_code(response)) == (410, "cursor_expired"), \
            (what, response.text)
    assert download(api, setup.north, event_id, first.cursor).full is False


def test_texts_stored_before_the_rule_never_stop_a_door_download(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    """What the server sends is not refused for control characters (by the server building the
    page or by the door reading it): data stored before the rule existed cannot stop a sync."""
    setup = door_setup
    ticket = session.get(TicketInstance, setup.tickets[0].id)
    assert ticket is not None
    ticket.holder_name = "Ann\r\nBcc: all@example.com\u0085"
    setup.event.name = "Spring\nSet"
    session.commit()
    page = download(api, setup.north, setup.event.id)
    assert page.event.name == "Spring\nSet"
    assert "Ann\r\nBcc: all@example.com\u0085" in {t.holder_name for t in page.tickets}
