# ruff: noqa: E402  (sys.path must be fixed before the project imports: bench/token.py shadows stdlib)
"""Door database figures, encrypted (SQLCipher) beside plain SQLite in the same run.

Run: ``.venv/bin/python bench/door_storage.py [--tickets 100000]`` (``bench/scan_pipeline.py``
prints the same section). A real ``DoorStore`` on a real file: door-data pages of 10,000 real
ticket records stored as the sync client stores them, then fresh admissions through the real
``Door`` (verdict + journal, one transaction each), lookups, and reopening with its counts (the
storage part of start-up). Targets (issue #13, encrypted): verdict + journal <= 1 ms, lookup
<= 50 ms; storing feeds the full download (<= 10 s, ``bench/door_sync.py``) and opening feeds
start-up (<= 2 s, ``bench/scan_pipeline.py``). CPU seconds are printed beside wall seconds: on
a shared machine they move less.
"""

from __future__ import annotations

import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import base64
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scanner_app.core.door import Door
from scanner_app.storage.store import DoorStore
from shared import protocol as p
from shared.keys import derive_event_key
from tests.support.synthetic import SAMPLE_EVENT_ID, SAMPLE_MASTER_SECRET, sample_token

BENCH_SERVER = "http://127.0.0.1:9"  # nothing listens there: the door works offline, as at a door
PAGE = p.DEFAULT_PAGE_SIZE
TARGET_VERDICT_MS = 1.0
TARGET_LOOKUP_MS = 50.0


def bench_page(first: int, count: int, has_more: bool) -> p.DoorDataPage:
    """A real door-data page for the synthetic event: ``count`` tickets from ``first``."""
    key = base64.b64encode(derive_event_key(SAMPLE_MASTER_SECRET, SAMPLE_EVENT_ID, 1)).decode()
    now = datetime.now(UTC)
    day = p.EventDay(now.date(), now - timedelta(hours=2), now + timedelta(hours=6))
    event = p.EventSettings(SAMPLE_EVENT_ID, "Bench Weekend", "America/Chicago", (day,))
    tickets = tuple(
        p.TicketRecord(
            ticket_id=i,
            event_id=SAMPLE_EVENT_ID,
            ticket_number=f"T-{i:07d}",
            order_number=f"SL-{100000 + i // 2}",
            holder_name=f"Guest Number{i}",
            holder_email=f"guest{i}@example.com",
            ticket_type="Weekend pass",
            valid_dates=None,
            status=p.TicketStatus.VALID,
            revision=1,
        )
        for i in range(first, first + count)
    )
    return p.DoorDataPage(
        event=event, keys=(p.EventKey(1, key),), tickets=tickets, revocations=(), conflicts=(),
        cursor=f"c{first}", has_more=has_more, full=True, server_time=now,
    )


def bench_pages(tickets: int, page_size: int = PAGE) -> list[p.DoorDataPage]:
    return [bench_page(first, min(page_size, tickets - first + 1), first + page_size <= tickets)
            for first in range(1, tickets + 1, page_size)]


def store_pages(store: DoorStore, pages: list[p.DoorDataPage]) -> None:
    for page in pages:
        store.store_page(SAMPLE_EVENT_ID, page, None if page.has_more else 1)


def build_door(data_dir: Path, tickets: int, server_url: str = BENCH_SERVER, *,
               encrypt: bool = True) -> Door:
    """A paired door holding ``tickets`` real tickets, the active server under ``data_dir``."""
    door = Door(DoorStore.open_server(data_dir, server_url, encrypt=encrypt))
    door.store.save_pairing(
        server_url, p.PairResponse(device_id=1, device_name="bench", token="sld_bench")
    )
    store_pages(door.store, bench_pages(tickets, 5000))
    return door


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _figures(folder: Path, tickets: int, encrypt: bool) -> dict[str, float]:
    pages = bench_pages(tickets)
    store = DoorStore.open_server(folder, BENCH_SERVER, encrypt=encrypt)
    store.save_pairing(BENCH_SERVER, p.PairResponse(device_id=1, device_name="b", token="sld_b"))
    wall, cpu = _timed(lambda: store_pages(store, pages))
    out = {"store_s": wall, "store_cpu_s": cpu}

    door = Door(store)
    door.check(sample_token(tickets), door="Bench", source="bench")  # loads events and keys
    checks = []
    for ticket_id in range(1, min(tickets - 1, 1000) + 1):
        token = sample_token(ticket_id)
        began = time.perf_counter()
        verdict = door.check(token, door="Bench", source="bench")
        checks.append((time.perf_counter() - began) * 1000)
        assert verdict.admitted, verdict
    out["verdict_median_ms"] = statistics.median(checks)
    out["verdict_p99_ms"] = sorted(checks)[int(len(checks) * 0.99)]

    queries = ["gue", "guest12", "number5", "T-00012", "SL-1000", "num", "guest99999",
               "t0000777", "100033"] * 10
    looks = []
    for query in queries:
        began = time.perf_counter()
        door.lookup(query, 20)
        looks.append((time.perf_counter() - began) * 1000)
    out["lookup_median_ms"] = statistics.median(looks)
    out["lookup_p95_ms"] = sorted(looks)[int(len(looks) * 0.95)]
    door.close()

    def reopen() -> None:
        again = DoorStore.open_server(folder, BENCH_SERVER, encrypt=encrypt)
        again.counts()
        again.close()

    out["open_ms"] = _timed(reopen)[0] * 1000
    out["file_mb"] = sum(f.stat().st_size for f in store.folder.iterdir()) / 1e6
    return out


ROWS = [  # key, label, unit, target
    ("store_s", "store the tickets (pages of 10,000), wall", "s", None),
    ("store_cpu_s", "  the same, CPU of this process", "s", None),
    ("verdict_median_ms", "verdict + journal (admit), median", "ms", TARGET_VERDICT_MS),
    ("verdict_p99_ms", "verdict + journal (admit), p99", "ms", None),
    ("lookup_median_ms", "lookup, median", "ms", TARGET_LOOKUP_MS),
    ("lookup_p95_ms", "lookup, p95", "ms", TARGET_LOOKUP_MS),
    ("open_ms", "open + counts (the storage part of start-up)", "ms", None),
    ("file_mb", "database files", "MB", None),
]


def storage_section(tmp: Path, tickets: int) -> dict[str, float]:
    """Print the figures, encrypted and plain; returns the encrypted ones."""
    print(f"\n== Door database with {tickets:,} tickets: SQLCipher beside plain SQLite")
    encrypted = _figures(tmp / "encrypted", tickets, encrypt=True)
    plain = _figures(tmp / "plain", tickets, encrypt=False)
    print(f"  {'':<46} {'encrypted':>10} {'plain':>10}  enc/plain  target")
    for key, label, unit, target in ROWS:
        mark = ""
        if target is not None:
            ok = "OK  " if encrypted[key] <= target else "MISS"
            mark = f"  {ok} ({encrypted[key] / target:.2f}x {target:g} {unit})"
        print(f"  {label:<46} {encrypted[key]:>10.3f} {plain[key]:>10.3f}  "
              f"{encrypted[key] / plain[key]:>8.2f}x{mark}")
    return encrypted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("STEPPERSLIFE_DOOR_NO_KEYRING", "1")
    with tempfile.TemporaryDirectory(prefix="door-storage-") as folder:
        storage_section(Path(folder), args.tickets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
