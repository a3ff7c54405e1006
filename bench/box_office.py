# ruff: noqa: E402  (sys.path must be fixed before the project imports: see below)
"""Box-office sale time in the app, online and offline: p50 / p99 against the targets.

Run: ``.venv/bin/python bench/box_office.py [--sales 60]``. Starts the real server
(``sync-server run``, SQLite, a throwaway folder), makes an event, a seller and a BOX_OFFICE
device through the server's services, pairs a real desk (``scanner_app.core.desk.Desk`` on its
encrypted door database) and signs the seller in. One sale, as the seller waits for it, is:
hold + confirm on the server (online) or stock tickets taken in one SQLite transaction (offline),
the sale stored, and its receipt printed to a PDF (``DeskPrinter``, Qt print support).
Targets (issue 16): p99 <= 500 ms online, <= 100 ms offline.
"""

from __future__ import annotations

import os
import sys

# Run as a script, bench/ comes first on sys.path (bench/token.py shadows the stdlib): fix it.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("STEPPERSLIFE_DOOR_NO_KEYRING", "1")

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from argon2 import PasswordHasher
from PySide6.QtGui import QGuiApplication
from sqlalchemy.orm import Session

from scanner_app.core.box_api import HttpBoxApi, event_path
from scanner_app.core.box_office import Cart, build_request, tiers_by_id
from scanner_app.core.desk import Desk
from scanner_app.core.sync import SyncEngine, pair
from scanner_app.storage.store import DoorStore
from scanner_app.ui.ticket_print import DeskPrinter, Layout
from sync_server.accounts.services import create_user
from sync_server.auth.tokens import issue_api_token
from sync_server.db import make_engine
from sync_server.devices.models import DeviceKind
from sync_server.devices.services import create_pairing_code
from sync_server.events.catalog import add_day, add_ticket_type
from sync_server.events.services import create_event, publish_event
from sync_server.migrate import upgrade
from sync_server.staff.services import add_seller
from tests.e2e.conftest import ServerProcess

ONLINE_TARGET_MS = 500.0
OFFLINE_TARGET_MS = 100.0
PROFILE = None  # a cProfile.Profile with --profile: where an offline sale's time goes


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def report(name: str, times_ms: list[float], target_ms: float) -> None:
    p50, p99 = statistics.median(times_ms), percentile(times_ms, 0.99)
    print(f"  {name:<9} n={len(times_ms):<4} p50 {p50:8.1f} ms   p99 {p99:8.1f} ms   "
          f"max {max(times_ms):8.1f} ms   (p99 {p99 / target_ms:.2f} of target {target_ms:g} ms)")


def stage(server: ServerProcess, allocation: int) -> tuple[int, str, str, str]:
    """Event, tier, seller and a BOX_OFFICE pairing code; returns (event id, seller e-mail,
    organizer token, pairing code)."""
    engine = make_engine(server.database_url)
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with Session(engine, expire_on_commit=False) as session:
        organizer = create_user(session, email="org@bench.test", password="correct horse battery",
                                name="Olive Organizer", hasher=hasher)
        create_user(session, email="sam@bench.test", password="correct horse battery",
                    name="Sam Seller", hasher=hasher)
        start = datetime.now(UTC) - timedelta(hours=1)
        event = create_event(session, organizer=organizer, values={
            "name": "Bench night", "event_type": "TICKETED_EVENT", "starts_at": start,
            "ends_at": start + timedelta(hours=8), "timezone": "UTC", "city": "Chicago"})
        add_day(session, event, user=organizer, values={
            "starts_at": start, "ends_at": start + timedelta(hours=8)})
        publish_event(session, event, user=organizer)
        add_ticket_type(session, event, user=organizer, values={
            "name": "General", "price_cents": 2500, "quantity_total": 100_000})
        add_seller(session, event, by=organizer, email="sam@bench.test",
                   allocated_tickets=allocation, commission_rate_bp=1000)
        token, _ = issue_api_token(session, organizer, days=1)
        code, _ = create_pairing_code(session, by=organizer, events=[event],
                                      device_name="Bench desk", kind=DeviceKind.BOX_OFFICE)
        session.commit()
        event_id = event.id
    engine.dispose()
    return event_id, "sam@bench.test", token, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sales", type=int, default=60, help="sales measured in each mode")
    parser.add_argument("--profile", action="store_true", help="profile the offline sales")
    args = parser.parse_args()
    if args.profile:
        import cProfile

        global PROFILE
        PROFILE = cProfile.Profile()
    _qt = QGuiApplication([])  # printing needs Qt's GUI classes (offscreen)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        instance = folder / "instance"
        instance.mkdir()
        server = ServerProcess(instance)
        upgrade(server.database_url)
        event_id, email, organizer_token, pairing = stage(server, allocation=10 * args.sales)
        server.start()
        try:
            return run(server, folder, event_id, email, organizer_token, pairing, args.sales)
        finally:
            server.stop()


def run(server: ServerProcess, folder: Path, event_id: int, email: str, organizer_token: str,
        pairing: str, count: int) -> int:
    data_dir = folder / "desk"
    client = httpx.Client(base_url=server.url, timeout=httpx.Timeout(10.0, connect=2.0))
    pair(client, data_dir, pairing)
    store = DoorStore.open_active(data_dir)
    SyncEngine(store, client).sync_once()
    codes = client.get(event_path(event_id, "codes"),
                       headers={"Authorization": f"Bearer {organizer_token}"}).json()["codes"]
    code = str(codes[0]["code"])
    desk = Desk(store, HttpBoxApi(client, store.device_token()))
    desk.sign_in(event_id, email, code)
    desk.refresh()
    printer = DeskPrinter(pdf_folder=folder / "printed", layout=Layout.RECEIPT)
    tier = desk.tiers()[0]

    printing: dict[str, list[float]] = {"online": [], "offline": []}

    def one_sale(mode: str) -> float:
        tiers = tiers_by_id(desk.tiers())
        request = build_request(tiers, Cart().add(tier.tier_id, 2), code=code, cash="60")
        started = time.perf_counter()
        sale = desk.sell(request)
        sold = time.perf_counter()
        outcome = printer.print_sale(sale)
        ended = time.perf_counter()
        assert outcome.ok, outcome
        printing[mode].append((ended - sold) * 1000)
        return (ended - started) * 1000

    for _ in range(3):  # warm-up: first connections, Qt's fonts
        one_sale("online")
    printing["online"].clear()
    online = [one_sale("online") for _ in range(count)]

    offline: list[float] = []
    uploaded = 0
    while len(offline) < count:
        desk.offline = False
        # online again: the offline sales upload, the stock is topped up (capped per desk)
        uploaded += desk.refresh().uploaded
        held = sum(t.stock for t in desk.tiers())
        desk.offline = True  # the venue's internet is down: sales come from stock at once
        for _ in range(min(held // 2, count - len(offline))):
            if PROFILE is not None:
                PROFILE.enable()
            offline.append(one_sale("offline"))
            if PROFILE is not None:
                PROFILE.disable()
        if held < 2:
            raise SystemExit("the server handed out no stock: is the allocation too small?")
    desk.offline = False
    last = desk.refresh()
    uploaded += last.uploaded
    print(f"Box office sale time (hold, confirm, issue, print a receipt PDF), {count} two-ticket "
          "sales each")
    report("online", online, ONLINE_TARGET_MS)
    report("offline", offline, OFFLINE_TARGET_MS)
    for mode in ("online", "offline"):
        sell = [a - b for a, b in zip(online if mode == "online" else offline, printing[mode],
                                      strict=True)]
        print(f"    {mode}: the sale p50 {statistics.median(sell):.1f} ms, p99 "
              f"{percentile(sell, 0.99):.1f} ms; its PDF p50 "
              f"{statistics.median(printing[mode]):.1f} ms, p99 "
              f"{percentile(printing[mode], 0.99):.1f} ms")
    print(f"  offline sales uploaded on reconnecting: {uploaded} of {len(offline)} (rejected "
          f"{last.rejected}); online p50 / offline p50 = "
          f"{statistics.median(online) / statistics.median(offline):.1f}x")
    if PROFILE is not None:
        import pstats

        pstats.Stats(PROFILE).sort_stats("tottime").print_stats(15)
    desk.close()
    client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
