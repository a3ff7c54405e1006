"""SIGKILL the door while it scans and syncs: the journal stays whole and nothing is lost."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from scanner_app.core.door import Door
from scanner_app.core.sync import SyncEngine
from scanner_app.storage import database as db
from tests.scanner_core.fake_server import FakeServer

ROOT = Path(__file__).resolve().parents[2]


def _run_and_kill(data_dir: Path, lines_before_kill: int) -> tuple[set[str], set[str]]:
    journalled: set[str] = set()
    stored: set[str] = set()
    with subprocess.Popen(
        [sys.executable, "-m", "tests.scanner_core.crash_child", str(data_dir)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        deadline = time.monotonic() + 60
        try:
            while len(journalled) + len(stored) < lines_before_kill:
                line = child.stdout.readline()
                if not line:
                    raise AssertionError(f"child died: {child.stderr.read()}")
                kind, scan_id = line.split()
                (journalled if kind == "J" else stored).add(scan_id)
                if time.monotonic() > deadline:
                    raise AssertionError("child too slow")
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        # lines already written to the pipe before the kill still count
        for line in child.stdout.read().splitlines():
            parts = line.split()
            if len(parts) == 2:
                (journalled if parts[0] == "J" else stored).add(parts[1])
    return journalled, stored


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_mid_scan_or_mid_sync_loses_nothing(tmp_path: Path, seed: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPPERSLIFE_DOOR_NO_KEYRING", "1")
    data_dir = tmp_path / "door"
    journalled, stored = _run_and_kill(data_dir, random.Random(seed).randint(40, 160))
    assert journalled

    path = db.server_dir(data_dir, db.active_slug(data_dir)) / db.DB_NAME
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        rows = dict(conn.execute("SELECT scan_id, upload_state FROM scan_journal").fetchall())
        queued = {r[0] for r in conn.execute(
            "SELECT scan_id FROM scan_journal JOIN outbound USING (seq)")}
    # every scan the door answered is in the journal
    assert journalled <= set(rows)
    # a scan is either still queued, or the server acknowledged it (and then stored it)
    for scan_id, state in rows.items():
        assert (scan_id in queued) == (state == "pending")
        if state != "pending":
            assert scan_id in stored

    # the door comes back: the server (which kept what it stored) ends with every scan once
    server = FakeServer()
    server.add_tickets(50)
    for scan_id in stored:
        server.scans[scan_id] = None  # type: ignore[assignment]  # only ids matter for dedupe
    door = Door.open(data_dir)
    report = SyncEngine(door.store, server.client()).sync_once()
    door.close()
    assert set(server.scans) == set(rows) | stored
    assert report.uploaded == len(set(rows) - stored)
