# ruff: noqa: E402  (sys.path must be fixed before any import: bench/token.py shadows stdlib `token`)
"""Flash sale: many buyers racing for one event's limited tickets, through the real server.

Starts the sync server under gunicorn (2 x cores + 1 sync workers) on a FRESH PostgreSQL database
(created here, dropped at the end), seeds one published event with a limited free ticket type (each
checkout completes at once: hold -> order -> signed tickets -> outbox row) and a limited paid one
(checkouts hold and are never paid: their holds must lapse), then races buyer threads (httpx,
127.0.0.1 only) until the free tickets are sold out or the time limit passes. Prints completed
orders per minute, p50/p99 checkout latency, the oversold count (must be 0), units still held after
the holds expired (must be 0), the reserved counters after the optional tidy-up (must be 0), the
engine's own rate without HTTP, and the ratio to a trivial endpoint on the same server.

Run: ``.venv/bin/python bench/flash_sale.py [--seconds 60] [--buyers 24] [--tickets 1000]``.
Target (issue #4): >= 10,000 orders per minute on one event on a 2-core machine.
"""

from __future__ import annotations

import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import json
import secrets
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.accounts.services import create_user, issue_api_token
from sync_server.db import make_engine, utcnow
from sync_server.events.models import Event, EventType, TicketType
from sync_server.events.services import add_day, add_ticket_type, create_event, publish_event
from sync_server.migrate import upgrade
from sync_server.orders.models import Order, PaymentStatus
from sync_server.orders.purchase_models import InventoryHold
from sync_server.orders.services import tidy_expired_orders
from sync_server.tickets.models import TicketInstance

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
HOLD_MINUTES = 0.1  # six seconds, so the bench can wait for every hold to lapse


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Seeded:
    event_id: int
    free_type_id: int
    paid_type_id: int
    tokens: list[str]


def seed(url: str, *, buyers: int, tickets: int, paid_tickets: int) -> Seeded:
    engine = make_engine(url)
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with Session(engine, expire_on_commit=False) as session:
        organizer = create_user(session, email="organizer@bench.test", password="x" * 12,
                                name="Bench Organizer", hasher=hasher)
        start = utcnow().replace(microsecond=0)
        event = create_event(session, organizer=organizer, values={
            "name": "Flash sale", "event_type": EventType.TICKETED_EVENT,
            "starts_at": start + timedelta(days=30), "ends_at": start + timedelta(days=31),
            "timezone": "America/Chicago", "city": "Chicago", "categories": ["Set"]})
        add_day(session, event, user=organizer, values={
            "starts_at": start + timedelta(days=30),
            "ends_at": start + timedelta(days=30, hours=6)})
        publish_event(session, event, user=organizer)
        free = add_ticket_type(session, event, user=organizer, values={
            "name": "Free entry", "price_cents": 0, "quantity_total": tickets})
        paid = add_ticket_type(session, event, user=organizer, values={
            "name": "VIP", "price_cents": 5000, "quantity_total": paid_tickets})
        tokens = []
        for n in range(buyers):
            user = create_user(session, email=f"buyer{n}@bench.test", password="x" * 12,
                               name=f"Buyer {n}", hasher=hasher)
            token, _ = issue_api_token(session, user, days=1)
            tokens.append(token)
        session.commit()
        result = Seeded(event.id, free.id, paid.id, tokens)
    engine.dispose()
    return result


@dataclass
class Race:
    latencies: list[float] = field(default_factory=list)  # completed checkouts, seconds
    statuses: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sold_out: threading.Event = field(default_factory=threading.Event)


def buyer(base: str, token: str, seeded: Seeded, deadline: float, race: Race, n: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    free = {"event_id": seeded.event_id, "items": [{"ticket_type_id": seeded.free_type_id,
                                                    "quantity": 1}]}
    paid = {"event_id": seeded.event_id, "items": [{"ticket_type_id": seeded.paid_type_id,
                                                    "quantity": 1}]}
    with httpx.Client(base_url=base, timeout=30.0) as client:
        attempt = 0
        while time.monotonic() < deadline and not race.sold_out.is_set():
            attempt += 1
            body = paid if (attempt + n) % 10 == 0 else free  # one in ten abandons a paid hold
            began = time.perf_counter()
            response = client.post("/api/v1/checkout", json=body, headers=headers)
            took = time.perf_counter() - began
            if response.status_code == 201:
                status = response.json()["order"]["payment_status"]
                key = "completed" if status == "COMPLETED" else "held"
            else:
                key = response.json()["error"]["code"]
            with race.lock:
                race.statuses[key] += 1
                if key == "completed":
                    race.latencies.append(took)
            if key == "sold_out" and body is free:
                race.sold_out.set()


def trivial_rate(base: str, threads: int, seconds: float) -> float:
    count = Counter[str]()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run() -> None:
        with httpx.Client(base_url=base, timeout=30.0) as client:
            while time.monotonic() < deadline:
                client.get("/api/v1/categories").raise_for_status()
                with lock:
                    count["ok"] += 1

    workers = [threading.Thread(target=run) for _ in range(threads)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return count["ok"] / (time.monotonic() - began)


def service_rate(url: str, event_id: int, threads: int, seconds: float) -> tuple[float, int]:
    """Free checkouts per second through the services alone (no HTTP), one connection per
    thread, on a fresh ticket type of the same event: the cost of the engine and its lock."""
    from sync_server.orders.services import PurchaseSettings, WantedLine, checkout

    engine = make_engine(url)
    with Session(engine) as session:
        event = session.get(Event, event_id)
        assert event is not None
        row = add_ticket_type(session, event, user=event_organizer(session, event), values={
            "name": "Engine only", "price_cents": 0, "quantity_total": 1_000_000})
        session.commit()
        type_id = row.id
    settings = PurchaseSettings(master_secret=secrets.token_bytes(32))
    done = Counter[str]()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run() -> None:
        with Session(engine, expire_on_commit=False) as session:
            while time.monotonic() < deadline:
                event = session.get(Event, event_id)
                assert event is not None
                checkout(session, event=event, buyer=None, wanted=[WantedLine(type_id, None, 1)],
                         buyer_name="Engine", buyer_email="engine@bench.test", settings=settings)
                session.commit()
                with lock:
                    done["ok"] += 1

    workers = [threading.Thread(target=run) for _ in range(threads)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    rate = done["ok"] / (time.monotonic() - began)
    with Session(engine) as session:
        sold = session.get(TicketType, type_id)
        instances = session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)
                                   .where(TicketInstance.ticket_type_id == type_id)) or 0
        mismatch = abs(instances - (sold.quantity_sold if sold else -1))
    engine.dispose()
    return rate, mismatch


def event_organizer(session: Session, event: Event) -> User:
    user = session.get(User, event.organizer_id)
    assert user is not None
    return user


def wait_ready(base: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited early")
        try:
            if httpx.get(base + "/api/v1/categories", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer in time")


def audit(url: str, seeded: Seeded) -> dict[str, int]:
    engine = make_engine(url)
    now = utcnow()
    out: dict[str, int] = {}
    with Session(engine) as session:
        oversold = 0
        for type_id in (seeded.free_type_id, seeded.paid_type_id):
            row = session.get(TicketType, type_id)
            assert row is not None
            instances = session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)
                                       .where(TicketInstance.ticket_type_id == type_id)) or 0
            live = session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(InventoryHold.quantity), 0))
                .where(InventoryHold.ticket_type_id == type_id,
                       InventoryHold.released_at.is_(None), InventoryHold.expires_at > now)) or 0
            oversold += max(0, instances - row.quantity_total)
            oversold += max(0, row.quantity_sold + live - row.quantity_total)
            oversold += abs(instances - row.quantity_sold)  # a sale without a ticket, or v.v.
            out[f"held_now_{type_id}"] = int(live)
        out["oversold"] = oversold
        out["completed_orders"] = session.scalar(
            sa.select(sa.func.count()).select_from(Order)
            .where(Order.payment_status == PaymentStatus.COMPLETED)) or 0
        out["tickets"] = session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)) or 0
        # The optional tidy-up (what `sync-server send-mail` runs): lapsed orders, counters.
        out["orders_lapsed"] = tidy_expired_orders(session)
        session.commit()
        out["reserved_after_tidy"] = int(session.scalar(
            sa.select(sa.func.sum(TicketType.quantity_reserved))
            .where(TicketType.id.in_([seeded.free_type_id, seeded.paid_type_id]))) or 0)
    engine.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time limit of the race")
    parser.add_argument("--buyers", type=int, default=24, help="concurrent buyer threads")
    parser.add_argument("--tickets", type=int, default=1000, help="free tickets on sale")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.seconds = min(max(args.seconds, 1.0), 300.0)  # bounded, whatever is asked
    args.buyers = min(max(args.buyers, 1), 128)

    name = f"flash_sale_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    process: subprocess.Popen[bytes] | None = None
    try:
        try:
            upgrade(url)
            seeded = seed(url, buyers=args.buyers * 4, tickets=args.tickets, paid_tickets=200)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            with tempfile.TemporaryDirectory() as instance:
                env = dict(os.environ, SYNC_DATABASE_URL=url, SYNC_INSTANCE_PATH=instance,
                           SYNC_MASTER_SECRET=secrets.token_hex(32),
                           SYNC_SECRET_KEY=secrets.token_hex(32),
                           SYNC_HOLD_MINUTES=str(HOLD_MINUTES),
                           # Every buyer comes from 127.0.0.1 here: count per user only.
                           SYNC_CHECKOUT_LIMIT_PER_ADDRESS="0",
                           SYNC_CHECKOUT_LIMIT_PER_USER="1000", SYNC_SMTP_HOST="",
                           SYNC_LOG_LEVEL="ERROR")
                process = subprocess.Popen(
                    [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                     "--workers", str(args.workers), "--log-level", "error",
                     "sync_server:create_app()"],
                    env=env, cwd=Path(__file__).resolve().parent.parent)
                wait_ready(base, process)
                trivial = trivial_rate(base, args.buyers, min(5.0, args.seconds))

                race = Race()
                deadline = time.monotonic() + args.seconds
                threads = [threading.Thread(target=buyer, args=(
                    base, seeded.tokens[n % len(seeded.tokens)], seeded, deadline, race, n))
                    for n in range(args.buyers)]
                began = time.monotonic()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                elapsed = time.monotonic() - began
                time.sleep(HOLD_MINUTES * 60 + 1)  # let every hold lapse
                held_after = httpx.get(f"{base}/api/v1/events/{seeded.event_id}/availability",
                                       timeout=10).json()
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
        figures = audit(url, seeded)
        engine_rate, engine_mismatch = service_rate(url, seeded.event_id, threads=args.workers,
                                                    seconds=min(10.0, args.seconds))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    lat = sorted(race.latencies)
    completed = race.statuses["completed"]
    per_minute = completed / elapsed * 60
    checkouts_per_second = (completed + race.statuses["held"]) / elapsed
    result = {
        "workers": args.workers, "buyers": args.buyers, "seconds": round(elapsed, 2),
        "completed_orders": completed, "holds_placed": race.statuses["held"],
        "sold_out_answers": race.statuses["sold_out"],
        "other_answers": {k: v for k, v in race.statuses.items()
                          if k not in {"completed", "held", "sold_out"}},
        "orders_per_minute": round(per_minute),
        "p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
        "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1) if lat else None,
        "oversold": figures["oversold"],
        "held_after_expiry": sum(r["held"] for r in held_after["ticket_types"]),
        "trivial_requests_per_second": round(trivial),
        "checkout_to_trivial_ratio": round(checkouts_per_second / trivial, 3) if trivial else None,
        "db_completed_orders": figures["completed_orders"], "db_tickets": figures["tickets"],
        "engine_only_orders_per_minute": round(engine_rate * 60),
        "orders_lapsed_by_tidy": figures["orders_lapsed"],
        "reserved_after_tidy": figures["reserved_after_tidy"],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
        print(f"{'target':>28}: >= 10000 orders/minute, oversold 0, held after expiry 0")
    ok = (result["oversold"] == 0 and result["held_after_expiry"] == 0 and engine_mismatch == 0
          and result["reserved_after_tidy"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
