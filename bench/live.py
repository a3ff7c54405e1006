# ruff: noqa: E402  (sys.path must be fixed before any import: bench/token.py shadows stdlib `token`)
"""Live updates: 2,000 server-sent-event clients on one event while the flash sale runs.

A FRESH PostgreSQL database and the flash sale's event (bench/flash_sale.py's seed: 20,000 free
tickets, a few paid ones). Two servers, as deploy/ runs them: the API (gunicorn, its workers)
takes the checkouts from ``wrk``; the streams server (``--streams asyncio``: ``sync-server
streams``, the ``sync-server-streams`` unit; ``--streams gthread``: the first design, one
gunicorn gthread worker with a thread per stream) serves ``GET /api/v1/events/{id}/live``.
Round 1: the flash sale alone. Round 2: the same with ``--clients`` streams open, the clients in
``--client-processes`` processes of their own (bench/live_clients.py), the sale starting only
once every stream has had its first availability.

Prints: the sale's completed orders per second in each round and their ratio (the cost of the
open streams to checkout), the time from a sale (its order's ``completed_at``) to EVERY client
seeing an availability that counts it (p50, p99 over clients x sampled sales; target p99 <= 2 s)
and to the FIRST client (the hub's and the database's part), how many clients never saw it
(must be 0), how late the clients' own event loops ran (near the sale-to-client time would mean
the clients are the bottleneck), the time to open every stream and the streams server's CPU
seconds during the sale (a count the shared machine distorts less than wall time).

Run (needs ``wrk``): ``.venv/bin/python bench/live.py [--clients 2000] [--seconds 20]
[--streams asyncio|gthread]``.
"""

from __future__ import annotations

import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import json
import resource
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.databases import fresh_database
from bench.flash_sale import _proc_cpu, _tree, free_port, lua_script, run_wrk, seed, wait_ready
from bench.live_clients import Clients
from sync_server.db import make_engine
from sync_server.migrate import upgrade
from sync_server.orders.models import Order, OrderItem, PaymentStatus

ROOT = Path(__file__).resolve().parent.parent


def gunicorn(port: int, env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
         "--log-level", "error", *extra, "sync_server:create_app()"], env=env, cwd=ROOT)


def sales(url: str, tier_id: int, since: float) -> list[float]:
    """Unix times of the free type's completed orders after ``since``, in order."""
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(Order.completed_at).join(OrderItem)
            .where(OrderItem.ticket_type_id == tier_id,
                   Order.payment_status == PaymentStatus.COMPLETED)
            .order_by(Order.completed_at)).scalars().all()
    engine.dispose()
    return [r.timestamp() for r in rows if r is not None and r.timestamp() >= since]


def latencies(seen_by: list[list[tuple[float, int]]], sold_at: list[float], total_before: int,
              samples: int) -> tuple[list[float], list[float], int]:
    """For sampled sales k (available = total_before - k after it): per client, the first time
    it saw an availability <= that, minus the sale's time; and per sale, the FIRST client's
    wait (what the hub and the database took before any fan-out: when it is near the last
    client's, the fan-out is not what is slow)."""
    out, firsts, missed = [], [], 0
    step = max(1, len(sold_at) // samples)
    for k in range(step, len(sold_at) + 1, step):
        at, target = sold_at[k - 1], total_before - k
        mine = []
        for seen in seen_by:
            first = next((t for t, available in seen if available <= target), None)
            if first is None:
                missed += 1
            else:
                mine.append(max(first - at, 0.0))
        out += mine
        firsts += [min(mine)] if mine else []
    return out, firsts, missed


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3) if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--streams", choices=["asyncio", "gthread"], default="asyncio",
                        help="the streams' server: `sync-server streams` (deploy/) or the "
                             "first design, one gunicorn gthread worker with a thread each")
    parser.add_argument("--client-processes", type=int, default=2,
                        help="processes the clients are spread over (bench/live_clients.py)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.clients = min(max(args.clients, 1), 5000)
    args.seconds = min(max(args.seconds, 2.0), 120.0)
    args.client_processes = min(max(args.client_processes, 1), 16)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.clients * 2 + 500)), hard))
    load_before = os.getloadavg()
    processes: list[subprocess.Popen[bytes]] = []
    with fresh_database("bench_live") as url, tempfile.TemporaryDirectory() as instance:
        name = sa.engine.make_url(url).database
        assert name is not None
        upgrade(url)
        seeded = seed(url, buyers=args.connections * 4, tickets=20_000, paid_tickets=50)
        env = dict(os.environ, SYNC_DATABASE_URL=url, SYNC_INSTANCE_PATH=instance,
                   SYNC_MASTER_SECRET=secrets.token_hex(32), SYNC_SECRET_KEY=secrets.token_hex(32),
                   SYNC_HOLD_MINUTES="0.1", SYNC_CHECKOUT_LIMIT_PER_ADDRESS="0",
                   SYNC_CHECKOUT_LIMIT_PER_USER="100000", SYNC_SMTP_HOST="",
                   SYNC_LOG_LEVEL="ERROR")
        api_port, stream_port = free_port(), free_port()
        try:
            api = gunicorn(api_port, env, "--workers", str(args.workers), "--keep-alive", "30")
            if args.streams == "gthread":
                streams = gunicorn(stream_port, env, "--workers", "1", "--worker-class",
                                   "gthread", "--threads", str(args.clients + 50),
                                   "--worker-connections", str(args.clients + 100),
                                   "--timeout", "0")
            else:
                streams = subprocess.Popen(
                    [sys.executable, "-m", "sync_server.cli", "streams", "--port",
                     str(stream_port)], env=dict(env, PYTHONPATH=str(ROOT)), cwd=ROOT,
                    stdout=subprocess.DEVNULL)
            processes += [api, streams]
            wait_ready(f"http://127.0.0.1:{api_port}", api, seconds=180)
            wait_ready(f"http://127.0.0.1:{stream_port}", streams, seconds=180)
            script = lua_script(seeded)
            base = f"http://127.0.0.1:{api_port}"

            def round_(label: str) -> tuple[float, float, dict[str, Any]]:
                began = time.time()
                summary, _cpu, _ = run_wrk(base, script=script, path="/api/v1/checkout",
                                           connections=args.connections, seconds=args.seconds,
                                           server_pid=api.pid, database=name)
                return began, time.time(), summary

            began1, ended1, _ = round_("alone")
            alone = len([t for t in sales(url, seeded.free_type_id, began1) if t <= ended1])
            sold_before = len(sales(url, seeded.free_type_id, 0))
            clients = Clients(stream_port, seeded.event_id, seeded.free_type_id, args.clients,
                              args.client_processes)
            clients.start()  # returns once every stream has had its first availability
            streams_cpu = sum(_proc_cpu(p) for p in _tree(streams.pid))
            began2, ended2, _ = round_("with clients")
            streams_cpu = sum(_proc_cpu(p) for p in _tree(streams.pid)) - streams_cpu
            time.sleep(5)  # the last sales reach the clients meanwhile
            clients.close()
            during = [t for t in sales(url, seeded.free_type_id, began2) if t <= ended2]
            waits, firsts, missed = latencies(clients.seen, during, 20_000 - sold_before,
                                              samples=50)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)
    rate_alone = alone / (ended1 - began1)
    rate_with = len(during) / (ended2 - began2)
    result = {
        "load_average_before": " ".join(f"{x:.2f}" for x in load_before),
        "clients": args.clients, "clients_connected": clients.connected,
        "sale_orders_per_second_alone": round(rate_alone, 1),
        "sale_orders_per_second_with_clients": round(rate_with, 1),
        "sale_rate_ratio_with_to_alone": round(rate_with / rate_alone, 3) if rate_alone else None,
        "sale_to_every_client_p50_s": pct(waits, 0.5),
        "sale_to_every_client_p99_s": pct(waits, 0.99),
        "sale_to_every_client_max_s": pct(waits, 1.0),
        "sale_to_first_client_p50_s": pct(firsts, 0.5),
        "sale_to_first_client_max_s": pct(firsts, 1.0),
        "client_sale_pairs_measured": len(waits),
        "client_sale_pairs_never_seen": missed,
        "streams_server": args.streams,
        "client_processes": args.client_processes,
        "client_loop_lag": clients.loop_lag,
        "client_cpu_s": round(clients.cpu_s, 2),
        "streams_open_s": clients.open_seconds,
        # CPU the streams' server took during the sale with clients: what it leaves the checkout
        "streams_server_cpu_s_during_sale": round(streams_cpu, 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>38}: {value}")
        print(f"{'target':>38}: p99 <= 2 s, never seen 0, every client connected")
    ok = (missed == 0 and clients.connected == args.clients
          and result["sale_to_every_client_p99_s"] <= 2.0)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
