# ruff: noqa: E402  (sys.path must be fixed before any import: bench/token.py shadows stdlib `token`)
"""Organizer pages on a big night, on PostgreSQL: 100,000 orders (about 200,000 tickets) and
200,000 door scans of one event, staged with COPY. Each page is asked ``ROUNDS`` times in this
process (the app over WSGI, signed in as the organizer); prints p50 and p95 of each, its ratio
to a trivial page (``/``) measured in the same run, and each against the 300 ms goal (p95).

Measured twice: without the indexes of migrations 0012 and 0015 (dropped for the run, 0015's
replaced index back) and with them.

    .venv/bin/python bench/pages.py [--orders N] [--scans N] [--rounds N]
        [--trigram] [--keep] [--stage-only]

The dashboard (``/organize``, issue 15's first page) is measured when it exists on this branch.
"""

from __future__ import annotations

import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import importlib
import random
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.orm import Session

from bench.databases import fresh_database
from sync_server import create_app
from sync_server.accounts.services import create_user
from sync_server.db import make_engine
from sync_server.devices.services import create_pairing_code, pair_device
from sync_server.events.catalog import add_day, add_ticket_type
from sync_server.events.services import create_event, publish_event
from sync_server.migrate import upgrade

GOAL_MS = 300.0
PASSWORD = "correct horse battery"
FIRST = ["Maria", "Jose", "Ana", "Luis", "Chloe", "Zoe", "Kwame", "Aisha", "Jamal", "Keisha",
         "Darnell", "Tanisha", "Marcus", "Imani", "Andre", "Renee", "Bjorn", "Nadia"]
LAST = ["Lopez", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Muller", "Okafor",
        "Washington", "Jefferson", "Nguyen", "OBrien", "Smith", "Davis", "Sanchez"]
DOORS = ["North", "South", "East", "VIP"]
REFUSED = ["already_scanned", "forged", "malformed", "wrong_event", "cancelled", "repeat"]
MIGRATION = "sync_server.migrations.versions.2026_12_03_0012_organizer_page_indexes"
# Issue 15's second pass: (event, payment status, completion time) INCLUDE (total), replacing
# (event, payment status); the "without" run has the replaced index back, as before 0015.
MIGRATION_15 = "sync_server.migrations.versions.2026_12_03_0015_order_status_time_index"
# A candidate, not in migration 0012: the search by a part of a name or e-mail (orders.search
# buyer_text) through a trigram index. ``--trigram`` adds it to the "with" run.
TRIGRAM = ("CREATE INDEX IF NOT EXISTS ix_orders_buyer_trgm ON orders "
           "USING gin ((lower(buyer_name || ' ' || buyer_email)) gin_trgm_ops)")
TRIGRAM_TOO = False


def one(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def stage(url: str, orders: int, scans: int) -> tuple[int, str, str]:
    """The event and its night, committed; returns (event id, a buyer's surname, an order
    number)."""
    upgrade(url)
    engine = make_engine(url)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    with Session(engine, expire_on_commit=False) as session:
        from argon2 import PasswordHasher
        hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        organizer = create_user(session, email="bench@example.test", name="Bench Organizer",
                                password=PASSWORD, hasher=hasher, email_verified=True)
        event = create_event(session, organizer=organizer, values={
            "name": "Bench night", "event_type": "TICKETED_EVENT", "starts_at": start,
            "ends_at": start + timedelta(hours=10), "timezone": "America/Chicago"})
        add_day(session, event, user=organizer, values={
            "starts_at": start, "ends_at": start + timedelta(hours=10)})
        tiers = [add_ticket_type(session, event, user=organizer, values={
            "name": name, "price_cents": price, "quantity_total": orders * 3})
            for name, price in (("Early bird", 2000), ("General", 3000), ("VIP", 6000))]
        publish_event(session, event, user=organizer)
        devices = []
        for door in DOORS:
            code, _ = create_pairing_code(session, by=organizer, events=[event],
                                          device_name=door)
            devices.append(pair_device(session, code=code)[1].id)
        session.commit()
        event_id, tier_ids = event.id, [t.id for t in tiers]
    engine.dispose()
    rng = random.Random(15)
    sold_from = start - timedelta(days=30)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        codes = [one(conn,
            "INSERT INTO discount_codes (event_id, code, description, discount_type, "
            "discount_value, current_uses, valid_from, valid_until, active, created_at) VALUES "
            "(%s, %s, '', 'PERCENTAGE', 10, 0, %s, %s, true, now()) RETURNING id",
            (event_id, code, sold_from, start)) for code in ("EARLY", "FRIENDS")]
        first_order = one(conn, "SELECT coalesce(max(id), 0) + 1 FROM orders")
        ticket_rows: list[tuple[Any, ...]] = []
        item_rows: list[tuple[Any, ...]] = []
        with conn.cursor().copy(
                "COPY orders (id, order_number, event_id, subtotal_cents, fees_cents, "
                "discount_cents, total_cents, units, discount_code_id, payment_method, "
                "payment_status, buyer_name, buyer_email, completed_at, created_at, updated_at) "
                "FROM STDIN") as cp:
            for i in range(orders):
                oid = first_order + i
                tier = rng.randrange(3)
                qty = rng.choice((1, 1, 2, 2, 2, 3, 4))
                subtotal = qty * (2000, 3000, 6000)[tier]
                code_id = rng.choice(codes) if rng.random() < 0.1 else None
                discount = subtotal // 10 if code_id else 0
                fees = (subtotal - discount) * 5 // 100 + 100 * qty
                at = sold_from + timedelta(seconds=int(30 * 86400 * rng.random() ** 0.5))
                status = "COMPLETED" if rng.random() < 0.97 else rng.choice(
                    ("REFUNDED", "FAILED"))
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                cp.write_row((oid, f"SL-{i:05d}-{rng.randrange(10**5):05d}", event_id, subtotal,
                              fees, discount, subtotal - discount + fees, qty, code_id, "STRIPE",
                              status,
                              name, f"{name.split()[0].lower()}{i}@example.com", at, at, at))
                item_rows.append((oid, tier_ids[tier], qty, (2000, 3000, 6000)[tier], subtotal))
                for n in range(qty):
                    ticket_rows.append((event_id, oid, tier_ids[tier], f"B{i:07d}-{n}", name,
                                        f"{name.split()[0].lower()}{i}-{n}@example.com",
                                        "VALID", 1, False, 0, at, at))
        with conn.cursor().copy("COPY order_items (order_id, ticket_type_id, quantity, "
                                "price_per_item_cents, subtotal_cents) FROM STDIN") as cp:
            for row in item_rows:
                cp.write_row(row)
        with conn.cursor().copy(
                "COPY ticket_instances (event_id, order_id, ticket_type_id, ticket_number, "
                "holder_name, holder_email, status, key_version, manual_checkin, door_change, "
                "created_at, updated_at) "
                "FROM STDIN") as cp:
            for row in ticket_rows:
                cp.write_row(row)
        ticket_ids = [r[0] for r in conn.execute(
            "SELECT id FROM ticket_instances WHERE event_id = %s ORDER BY id LIMIT %s",
            (event_id, scans)).fetchall()]
        first_scan = one(conn, "SELECT coalesce(max(id), 0) + 1 FROM door_scans")
        with conn.cursor().copy(
                "COPY door_scans (id, scan_id, device_id, event_id, ticket_id, "
                "ticket_instance_id, scanned_at, received_at, door, direction, verdict, "
                "scan_type, payload, admission, lost_to_id, change_no) FROM STDIN") as cp:
            for i in range(scans):
                d = rng.randrange(len(DOORS))
                roll = rng.random()
                verdict, direction = (("admit", "entry") if roll < 0.88 else
                                      ("exit", "exit") if roll < 0.94 else
                                      (rng.choice(REFUSED), "entry"))
                lost = first_scan + rng.randrange(max(i, 1)) if (
                    i and verdict == "admit" and rng.random() < 0.01) else None
                tid = ticket_ids[i % len(ticket_ids)]
                at = start + timedelta(seconds=int(5 * 3600 * (i / scans)))
                cp.write_row((first_scan + i, str(uuid.uuid4()), devices[d], event_id, tid, tid,
                              at, at, DOORS[d], direction, verdict, "QR_SCAN", "",
                              verdict == "admit", lost, 0))
        for table in ("orders", "ticket_instances", "door_scans"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                         f"(SELECT max(id) FROM {table}))")  # (fixed table names)
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    return event_id, "Okafor", f"SL-{orders // 2:05d}-"


def sign_in(client: httpx.Client) -> None:
    page = client.get("/sign-in")
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.text)
    assert token, "no CSRF token on the sign-in page"
    done = client.post("/sign-in", data={"email": "bench@example.test", "password": PASSWORD,
                                         "csrf_token": token.group(1)})
    assert done.status_code == 302, done.text


def timings(client: httpx.Client, path: str, rounds: int) -> list[float]:
    for _ in range(3):  # warm: templates compiled, plans cached
        assert client.get(path).status_code == 200, path
    spent = []
    for _ in range(rounds):
        began = time.perf_counter()
        response = client.get(path)
        spent.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return spent


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def indexes(url: str, present: bool) -> None:
    module = importlib.import_module(MIGRATION)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"),
                         autocommit=True) as conn:
        for name, table, columns in module.INDEXES:
            if present:
                conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})")
            else:
                conn.execute(f"DROP INDEX IF EXISTS {name}")
        later = importlib.import_module(MIGRATION_15)
        old, table, columns = later.REPLACED
        conn.execute(f"DROP INDEX IF EXISTS {old}" if present else
                     f"CREATE INDEX IF NOT EXISTS {old} ON {table} ({', '.join(columns)})")
        for name, table, columns, included in later.INDEXES:
            if present:
                conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                             f"({', '.join(columns)}) INCLUDE ({', '.join(included)})")
            else:
                conn.execute(f"DROP INDEX IF EXISTS {name}")
        if present and TRIGRAM_TOO:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            conn.execute(TRIGRAM)
        conn.execute("ANALYZE")


def pages(event_id: int, surname: str, number: str,
          deep: int) -> Iterator[tuple[str, str]]:
    e = f"/organize/events/{event_id}"
    yield "trivial page (/)", "/"
    yield "dashboard (/organize)", "/organize"
    yield "orders, first page", f"{e}/orders"
    yield f"orders, page {deep:,}", f"{e}/orders?page={deep}"
    yield "orders search: surname", f"{e}/orders?q={surname}"
    yield "orders search: e-mail part", f"{e}/orders?q=keisha12"
    yield "orders search: order number", f"{e}/orders?q={number}"
    yield "orders search: ticket number", f"{e}/orders?q=B0001234-0"
    yield "analytics page", f"{e}/analytics"
    yield "door live page", f"{e}/live"
    yield "door live figures (every 5 s)", f"{e}/live/figures"


def measure(url: str, event_id: int, surname: str, number: str, rounds: int,
            deep: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"database_url": url, "instance_path": Path(tmp),
                          "secret_key": "bench", "master_secret": b"\x01" * 32})
        client = httpx.Client(transport=httpx.WSGITransport(app=app),
                              base_url="http://bench", follow_redirects=False)
        sign_in(client)
        trivial = None
        for name, path in pages(event_id, surname, number, deep):
            if path == "/organize" and "organizer.dashboard" not in app.view_functions:
                print(f"  {name:<34} not on this branch (org1's page): not measured")
                continue
            spent = timings(client, path, rounds)
            high = p95(spent)
            trivial = trivial or high
            verdict = "ok" if high <= GOAL_MS else "OVER"
            print(f"  {name:<34} p50 {statistics.median(spent):7.1f} ms  p95 {high:7.1f} ms"
                  f"  x{high / trivial:6.1f} trivial  {high / GOAL_MS:4.2f} of {GOAL_MS:g} ms"
                  f"  {verdict}")
        app.extensions["sync_db_engine"].dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--scans", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--trigram", action="store_true",
                        help="add the trigram index (not in migration 0012) to the second run")
    parser.add_argument("--keep", action="store_true",
                        help="keep the staged database afterwards (to EXPLAIN its queries)")
    parser.add_argument("--stage-only", action="store_true",
                        help="stage the data and stop (with --keep: a database to look into)")
    args = parser.parse_args()
    global TRIGRAM_TOO
    TRIGRAM_TOO = args.trigram
    with fresh_database("pages_bench", keep=args.keep) as url:
        began = time.perf_counter()
        event_id, surname, number = stage(url, args.orders, args.scans)
        print(f"staged {args.orders:,} orders and {args.scans:,} door scans in "
              f"{time.perf_counter() - began:.1f} s (PostgreSQL): event {event_id}")
        if args.stage_only:
            return 0
        for present in (False, True):
            indexes(url, present)
            extra = " and the trigram index" if present and args.trigram else ""
            print(f"{'with' if present else 'without'} migration 0012's and 0015's indexes{extra} "
                  f"(p95 of {args.rounds} requests each):")
            measure(url, event_id, surname, number, args.rounds,
                    deep=max(1, args.orders // 25 // 2))  # the middle page of 25 orders
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
