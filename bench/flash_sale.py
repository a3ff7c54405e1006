# ruff: noqa: E402  (sys.path must be fixed before any import: bench/token.py shadows stdlib `token`)
"""Flash sale: many buyers racing for one event's limited tickets, through the real server.

Starts the sync server under gunicorn on a FRESH PostgreSQL database (created here, dropped at
the end), seeds one published event with a limited free ticket type (each checkout completes at
once: hold -> order -> signed tickets -> outbox row) and a limited paid one (one checkout in ten;
they hold and are never paid: their holds must lapse), then races buyers against it with ``wrk``
(Debian's HTTP load generator: one process, epoll, keep-alive connections, so the generator costs
little CPU beside the server; a Lua script gives each request a buyer's bearer token), on
127.0.0.1 only, for a bounded time. Prints completed orders per minute (from the orders' own
``completed_at``, so the figure is the server's), checkout latency percentiles (wrk's), the
oversold count (must be 0), units still held after the holds expired (must be 0), the reserved
counters after the optional tidy-up (must be 0), the engine's own rate without HTTP, the ratio to
a trivial endpoint on the same server, the load average before the run and the CPU used by the
generator, the server and the whole machine during the race.

Needs ``wrk`` (``apt-get install wrk``). Run:
``.venv/bin/python bench/flash_sale.py [--seconds 30] [--connections 24] [--tickets 20000]``.
Target (issue #4): >= 10,000 orders per minute on one event on a 2-core machine.
"""

from __future__ import annotations

import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import json
import resource
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from bench.databases import ADMIN_URL, fresh_database
from sync_server.accounts.models import User
from sync_server.accounts.services import create_user
from sync_server.auth.tokens import issue_api_token
from sync_server.db import make_engine, utcnow
from sync_server.events.catalog import add_day, add_ticket_type
from sync_server.events.models import Event, EventType, TicketType
from sync_server.events.services import create_event, publish_event
from sync_server.migrate import upgrade
from sync_server.orders.cancellation import tidy_expired_orders
from sync_server.orders.models import InventoryHold, Order, PaymentStatus
from sync_server.tickets.models import TicketInstance

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


# wrk's Lua script; @NAMES@ are filled in by lua_script().
LUA = r"""
local tokens = {@TOKENS@}
local free = '{"event_id": @EVENT@, "items": [{"ticket_type_id": @FREE@, "quantity": 1}]}'
local paid = '{"event_id": @EVENT@, "payment_method": "CASH", '  -- held, never paid
  .. '"items": [{"ticket_type_id": @PAID@, "quantity": 1}]}'
local n = 0
local offset = 0
local threads = {}
statuses = {}  -- per wrk thread: answers other than 201, by status
function setup(thread)
  thread:set("offset", offset)
  offset = offset + 7
  table.insert(threads, thread)
end
response = function(status, headers, body)
  if status ~= 201 then statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1 end
end
request = function()
  n = n + 1
  local body = free
  if (n + offset) % 10 == 0 then body = paid end  -- one in ten holds a paid ticket, never pays
  local headers = {}
  headers["Authorization"] = "Bearer " .. tokens[(n + offset) % #tokens + 1]
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/api/v1/checkout", headers, body)
end
done = function(summary, latency, requests)
  local counted = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counted[status] = (counted[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counted) do table.insert(parts, '"' .. status .. '": ' .. count) end
  io.write(string.format('JSON {"p50_us": %d, "p99_us": %d, "requests": %d, "non2xx": %d, ' ..
    '"statuses": {' .. table.concat(parts, ", ") .. '}, ' ..
    '"socket_errors": %d}\n', latency:percentile(50), latency:percentile(99), summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
"""


def lua_script(seeded: Seeded) -> str:
    tokens = ", ".join(f'"{token}"' for token in seeded.tokens)
    return (LUA.replace("@TOKENS@", tokens).replace("@EVENT@", str(seeded.event_id))
            .replace("@FREE@", str(seeded.free_type_id))
            .replace("@PAID@", str(seeded.paid_type_id)))


@dataclass
class Cpu:
    """CPU seconds (user + system) used meanwhile by the generator, the server, the machine."""

    generator: float = 0.0
    server: float = 0.0
    database: float = 0.0  # this bench's PostgreSQL backends
    machine_busy: float = 0.0  # all cores: PostgreSQL, everyone else's jobs, too
    machine_total: float = 0.0


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(p for child in children for p in _tree(int(child)))]


def _backends(database: str) -> list[int]:
    """PostgreSQL backends serving ``database`` (their process title names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
                found.append(int(entry.name))
    return found


def _machine() -> tuple[float, float]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


class LockSampler:
    """Samples ``pg_stat_activity`` of the bench database every 20 ms during a race: how many
    backends were busy, and how many waited for a lock, on which relation's row."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.samples = 0
        self.active = 0
        self.waiting: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        query = """
            SELECT a.state, a.wait_event_type,
                   (SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                    WHERE l.pid = a.pid AND NOT l.granted AND l.relation IS NOT NULL LIMIT 1),
                   a.query
            FROM pg_stat_activity a
            WHERE a.datname = %s AND a.pid <> pg_backend_pid()"""
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            while not self._stop.wait(0.02):
                self.samples += 1
                for state, wait_type, relation, sql in conn.execute(query, (self.database,)):
                    if state == "active":
                        self.active += 1
                        if wait_type == "Lock":
                            what = relation or ("door counter" if "door_event_changes" in sql
                                                else "inventory row" if "FOR NO KEY" in sql
                                                else sql.split()[0])
                            self.waiting[what] += 1

    def __enter__(self) -> LockSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        n = max(self.samples, 1)
        out = {"busy_backends": round(self.active / n, 2)}
        out.update({f"waiting_for_{k.replace(' ', '_')}": round(v / n, 2)
                    for k, v in self.waiting.most_common()})
        return out


def run_wrk(base: str, *, script: str | None, path: str, connections: int, seconds: float,
            server_pid: int, database: str) -> tuple[dict[str, Any], Cpu, str]:
    """Run wrk (2 threads, ``connections`` keep-alive connections) for ``seconds``; returns the
    summary its Lua ``done`` printed (empty without a script), the CPU used, wrk's own output."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        args = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds:.0f}s",
                "--timeout", "30s", "--latency"]
        if script is not None:
            lua.write(script)
            lua.flush()
            args += ["-s", lua.name]
        server_before = sum(_proc_cpu(p) for p in _tree(server_pid))
        backends = _backends(database)  # gunicorn's pools are open by now (wait_ready)
        database_before = sum(_proc_cpu(p) for p in backends)
        busy_before, total_before = _machine()
        usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run([*args, base + path], capture_output=True, text=True, check=True,
                              timeout=seconds + 60)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy, total = _machine()
        cpu = Cpu(generator=(usage.ru_utime + usage.ru_stime
                             - usage_before.ru_utime - usage_before.ru_stime),
                  server=sum(_proc_cpu(p) for p in _tree(server_pid)) - server_before,
                  # a backend that appeared meanwhile (a gthread worker's new connection)
                  # counts in full
                  database=sum(_proc_cpu(p) for p in {*backends, *_backends(database)})
                  - database_before,
                  machine_busy=busy - busy_before, machine_total=total - total_before)
    summary: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        if line.startswith("JSON "):
            summary = json.loads(line[5:])
    requests = next((line for line in done.stdout.splitlines() if "requests in" in line), "")
    if not summary and requests:
        summary = {"requests": int(requests.split()[0])}
    return summary, cpu, done.stdout


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
        first, last = session.execute(
            sa.select(sa.func.min(Order.completed_at), sa.func.max(Order.completed_at))
            .where(Order.payment_status == PaymentStatus.COMPLETED)).one()
        out["completed_span_ms"] = (round((last - first).total_seconds() * 1000)
                                    if first is not None and last is not None else 0)
        out["holds_placed"] = session.scalar(
            sa.select(sa.func.count()).select_from(Order)
            .where(Order.payment_status == PaymentStatus.PENDING)) or 0
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
    parser.add_argument("--seconds", type=float, default=30.0, help="time limit of the race")
    parser.add_argument("--connections", type=int, default=24,
                        help="concurrent buyers (wrk keep-alive connections)")
    parser.add_argument("--tickets", type=int, default=20_000, help="free tickets on sale")
    # 2 x cores, not gunicorn's 2 x cores + 1: PostgreSQL on the same cores does ~1/4 of the work.
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    # As deployed (deploy/gunicorn.conf.py): gthread workers with 2 threads. Sync workers close
    # the connection after every answer (no keep-alive), so each checkout also pays a TCP
    # connect, accept and close; `--threads 1` measures them.
    parser.add_argument("--threads", type=int, default=2,
                        help="threads per gunicorn worker (more than 1: the gthread class)")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default=None,
                        help="gunicorn worker class (default: sync, gthread with --threads > 1)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.seconds = min(max(args.seconds, 1.0), 300.0)  # bounded, whatever is asked
    args.connections = min(max(args.connections, 1), 256)
    if shutil.which("wrk") is None:
        raise SystemExit("needs wrk: apt-get install wrk")
    load_before = os.getloadavg()

    process: subprocess.Popen[bytes] | None = None
    with fresh_database("flash_sale") as url:
        name = sa.engine.make_url(url).database
        assert name is not None
        try:
            upgrade(url)
            seeded = seed(url, buyers=args.connections * 4, tickets=args.tickets,
                          paid_tickets=50)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            with tempfile.TemporaryDirectory() as instance:
                env = dict(os.environ, SYNC_DATABASE_URL=url, SYNC_INSTANCE_PATH=instance,
                           SYNC_MASTER_SECRET=secrets.token_hex(32),
                           SYNC_SECRET_KEY=secrets.token_hex(32),
                           SYNC_HOLD_MINUTES=str(HOLD_MINUTES),
                           SYNC_ONLINE_CASH_ORDERS="1",  # the held-never-paid tenth
                           # Every buyer comes from 127.0.0.1 here: count per user only.
                           SYNC_CHECKOUT_LIMIT_PER_ADDRESS="0",
                           SYNC_CHECKOUT_LIMIT_PER_USER="100000", SYNC_SMTP_HOST="",
                           SYNC_LOG_LEVEL="ERROR")
                worker_class = args.worker_class or ("gthread" if args.threads > 1 else "sync")
                worker = ["--worker-class", worker_class, "--threads", str(args.threads)]
                process = subprocess.Popen(
                    [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                     "--workers", str(args.workers), *worker, "--log-level", "error",
                     "--keep-alive", "30", "sync_server:create_app()"],
                    env=env, cwd=Path(__file__).resolve().parent.parent)
                wait_ready(base, process)
                trivial, trivial_cpu, _ = run_wrk(
                    base, script=None, path="/api/v1/categories", connections=args.connections,
                    seconds=min(5.0, args.seconds), server_pid=process.pid,
                    database=name)
                trivial_rate = trivial.get("requests", 0) / min(5.0, args.seconds)
                with LockSampler(name) as sampler:
                    race, cpu, wrk_output = run_wrk(
                        base, script=lua_script(seeded), path="/api/v1/checkout",
                        connections=args.connections, seconds=args.seconds,
                        server_pid=process.pid, database=name)
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

    completed = figures["completed_orders"]
    span = max(figures["completed_span_ms"], 1) / 1000
    checkouts_per_second = race.get("requests", 0) / args.seconds
    machine = cpu.machine_total or 1.0
    result = {
        "load_average_before": " ".join(f"{x:.2f}" for x in load_before),
        "workers": args.workers, "threads_per_worker": args.threads,
        "worker_class": args.worker_class or ("gthread" if args.threads > 1 else "sync"),
        "connections": args.connections, "seconds": args.seconds,
        "checkout_requests": race.get("requests"),
        "completed_orders": completed, "holds_placed": figures["holds_placed"],
        "non_2xx_answers": race.get("non2xx"),
        "non_201_by_status": race.get("statuses"),  # 409: sold out
        "socket_errors": race.get("socket_errors"),
        "orders_per_minute": round(completed / span * 60),
        "p50_ms": round(race.get("p50_us", 0) / 1000, 1),
        "p99_ms": round(race.get("p99_us", 0) / 1000, 1),
        "oversold": figures["oversold"],
        "held_after_expiry": sum(r["held"] for r in held_after["ticket_types"]),
        "trivial_requests_per_second": round(trivial_rate),
        "checkout_to_trivial_ratio": (round(checkouts_per_second / trivial_rate, 3)
                                      if trivial_rate else None),
        "db_tickets": figures["tickets"],
        "engine_only_orders_per_minute": round(engine_rate * 60),
        "orders_lapsed_by_tidy": figures["orders_lapsed"],
        "reserved_after_tidy": figures["reserved_after_tidy"],
        "cpu_generator_share": round(cpu.generator / machine, 3),
        "cpu_server_share": round(cpu.server / machine, 3),
        "cpu_database_share": round(cpu.database / machine, 3),
        "cpu_machine_busy": round(cpu.machine_busy / machine, 3),
        "server_cpu_ms_per_checkout": (round(cpu.server / race["requests"] * 1000, 2)
                                       if race.get("requests") else None),
        "database_cpu_ms_per_checkout": (round(cpu.database / race["requests"] * 1000, 2)
                                         if race.get("requests") else None),
        "mean_backends_during_race": sampler.summary(),
        "cpu_generator_share_trivial": round(
            trivial_cpu.generator / (trivial_cpu.machine_total or 1.0), 3),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>30}: {value}")
        print(f"{'target':>30}: >= 10000 orders/minute, oversold 0, held after expiry 0")
        print(wrk_output.strip())
    ok = (result["oversold"] == 0 and result["held_after_expiry"] == 0 and engine_mismatch == 0
          and result["reserved_after_tidy"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
