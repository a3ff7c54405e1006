# ruff: noqa: E402  (sys.path must be fixed before the project imports: see below)
"""CPU seconds of the door's full download, server side and door side apart, in one process.

Run: ``.venv/bin/python bench/door_download_cost.py [--tickets 100000] [--profile]``.
``bench/door_sync.py`` times the real thing (gunicorn, HTTP, two processes on the same two
cores), whose wall seconds follow the machine's load. This counts instead: the server's pages
are built through the real Flask app (``httpx.WSGITransport``, same routes, same gzip) on a
fresh PostgreSQL database staged as ``door_sync.py`` stages it, and their bytes kept; then the
real door client (``SyncEngine``, prefetch off so one thread does the work) reads those bytes
back through ``httpx.MockTransport`` into a real encrypted door cache. Each side's figure is
``time.process_time()`` of this process (PostgreSQL's own CPU is not in it), so a before and
after compare on a loaded machine. ``--profile`` prints each side's top functions (cProfile).
"""

from __future__ import annotations

import os
import sys

# Run as a script, bench/ comes first on sys.path (bench/token.py shadows the stdlib): fix it.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import cProfile
import gzip
import json
import multiprocessing
import pstats
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.databases import fresh_database
from bench.door_sync import MASTER, stage
from scanner_app.core.sync import SyncEngine
from scanner_app.storage.store import DoorStore
from shared import protocol as p
from sync_server import create_app
from sync_server.migrate import upgrade

SERVER = "http://testserver"


def measured(label: str, work: Callable[[], Any], profile: bool) -> tuple[Any, float]:
    """``work()``'s result and this process's CPU seconds for it (profiled if asked)."""
    profiler = cProfile.Profile() if profile else None
    began = time.process_time()
    if profiler is not None:
        profiler.enable()
    result = work()
    if profiler is not None:
        profiler.disable()
    cpu = time.process_time() - began
    if profiler is not None:
        print(f"--- {label}: top functions by own time")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
        pstats.Stats(profiler).sort_stats("cumtime").print_stats(25)
    return result, cpu


def server_pages(url: str, code: str | None, folder: Path, profile: bool) -> tuple[float, int]:
    """Pair (unless ``folder`` holds a device from an earlier run on the same database), beat
    and fetch every page of the full download through the Flask app; the answers' bytes go to
    ``folder``. Returns (server CPU seconds of the pages, pages)."""
    upgrade(url)
    app = create_app({"database_url": url, "instance_path": folder / "instance",
                      "secret_key": "bench", "master_secret": MASTER, "testing": True})
    transport = httpx.WSGITransport(app=app)
    headers = {"X-Protocol-Version": str(p.PROTOCOL_VERSION), "Accept-Encoding": "gzip"}
    device = folder / "device.txt"
    with httpx.Client(transport=transport, base_url=SERVER, headers=headers) as client:
        if code is not None:
            paired = p.PairResponse.from_json(
                client.post(p.PAIR_PATH, json={"code": code}).json())
            device.write_text(f"{paired.device_id}\n{paired.token}\n")
        token = device.read_text().split()[1]
        client.headers["Authorization"] = f"Bearer {token}"
        beat = client.post(p.HEARTBEAT_PATH, json=p.HeartbeatRequest(
            device_time=datetime.now(UTC)).to_json())
        beat.raise_for_status()
        (folder / "heartbeat.json").write_bytes(beat.content)
        event_id = p.HeartbeatResponse.from_json(beat.json()).events[0].event_id

        def all_pages() -> list[bytes]:
            bodies: list[bytes] = []
            cursor: str | None = None
            while True:
                params: dict[str, str | int] = {"limit": p.DEFAULT_PAGE_SIZE}
                if cursor is not None:
                    params["cursor"] = cursor
                response = client.get(p.door_data_path(event_id), params=params)
                response.raise_for_status()
                bodies.append(response.content)  # decoded by httpx; stored plain
                # the cursor and has_more are near the end: not parsing the page here keeps
                # this loop's own CPU out of the server's figure
                tail = json.loads(b"{" + response.content[response.content.rindex(
                    b'"cursor":'):])
                if not tail["has_more"]:
                    return bodies
                cursor = tail["cursor"]

        bodies, cpu = measured("server: pages", all_pages, profile)
    app.extensions["sync_db_engine"].dispose()
    for number, body in enumerate(bodies):
        (folder / f"page-{number:03d}.json").write_bytes(body)
    return cpu, len(bodies)


def door_download(folder: Path, profile: bool, *, encrypt: bool = True) -> tuple[float, int]:
    """The door's side of the same download from the kept bytes: HTTP answers (gzipped again,
    as the server sends them), parsing, checking, storing. Returns (CPU seconds, tickets)."""
    heartbeat = (folder / "heartbeat.json").read_bytes()
    pages = sorted(folder.glob("page-*.json"))
    by_cursor: dict[str | None, bytes] = {}
    cursor: str | None = None
    for path in pages:
        body = path.read_bytes()
        by_cursor[cursor] = gzip.compress(body, compresslevel=5)
        cursor = json.loads(body)["cursor"]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == p.HEARTBEAT_PATH:
            return httpx.Response(200, content=heartbeat,
                                  headers={"Content-Type": "application/json"})
        body = by_cursor[request.url.params.get("cursor")]
        return httpx.Response(200, content=body, headers={
            "Content-Type": "application/json", "Content-Encoding": "gzip"})

    device_id, token = (folder / "device.txt").read_text().split()
    with tempfile.TemporaryDirectory() as tmp:
        store = DoorStore.open_server(Path(tmp), SERVER, encrypt=encrypt)
        store.save_pairing(SERVER, p.PairResponse(int(device_id), "Bench", token))
        with httpx.Client(transport=httpx.MockTransport(answer), base_url=SERVER) as client:
            engine = SyncEngine(store, client, prefetch=False)
            report, cpu = measured("door: full download", engine.sync_once, profile)
        store.close()
    return cpu, report.tickets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the pages in this folder")
    parser.add_argument("--door-only", action="store_true", help="reuse --keep's pages")
    parser.add_argument("--database", help="a database staged by an earlier run with the same "
                        "--keep folder (kept; default: a fresh one, staged and dropped)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="door-cost-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"door download cost: {args.tickets:,} tickets; load average "
          f"{os.getloadavg()[0]:.1f}")
    if not args.door_only:
        if args.database:
            server_cpu, count = server_pages(args.database, None, folder, args.profile)
        else:
            with fresh_database("door_cost") as url:
                with multiprocessing.get_context("fork").Pool(1) as pool:
                    _, code, _ = pool.apply(stage, (url, args.tickets))
                server_cpu, count = server_pages(url, code, folder, args.profile)
        print(f"  server CPU, {count} pages built and sent (Flask app, no gunicorn) "
              f"{server_cpu:8.2f} s")
    door_cpu, tickets = door_download(folder, args.profile)
    print(f"  door CPU, {tickets:,} tickets read and stored (encrypted)       {door_cpu:8.2f} s")
    plain_cpu, _ = door_download(folder, False, encrypt=False)
    print(f"  door CPU, the same into a plain SQLite cache                   {plain_cpu:8.2f} s")


if __name__ == "__main__":
    main()
