# ruff: noqa: E402  (sys.path must be fixed before any import: bench/token.py shadows stdlib `token`)
"""Stripe webhooks under load: 10,000 signed deliveries, a third of them duplicates, some out of
order, against the real server under gunicorn on a FRESH PostgreSQL database.

Set-up: one published event with a paid ticket type, its organizer's Express account connected
on the local fake Stripe (``python -m tests.fake_stripe``, a subprocess), ~2,222 card orders
placed through ``POST /checkout`` (each a Checkout Session at the fake) and paid at the fake with
its webhooks held. Each payment raises three events (``charge.succeeded``,
``payment_intent.succeeded``, ``checkout.session.completed``); the bench signs them as Stripe
does (``t=…,v1=…``) and delivers them itself from ``--connections`` keep-alive clients: every
event once, plus duplicates (some racing their original), the whole stream shuffled in small
windows so later events often overtake earlier ones. These three events' objects are final, so
the server handles them without asking the fake (a refund's or a dispute's event would read the
session from it, as from Stripe; docs/payments.md, "Webhooks").

Prints deliveries per second, latency percentiles, the answers other than 200, the counts that
must be zero (tickets issued twice, orders paid without tickets, e-mails queued twice, events
recorded twice), and — same run, same clients, same server — the free checkout's throughput and
the ratio between the two. Targets (issue 14): p99 <= 200 ms, deliveries/s >= free checkouts/s.
The machine may be shared: read the ratios. Run:
``.venv/bin/python bench/webhooks.py [--deliveries 10000] [--connections 8]``.
"""

from __future__ import annotations

import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import hashlib
import hmac
import json
import random
import secrets
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from bench.databases import fresh_database
from bench.flash_sale import free_port, wait_ready
from sync_server.accounts.services import create_user
from sync_server.auth.tokens import issue_api_token
from sync_server.db import make_engine, utcnow
from sync_server.events.catalog import add_day, add_ticket_type
from sync_server.events.services import create_event, publish_event
from sync_server.mail.models import OutboxMessage
from sync_server.migrate import upgrade
from sync_server.orders.models import Order, OrderItem, PaymentStatus
from sync_server.payments.models import CardPayment, CardStatus, StripeEvent
from sync_server.tickets.models import TicketInstance
from tests.fake_stripe.server import DEFAULT_API_KEY

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK = "/api/v1/payments/stripe/webhook"
SECRET = "whsec_bench" + "0" * 24
PAYMENT_EVENTS = ("charge.succeeded", "payment_intent.succeeded", "checkout.session.completed")


def seed(url: str, buyers: int) -> dict[str, Any]:
    engine = make_engine(url)
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with Session(engine, expire_on_commit=False) as session:
        organizer = create_user(session, email="organizer@bench.test", password="x" * 12,
                                name="Bench Organizer", hasher=hasher)
        start = utcnow().replace(microsecond=0)
        event = create_event(session, organizer=organizer, values={
            "name": "Webhook storm", "event_type": "TICKETED_EVENT",
            "starts_at": start + timedelta(days=30), "ends_at": start + timedelta(days=31),
            "timezone": "America/Chicago", "city": "Chicago", "categories": ["Set"]})
        add_day(session, event, user=organizer, values={
            "starts_at": start + timedelta(days=30),
            "ends_at": start + timedelta(days=30, hours=6)})
        publish_event(session, event, user=organizer)  # (no app here: no payments veto)
        paid = add_ticket_type(session, event, user=organizer, values={
            "name": "Card", "price_cents": 2500, "quantity_total": 1_000_000,
            "max_per_order": 10})
        free = add_ticket_type(session, event, user=organizer, values={
            "name": "Free", "price_cents": 0, "quantity_total": 1_000_000})
        organizer_token, _ = issue_api_token(session, organizer, days=1)
        tokens = []
        for n in range(buyers):
            user = create_user(session, email=f"buyer{n}@bench.test", password="x" * 12,
                               name=f"Buyer {n}", hasher=hasher)
            tokens.append(issue_api_token(session, user, days=1)[0])
        session.commit()
        seeded = {"event_id": event.id, "paid_id": paid.id, "free_id": free.id,
                  "organizer": organizer_token, "buyers": tokens}
    engine.dispose()
    return seeded


def start_fake(port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_stripe", "--port", str(port),
         "--webhook-secret", SECRET], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert process.stdout is not None
    while "STRIPE_WEBHOOK_SECRET" not in (process.stdout.readline() or "STRIPE_WEBHOOK_SECRET"):
        pass
    return process


def sign(body: bytes) -> str:
    stamp = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def hammer(base: str, jobs: list[Callable[[httpx.Client], int]],
           connections: int) -> tuple[float, list[float], Counter[int]]:
    """Run ``jobs`` (each one request) from ``connections`` keep-alive clients; returns the wall
    time, every latency (s) and the answers by status."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    cursor = iter(range(len(jobs)))

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                began = time.perf_counter()
                try:
                    status = jobs[index](client)
                except httpx.HTTPError:
                    status = 0  # no answer: counted, never hidden
                took = time.perf_counter() - began
                with lock:
                    latencies.append(took)
                    statuses[status] += 1

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, latencies, statuses


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0.0


def place_card_orders(base: str, fake: str, seeded: dict[str, Any], orders: int,
                      connections: int) -> list[str]:
    """``orders`` card checkouts through the server, then each paid at the fake (held)."""
    buyers = seeded["buyers"]

    def checkout(n: int) -> str:
        with httpx.Client(base_url=base, timeout=60) as client:
            answer = client.post("/api/v1/checkout", json={
                "event_id": seeded["event_id"], "payment_method": "STRIPE",
                "items": [{"ticket_type_id": seeded["paid_id"], "quantity": 1 + n % 3}]},
                headers={"Authorization": f"Bearer {buyers[n % len(buyers)]}"})
            if answer.status_code != 201:
                raise SystemExit(f"card checkout failed: {answer.status_code} {answer.text}")
            return str(answer.json()["payment_url"]).rsplit("/", 1)[1]

    with ThreadPoolExecutor(connections) as pool:
        sessions = list(pool.map(checkout, range(orders)))
    with ThreadPoolExecutor(connections) as pool, httpx.Client(base_url=fake) as control:
        list(pool.map(lambda cs: control.post(f"/_fake/checkout/sessions/{cs}/pay")
                      .raise_for_status(), sessions))
    return sessions


def deliveries(events: list[dict[str, Any]], total: int, rng: random.Random) -> list[bytes]:
    """Every event once plus duplicates up to ``total``, shuffled in windows of 40."""
    bodies = [json.dumps(event).encode() for event in events]
    stream = list(range(len(bodies)))
    for _ in range(total - len(bodies)):
        original = rng.randrange(len(bodies))
        stream.insert(min(len(stream), max(0, original + rng.randint(-60, 120))), original)
    for start in range(0, len(stream), 40):
        window = stream[start:start + 40]
        rng.shuffle(window)
        stream[start:start + 40] = window
    return [bodies[i] for i in stream]


def audit(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with Session(engine) as session:
        tickets = (sa.select(TicketInstance.order_id, sa.func.count().label("n"))
                   .group_by(TicketInstance.order_id).subquery())
        wanted = (sa.select(OrderItem.order_id, sa.func.sum(OrderItem.quantity).label("q"))
                  .group_by(OrderItem.order_id).subquery())
        twice = session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(tickets.c.n - wanted.c.q), 0))
            .join(wanted, wanted.c.order_id == tickets.c.order_id)
            .where(tickets.c.n > wanted.c.q)) or 0
        paid_without = session.scalar(
            sa.select(sa.func.count()).select_from(CardPayment)
            .join(Order, Order.id == CardPayment.order_id)
            .outerjoin(tickets, tickets.c.order_id == Order.id)
            .where(CardPayment.status == CardStatus.PAID,
                   sa.or_(Order.payment_status != PaymentStatus.COMPLETED,
                          tickets.c.n.is_(None)))) or 0
        mails = (sa.select(OutboxMessage.order_id, sa.func.count().label("n"))
                 .group_by(OutboxMessage.order_id).subquery())
        mail_twice = session.scalar(sa.select(sa.func.count()).select_from(mails)
                                    .where(mails.c.n > 1)) or 0
        completed = session.scalar(
            sa.select(sa.func.count()).select_from(Order)
            .where(Order.payment_status == PaymentStatus.COMPLETED,
                   Order.payment_method == "STRIPE")) or 0
        recorded = session.scalar(sa.select(sa.func.count()).select_from(StripeEvent)
                                  .where(StripeEvent.type.in_(PAYMENT_EVENTS))) or 0
    engine.dispose()
    return {"tickets_issued_twice": int(twice), "orders_paid_without_tickets": int(paid_without),
            "emails_queued_twice": int(mail_twice), "card_orders_completed": int(completed),
            "stripe_events_recorded": int(recorded)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--free-checkouts", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    total = min(max(args.deliveries, 30), 100_000)
    orders = max(1, round(total * 2 / 3 / len(PAYMENT_EVENTS)))  # a third are duplicates
    rng = random.Random(args.seed)
    load_before = os.getloadavg()
    gunicorn: subprocess.Popen[bytes] | None = None
    fake_process: subprocess.Popen[str] | None = None
    with fresh_database("webhooks") as url:
        try:
            upgrade(url)
            seeded = seed(url, buyers=max(args.connections * 4, orders // 10 + 1))
            port, fake_port = free_port(), free_port()
            base, fake = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{fake_port}"
            fake_process = start_fake(fake_port)
            with tempfile.TemporaryDirectory() as instance:
                env = dict(os.environ, SYNC_DATABASE_URL=url, SYNC_INSTANCE_PATH=instance,
                           SYNC_MASTER_SECRET=secrets.token_hex(32),
                           SYNC_SECRET_KEY=secrets.token_hex(32), SYNC_SMTP_HOST="",
                           SYNC_CHECKOUT_LIMIT_PER_ADDRESS="0",
                           SYNC_CHECKOUT_LIMIT_PER_USER="1000000",
                           SYNC_MAX_HELD_UNITS_PER_ADDRESS="0",
                           SYNC_MAX_HELD_UNITS_PER_BUYER="0", SYNC_HOLD_MINUTES="60",
                           SYNC_PLATFORM_FEE_BP="500", SYNC_PLATFORM_FEE_FIXED_CENTS="100",
                           SYNC_LOG_LEVEL="ERROR", STRIPE_SECRET_KEY=DEFAULT_API_KEY,
                           STRIPE_API_BASE=fake, STRIPE_WEBHOOK_SECRET=SECRET)
                gunicorn = subprocess.Popen(
                    [str(Path(sys.executable).parent / "gunicorn"), "--bind",
                     f"127.0.0.1:{port}", "--workers", str(args.workers), "--log-level",
                     "error", "--keep-alive", "30", "sync_server:create_app()"],
                    env=env, cwd=ROOT)
                wait_ready(base, gunicorn, 180)
                control = httpx.Client(base_url=fake, timeout=60)
                control.post("/_fake/webhooks", json={"url": base + WEBHOOK, "secret": SECRET})
                boss = {"Authorization": f"Bearer {seeded['organizer']}"}
                account = httpx.post(base + "/api/v1/payments/onboarding", headers=boss,
                                     timeout=30).json()["account"]["stripe_account_id"]
                control.post(f"/_fake/accounts/{account}/enable_charges").raise_for_status()
                time.sleep(1.0)  # account.updated delivered
                control.post("/_fake/webhooks", json={"url": base + WEBHOOK, "secret": SECRET,
                                                      "mode": "hold"})
                set_up = time.perf_counter()
                place_card_orders(base, fake, seeded, orders, args.connections)
                set_up = time.perf_counter() - set_up
                events = [e for e in control.get("/_fake/events").json()["data"]
                          if e["type"] in PAYMENT_EVENTS]
                stream = deliveries(events, total, rng)
                created = {json.dumps(e).encode(): i for i, e in enumerate(events)}
                overtaken = sum(created[a] > created[b] for a, b in pairwise(stream))

                def deliver(body: bytes) -> Callable[[httpx.Client], int]:
                    return lambda client: client.post(WEBHOOK, content=body, headers={
                        "Stripe-Signature": sign(body),
                        "Content-Type": "application/json"}).status_code

                wall, latencies, statuses = hammer(base, [deliver(b) for b in stream],
                                                   args.connections)
                buyers = seeded["buyers"]
                free_body = json.dumps({"event_id": seeded["event_id"], "items": [
                    {"ticket_type_id": seeded["free_id"], "quantity": 1}]})

                def free(n: int) -> Callable[[httpx.Client], int]:
                    auth = {"Authorization": f"Bearer {buyers[n % len(buyers)]}",
                            "Content-Type": "application/json"}
                    return lambda client: client.post("/api/v1/checkout", content=free_body,
                                                      headers=auth).status_code

                free_wall, free_latencies, free_statuses = hammer(
                    base, [free(n) for n in range(args.free_checkouts)], args.connections)
        finally:
            for process in (gunicorn, fake_process):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=30)
        figures = audit(url)

    rate, free_rate = len(stream) / wall, args.free_checkouts / free_wall
    result = {
        "load_average_before": " ".join(f"{x:.2f}" for x in load_before),
        "workers": args.workers, "connections": args.connections,
        "card_orders_paid": orders, "set_up_seconds": round(set_up, 1),
        "deliveries": len(stream), "distinct_events": len(events),
        "duplicates": len(stream) - len(events), "delivered_right_after_a_later_event": overtaken,
        "answers": dict(sorted(statuses.items())),
        "deliveries_per_second": round(rate, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "free_checkouts_per_second": round(free_rate, 1),
        "free_checkout_p99_ms": round(percentile(free_latencies, 0.99) * 1000, 1),
        "free_checkout_answers": dict(sorted(free_statuses.items())),
        "webhooks_to_free_checkout_ratio": round(rate / free_rate, 3),
        "p99_to_target_ratio": round(percentile(latencies, 0.99) * 1000 / 200, 3),
        **figures,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>32}: {value}")
        print(f"{'target':>32}: p99 <= 200 ms, ratio to free checkout >= 1, the *_twice and "
              "paid_without counts 0")
    ok = (figures["tickets_issued_twice"] == 0 and figures["orders_paid_without_tickets"] == 0
          and figures["emails_queued_twice"] == 0 and figures["card_orders_completed"] == orders
          and figures["stripe_events_recorded"] == len(events) and set(statuses) == {200})
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
