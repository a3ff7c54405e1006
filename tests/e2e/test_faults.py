"""Faults end to end: the server down, the server killed mid-upload, the door killed mid-sync.

Whatever happens, every scan is answered at the door, kept in its queue until the server's
answer for it is stored, and the server ends up holding every scan exactly once.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from scanner_app.core.door import Door
from scanner_app.storage import models as door_models
from sync_server.door.models import DoorScan
from tests.e2e.conftest import DoorProcess, Stage

QUEUE_TIMEOUT = 60.0


def _paired(stage: Stage, door: DoorProcess, name: str = "North") -> None:
    door.run("pair", "--server", stage.server.url, "--code", stage.pairing_code(name))
    door.run("sync")


def _queue_scans(data_dir: Path, stage: Stage, count: int) -> set[str]:
    """Journal ``count`` scans through the real door core (in this process, no network)."""
    door = Door.open(data_dir)
    try:
        for i in range(count):
            ticket = stage.tickets[i % len(stage.tickets)]
            payload = ticket.token if i % 10 == 0 and ticket.token else f"not-a-ticket-{i}"
            door.check(payload, door="North", source="e2e")
        return _journal(door)
    finally:
        door.close()


def _journal(door: Door) -> set[str]:
    with door.store.transaction() as s:
        return set(s.scalars(sa.select(door_models.Scan.scan_id)))


def _queued(data_dir: Path) -> int:
    door = Door.open(data_dir)
    try:
        return door.status().scans_queued
    finally:
        door.close()


def _server_scan_ids(stage: Stage) -> list[str]:
    stage.session.expire_all()
    return list(stage.session.scalars(sa.select(DoorScan.scan_id)))


def _sync_until_empty(door: DoorProcess, attempts: int = 5) -> None:
    for _ in range(attempts):
        if door.run("sync", ok=False).get("synced") and _queued(door.data_dir) == 0:
            return
    raise AssertionError(f"the queue did not empty in {attempts} syncs")


def test_with_the_server_down_every_scan_is_answered_and_kept(
    stage: Stage, make_door: Callable[[str], DoorProcess]
) -> None:
    door = make_door("north")
    _paired(stage, door)
    stage.server.stop()
    payloads = [stage.tickets[0].token or "", stage.tickets[0].token or "", "garbage", ""]
    codes = [door.run("check", "--payload", text)["code"] for text in payloads]
    assert codes == ["admit", "already_scanned", "malformed", "malformed"]
    failed = door.run("sync", ok=False)
    assert (failed["synced"], failed["error"]) == (False, "offline")
    status = door.run("status")
    assert status["scans_queued"] == 4 and status["online"] is False
    stage.server.start()
    assert door.run("sync")["uploaded"] == 4
    assert len(_server_scan_ids(stage)) == 4


def test_the_server_killed_mid_upload_loses_and_doubles_nothing(
    stage: Stage, make_door: Callable[[str], DoorProcess]
) -> None:
    door = make_door("north")
    _paired(stage, door)
    journal = _queue_scans(door.data_dir, stage, 8_000)
    sync = door.spawn("sync")
    try:
        deadline = time.monotonic() + QUEUE_TIMEOUT
        seen = 0
        while time.monotonic() < deadline and seen == 0:
            time.sleep(0.02)
            seen = stage.session.scalar(sa.select(sa.func.count()).select_from(DoorScan)) or 0
            stage.session.rollback()
        stage.server.stop(kill=True)
        assert 0 < seen < len(journal), "the server was not killed in the middle of the upload"
        assert sync.wait(QUEUE_TIMEOUT) == 1  # the sync round failed; the door lives on
    finally:
        if sync.poll() is None:
            sync.kill()
            sync.wait(10)
    assert _queued(door.data_dir) > 0  # what the server did not answer is still queued
    stage.server.start()
    _sync_until_empty(door)
    stored = _server_scan_ids(stage)
    assert len(stored) == len(set(stored)) == len(journal)
    assert set(stored) == journal


def test_a_door_killed_mid_sync_many_times_leaves_every_scan_on_the_server_once(
    stage: Stage, make_door: Callable[[str], DoorProcess]
) -> None:
    door = make_door("north")
    _paired(stage, door)
    journal = _queue_scans(door.data_dir, stage, 6_000)
    rng = random.Random(5)
    deadline = time.monotonic() + 45.0
    kills = 0
    for _ in range(12):
        if time.monotonic() > deadline or _queued(door.data_dir) == 0:
            break
        process = door.spawn("sync")
        time.sleep(rng.uniform(0.2, 1.6))  # start-up ~1 s: kills land in start-up and upload
        if process.poll() is None:
            process.kill()
            kills += 1
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not refused
            raise AssertionError("a killed door did not exit") from None
    assert kills >= 3, "the door was not killed mid-sync often enough to mean anything"
    _sync_until_empty(door)
    stored = _server_scan_ids(stage)
    assert len(stored) == len(set(stored)) == len(journal)
    assert set(stored) == journal
