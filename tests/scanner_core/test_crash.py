"""SIGKILL the door while it scans and syncs with a real server process: the journal stays whole
and nothing is lost.

The server is ``sync-server run`` on a free port (tests.e2e.conftest: ``server``/``stage``); what
it stored is read from its own database, so "acknowledged" is checked against the real thing.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from scanner_app.core.door import Door
from scanner_app.core.sync import SyncEngine
from sync_server.door.models import DoorScan
from tests.e2e.conftest import Stage, server, stage  # noqa: F401 (fixtures)
from tests.scanner_core.real_server import ticket_token

ROOT = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT = 60.0


def _run_and_kill(data_dir: Path, stage: Stage, lines_before_kill: int,  # noqa: F811
                  tokens_file: Path) -> set[str]:
    journalled: set[str] = set()
    args = [sys.executable, "-m", "tests.scanner_core.crash_child", str(data_dir),
            stage.server.url, stage.pairing_code("North"), str(tokens_file)]
    with subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        deadline = time.monotonic() + CHILD_TIMEOUT
        try:
            while len(journalled) < lines_before_kill:
                line = child.stdout.readline()
                if not line:
                    raise AssertionError(f"child died: {child.stderr.read()}")
                journalled.add(line.split()[1])
                if time.monotonic() > deadline:
                    raise AssertionError("child too slow")
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        # lines already written to the pipe before the kill still count
        for line in child.stdout.read().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "J":
                journalled.add(parts[1])
    return journalled


def _stored(stage: Stage) -> list[str]:  # noqa: F811
    stage.session.expire_all()
    return [str(s) for s in stage.session.scalars(sa.select(DoorScan.scan_id))]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_mid_scan_or_mid_sync_loses_nothing(tmp_path: Path, seed: int, stage: Stage,  # noqa: F811
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPPERSLIFE_DOOR_NO_KEYRING", "1")
    data_dir = tmp_path / "door"
    tokens_file = tmp_path / "tokens.json"
    tokens_file.write_text(json.dumps([ticket_token(t) for t in stage.tickets]))
    journalled = _run_and_kill(data_dir, stage, random.Random(seed).randint(40, 160),
                               tokens_file)
    assert journalled
    stored = set(_stored(stage))
    assert stored  # some syncs did reach the server before the kill

    door = Door.open(data_dir)  # the database is encrypted: read it through its keyed connection
    with door.store.driver_connection() as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        rows = dict(conn.execute("SELECT scan_id, upload_state FROM scan_journal").fetchall())
        queued = {r[0] for r in conn.execute(
            "SELECT scan_id FROM scan_journal JOIN outbound USING (seq)")}
    # every scan the door answered is in the journal
    assert journalled <= set(rows)
    # a scan is either still queued, or the server acknowledged it (and then it has it)
    for scan_id, state in rows.items():
        assert (scan_id in queued) == (state == "pending")
        if state != "pending":
            assert scan_id in stored
    pending = {scan_id for scan_id, state in rows.items() if state == "pending"}

    # the door comes back: the server (which kept what it stored) ends with every scan once.
    # (An upload cut off by the kill may still be landing on the server: so the split between
    # "uploaded" and "duplicate" is bounded, not exact.)
    with httpx.Client(base_url=stage.server.url, timeout=30.0) as client:
        report = SyncEngine(door.store, client).sync_once()
    assert door.status().scans_queued == 0
    door.close()
    final = _stored(stage)
    assert len(final) == len(set(final))
    assert set(final) == set(rows) | stored
    assert report.uploaded + report.duplicates == len(pending)
    assert report.duplicates >= len(pending & stored)
