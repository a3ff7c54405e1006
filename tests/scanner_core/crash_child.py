"""Run by test_crash.py: pair with a real server process, then scan and sync as fast as possible
until SIGKILLed.

Arguments: the door's data folder, the server's URL, a pairing code, and a JSON file holding the
tokens of tickets the server sold. Prints ``J <scan_id>`` once a scan is journalled (the verdict
is back), flushing each line, so the parent knows what must survive; what the server stored, the
parent reads from the server's own database.
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


def main(data_dir: Path, server_url: str, code: str, tokens_file: Path) -> None:
    os.environ["STEPPERSLIFE_DOOR_NO_KEYRING"] = "1"
    tokens: list[str] = json.loads(tokens_file.read_text())
    with httpx.Client(base_url=server_url, timeout=10.0) as client:
        pair(client, data_dir, code)
        door = Door.open(data_dir)
        sync = SyncEngine(door.store, client, batch_size=7)
        i = 0
        while True:
            verdict = door.check(tokens[i % len(tokens)], door="North", source="crash")
            print("J", verdict.scan_id, flush=True)
            i += 1
            if i % 5 == 0:
                with contextlib.suppress(SyncError):
                    sync.sync_once()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4]))
