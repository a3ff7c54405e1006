# ruff: noqa: E402  (sys.path must be fixed before the project imports: see below)
"""Door sync figures on PostgreSQL: full download, a delta, a scan upload, lookup latency.

Run: ``.venv/bin/python bench/door_sync.py [--tickets 100000]``. Creates a fresh PostgreSQL
database (dropped at the end), migrates it, bulk-inserts the tickets directly (signed tokens,
orders, valid days), starts the real server (gunicorn, 2 workers) on a free port and drives
the real door client (``scanner_app.core.sync``) over HTTP into a real door cache.
Targets (issue 5): full <= 10 s in <= 20 requests, delta of 1,000 <= 1 s, upload of 10,000
queued scans <= 5 s, lookup <= 50 ms. Peak memory is this (door) process's maximum RSS.
The door cache is encrypted (SQLCipher, issue #13); the full download is run a second time into
a plain SQLite cache, so the cost of encryption shows in one run whatever else the machine does.
"""

from __future__ import annotations

import os
import sys

# Run as a script, bench/ comes first on sys.path (bench/token.py shadows the stdlib): fix it.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import multiprocessing
import random
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from bench.databases import fresh_database
from scanner_app.core.door import Door
from scanner_app.core.sync import SyncEngine, pair
from scanner_app.storage.store import DoorStore
from shared import protocol as p
from shared.ticket_token import TicketClaims, sign
from sync_server.accounts.services import create_user
from sync_server.db import make_engine
from sync_server.devices.services import create_pairing_code
from sync_server.door.changes import next_change
from sync_server.door.models import table_of
from sync_server.events.catalog import add_day, add_ticket_type
from sync_server.events.models import EventDay
from sync_server.events.services import create_event, publish_event
from sync_server.keys.services import active_key_version, event_key
from sync_server.orders.models import Order, PaymentMethod, PaymentStatus
from sync_server.tickets.models import TicketInstance, TicketStatus, ticket_instance_days

MASTER = secrets.token_bytes(32)
FIRST = ["María", "José", "Ana", "Luis", "Chloé", "Zoë", "Kwame", "Aisha", "Jamal", "Keisha",
         "Darnell", "Tanisha", "Marcus", "Imani", "Andre", "Renée", "Björn", "Nadia"]
LAST = ["López", "Johnson", "Williams", "Brown", "Jones", "García", "Müller", "Okafor",
        "Washington", "Jefferson", "Nguyen", "O'Brien", "Smith", "Davis", "Sánchez"]
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
BATCH = 1_000  # scans per upload request: the protocol's maximum (the door's default is 500)


def line(name: str, value: float, unit: str, target: float | None = None) -> None:
    ratio = f"  ({value / target:.2f} of target {target:g} {unit})" if target else ""
    print(f"  {name:<38} {value:>10.3f} {unit}{ratio}")


def ticket_number(i: int) -> str:
    chars = []
    for _ in range(8):
        i, digit = divmod(i, len(ALPHABET))
        chars.append(ALPHABET[digit])
    text = "".join(chars)
    return f"{text[:4]}-{text[4:]}"


def stage(url: str, count: int) -> tuple[int, str, list[str]]:
    """Organizer, event, ``count`` tickets bulk-inserted; returns (event id, code, tokens)."""
    from sync_server.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        organizer = create_user(session, email="bench@example.test", name="Bench Organizer",
                                password="correct horse battery", hasher=hasher)
        start = datetime.now(UTC) - timedelta(hours=1)
        event = create_event(session, organizer=organizer, values={
            "name": "Bench weekend", "event_type": "TICKETED_EVENT", "starts_at": start,
            "ends_at": start + timedelta(days=2), "timezone": "America/Chicago"})
        for day in range(2):
            add_day(session, event, user=organizer, values={
                "starts_at": start + timedelta(days=day),
                "ends_at": start + timedelta(days=day, hours=8)})
        publish_event(session, event, user=organizer)
        tier = add_ticket_type(session, event, user=organizer, values={
            "name": "Weekend pass", "price_cents": 4500, "quantity_total": count})
        version = active_key_version(session, event.id).version
        session.commit()
        key = event_key(MASTER, event.id, version)
        day_ids = list(session.scalars(sa.select(EventDay.id).where(EventDay.event_id == event.id)))
        rng = random.Random(1)

        orders = [{"order_number": f"SL-{i:07d}", "event_id": event.id,
                   "payment_method": PaymentMethod.STRIPE,
                   "payment_status": PaymentStatus.COMPLETED, "buyer_name": "Buyer",
                   "buyer_email": f"buyer{i}@example.com", "total_cents": 4500}
                  for i in range((count + 3) // 4)]
        order_ids = list(session.scalars(sa.insert(Order).returning(Order.id), orders))
        first_id = int(session.scalar(sa.select(sa.func.coalesce(
            sa.func.max(TicketInstance.id), 0))) or 0) + 1
        number = next_change(session, event.id)
        rows, links, tokens = [], [], []
        for i in range(count):
            ticket_id = first_id + i
            token = sign(TicketClaims(event.id, ticket_id, version), key)
            tokens.append(token)
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            rows.append({"id": ticket_id, "event_id": event.id, "order_id": order_ids[i // 4],
                         "ticket_type_id": tier.id, "ticket_number": ticket_number(i * 7919 + 13),
                         "holder_name": name,
                         "holder_email": f"{name.split()[0].lower()}{i}@example.com",
                         "status": TicketStatus.VALID, "key_version": version, "token": token,
                         "door_change": number, "manual_checkin": False})
            links += [{"ticket_instance_id": ticket_id, "event_day_id": d} for d in day_ids]
        session.execute(sa.insert(table_of(TicketInstance)), rows)
        session.execute(sa.insert(ticket_instance_days), links)
        session.execute(sa.text("SELECT setval(pg_get_serial_sequence('ticket_instances', 'id'), "
                                "(SELECT max(id) FROM ticket_instances))"))
        session.commit()
        code, _ = create_pairing_code(session, by=organizer, events=[event], device_name="Bench")
        session.commit()
        event_id = event.id
    # What autovacuum does within a minute of 100,000 new rows on a live server. Without it the
    # planner believes the event has a dozen tickets and sorts instead of walking the primary
    # key: 1.6-1.9 s of PostgreSQL per page instead of 0.09 s (EXPLAIN ANALYZE, 2026-12-03),
    # which the door's figures then carried (the server shares the door's two cores).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()
    return event_id, code, tokens


@contextmanager
def server(url: str, instance: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "SYNC_DATABASE_URL": url, "SYNC_MASTER_SECRET": MASTER.hex(),
           "SYNC_SECRET_KEY": "bench", "SYNC_INSTANCE_PATH": str(instance),
           "PYTHONPATH": sys.path[0]}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "120",
         "--log-level", "warning", "sync_server:create_app()"], env=env, cwd=instance)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded machine starts gunicorn slowly
        while True:
            try:
                httpx.get(base + "/api/v1/openapi.json", timeout=60)  # slow under load
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)


class Timing:
    """Seconds spent per request path (httpx event hooks), to split a sync round."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._started: dict[int, float] = {}

    def request(self, request: httpx.Request) -> None:
        self._started[id(request)] = time.perf_counter()

    def response(self, response: httpx.Response) -> None:
        response.read()
        took = time.perf_counter() - self._started.pop(id(response.request), time.perf_counter())
        kind = "scans" if response.request.url.path.endswith("/scans") else "other"
        self.spent[kind] = self.spent.get(kind, 0.0) + took


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(count: int) -> None:
    with fresh_database("door_bench") as url, tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        # staged in a child process, so this process's peak memory is the door's alone
        with multiprocessing.get_context("fork").Pool(1) as pool:
            event_id, code, tokens = pool.apply(stage, (url, count))
        print(f"door sync bench: {count:,} tickets on PostgreSQL "
              f"(staged in {time.perf_counter() - began:.1f} s)")
        instance = Path(tmp) / "instance"
        instance.mkdir()
        with server(url, instance) as base:
            timing = Timing()
            hooks: dict[str, list[Callable[..., Any]]] = {
                "request": [timing.request], "response": [timing.response]}
            with httpx.Client(base_url=base, timeout=120, event_hooks=hooks) as client:
                data_dir = Path(tmp) / "door"
                pair(client, data_dir, code)
                door = Door.open(data_dir)
                engine = SyncEngine(door.store, client, batch_size=BATCH)
                rss_before = maxrss_mb()

                timing.spent.clear()
                began, cpu = time.perf_counter(), time.process_time()
                report = engine.sync_once()
                full, cpu = time.perf_counter() - began, time.process_time() - cpu
                asking = sum(timing.spent.values())
                print("full download (pair done; heartbeat + pages, into the encrypted cache)")
                line("seconds", full, "s", 10)
                # With prefetch the next page's request runs while this one is stored: the two
                # overlap, so "the rest" is the storing the requests did not hide.
                line("  requests (server + transfer), overlapping", asking, "s")
                line("  the rest (storing not hidden by them)", full - asking, "s")
                line("door CPU (parsing + storing; moves less with load)", cpu, "s")
                line("requests", report.requests, "req", 20)
                line("tickets/s", report.tickets / full, "/s")
                line("tickets stored", report.tickets, "")
                line("door peak RSS", maxrss_mb(), "MB")
                line("door peak RSS growth (download)", maxrss_mb() - rss_before, "MB")
                plain_download(client, door, data_dir.with_name("door-plain"), full)
                plain_download(client, door, data_dir.with_name("door-sequential"), full,
                               prefetch=False)

                changed = delta_changes(url, event_id, 1_000)
                began = time.perf_counter()
                report = engine.sync_once()
                delta = time.perf_counter() - began
                print(f"delta of {changed:,} changed tickets")
                line("seconds", delta, "s", 1)
                line("requests", report.requests, "req")
                line("tickets received", report.tickets, "")

                began = time.perf_counter()
                for token in tokens[: 10_000]:
                    door.check(token, door="Bench", source="bench")
                queued = time.perf_counter() - began
                print(f"upload of 10,000 queued scans ({BATCH} per request)")
                line("queueing (local verdicts) seconds", queued, "s")
                timing.spent.clear()
                began = time.perf_counter()
                report = engine.sync_once()
                whole = time.perf_counter() - began
                line("upload seconds (scan requests)", timing.spent.get("scans", 0.0), "s", 5)
                line("whole round seconds (+ delta back)", whole, "s")
                line("scans accepted", report.uploaded, "")
                line("requests", report.requests, "req")

                lookups(door)
                door.close()


def plain_download(client: httpx.Client, door: Door, folder: Path, encrypted: float, *,
                   prefetch: bool = True) -> None:
    """The same full download into a plain SQLite cache (same device), to compare in one run;
    ``prefetch=False``: into an encrypted cache, one page after the other (before issue #13's
    prefetch), to show what asking for the next page while storing this one gains."""
    identity = door.store.identity()
    token = door.store.device_token()
    assert identity is not None and identity.device_id is not None and token is not None
    plain = DoorStore.open_server(folder, identity.server_url, encrypt=not prefetch)
    plain.save_pairing(identity.server_url,
                       p.PairResponse(identity.device_id, identity.device_name, token))
    began, cpu = time.perf_counter(), time.process_time()
    SyncEngine(plain, client, batch_size=BATCH, prefetch=prefetch).sync_once()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    plain.close()
    if prefetch:
        print("the same full download into an unencrypted SQLite cache (same code, same run)")
    else:
        print("the same full download, encrypted, without prefetch (pages one after the other)")
    line("seconds", seconds, "s", 10)
    line("door CPU (parsing + storing)", cpu, "s")
    if prefetch:
        line("encrypted / unencrypted, wall", encrypted / seconds, "x")
    else:
        line("with prefetch / without, wall", encrypted / seconds, "x")


def delta_changes(url: str, event_id: int, count: int) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        tickets = session.scalars(sa.select(TicketInstance).where(
            TicketInstance.event_id == event_id).order_by(sa.func.random()).limit(count)).all()
        for ticket in tickets:
            ticket.holder_name = ticket.holder_name + " Jr."
        session.commit()
    engine.dispose()
    return len(tickets)


def lookups(door: Door) -> None:
    rng = random.Random(7)
    queries = ([rng.choice(FIRST)[:3].lower() for _ in range(50)]
               + [rng.choice(LAST) for _ in range(50)]
               + [f"{rng.choice(FIRST).lower()}{rng.randrange(100)}" for _ in range(50)]
               + [ticket_number(rng.randrange(10**6))[:6] for _ in range(50)]
               + [f"SL-{rng.randrange(25_000):07d}" for _ in range(50)])
    times = []
    for query in queries:
        began = time.perf_counter()
        door.lookup(query, 20)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    print(f"lookup ({len(times)} queries: name and email prefixes, ticket and order numbers)")
    line("median", statistics.median(times), "ms", 50)
    line("p95", times[int(len(times) * 0.95)], "ms", 50)
    line("max", times[-1], "ms", 50)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args()
    run(args.tickets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
