"""Run by test_crash.py: scan and sync as fast as possible until SIGKILLed.

Prints ``J <scan_id>`` once a scan is journalled (the verdict is back) and ``S <scan_id>`` when
the fake server stored an upload, flushing each line, so the parent knows what must survive.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import httpx

from scanner_app.core.door import Door
from scanner_app.core.sync import SyncEngine, SyncError, pair
from shared import protocol as p
from tests.scanner_core.conftest import token
from tests.scanner_core.fake_server import PAIRING_CODE, FakeServer


def main(data_dir: Path) -> None:
    os.environ["STEPPERSLIFE_DOOR_NO_KEYRING"] = "1"
    server = FakeServer()
    server.add_tickets(50)

    def tell(request: httpx.Request) -> None:
        if request.url.path == p.SCANS_PATH:
            # the server stores first, then the answer travels back: print before answering
            for scan in json.loads(request.content)["scans"]:
                if scan["scan_id"] not in server.scans:
                    print("S", scan["scan_id"], flush=True)

    with server.client() as client:
        pair(client, data_dir, PAIRING_CODE)
    door = Door.open(data_dir)
    server.before = tell
    sync = SyncEngine(door.store, server.client(), batch_size=7)
    i = 0
    while True:
        i += 1
        verdict = door.check(token(i % 50 + 1), door="North", source="crash")
        print("J", verdict.scan_id, flush=True)
        if i % 5 == 0:
            with contextlib.suppress(SyncError):
                sync.sync_once()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
