# ruff: noqa: E402  (sys.path must be fixed before any import: bench/token.py shadows stdlib `token`)
"""The live hub's fan-out alone, in counts: what one availability change costs with N streams.

A FRESH PostgreSQL database with one event; ONE ``Hub`` (sync_server/live) with ``--clients``
streams of that event, each consumed by a thread of its own that writes what its stream yields
to a socket (as a gthread worker does: one thread per stream), every socket drained by one
reader. Then ``--changes`` times: one ticket sold (an UPDATE of the ticket type), the hub's
``refresh`` (what its poll tick or a NOTIFY runs), and a wait until every stream wrote the new
availability. Prints, per change: SQL statements the hub ran (target: the same for 1 stream or
2,000: ONE read of the event for all), CPU seconds of this process (the hub and the stream
threads; the reader's own CPU is left out), and the time until the last stream wrote it (wall
time: only a hint on a shared machine; the load average is printed).

Run: ``.venv/bin/python bench/live_fanout.py [--clients 2000] [--changes 20] [--json]``.
"""

from __future__ import annotations

import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import json
import resource
import secrets
import selectors
import socket
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from bench.databases import fresh_database
from sync_server import create_app
from sync_server.accounts.models import User
from sync_server.db import utcnow
from sync_server.events.catalog import add_day, add_ticket_type
from sync_server.events.models import EventType, TicketType
from sync_server.events.services import create_event, publish_event
from sync_server.live.hub import Hub
from sync_server.migrate import upgrade
from sync_server.queue.stream import event_snapshot


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Sink:
    """One reader for every stream's socket: counts, per stream, the frames that say ``left``."""

    def __init__(self, count: int) -> None:
        self.selector = selectors.DefaultSelector()
        self.writers: list[socket.socket] = []
        self.last: list[bytes] = [b""] * count
        self.lock = threading.Lock()
        self.stop = threading.Event()
        for n in range(count):
            ours, theirs = socket.socketpair()
            theirs.setblocking(False)
            self.selector.register(theirs, selectors.EVENT_READ, n)
            self.writers.append(ours)
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

        self.cpu = 0.0  # this reader's own CPU seconds (the clients' side: not counted)

    def _drain(self) -> None:
        while not self.stop.is_set():
            began = time.thread_time()
            for key, _ in self.selector.select(timeout=0.1):
                data = key.fileobj.recv(1 << 16)  # type: ignore[union-attr]
                if data:
                    self.last[key.data] = data
            self.cpu += time.thread_time() - began

    def seen(self, marker: bytes) -> int:
        return sum(1 for chunk in self.last if marker in chunk)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.clients = min(max(args.clients, 1), 5000)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.clients * 2 + 200)), hard))
    load_before = os.getloadavg()
    with fresh_database("bench_fanout") as url, tempfile.TemporaryDirectory() as instance:
        upgrade(url)
        app = create_app({"database_url": url, "instance_path": instance,
                          "secret_key": secrets.token_hex(16),
                          "master_secret": secrets.token_hex(32), "smtp_host": "",
                          "log_level": "WARNING"})
        engine = app.extensions["sync_db_engine"]
        factory = app.extensions["sync_db_sessionmaker"]
        with factory() as session:
            organizer = User(email="organizer@bench.test", name="Organizer", password_hash="x")
            session.add(organizer)
            session.flush()
            start = utcnow().replace(microsecond=0) + timedelta(days=30)
            event = create_event(session, organizer=organizer, values={
                "name": "Flash sale", "event_type": EventType.TICKETED_EVENT,
                "starts_at": start, "ends_at": start + timedelta(days=1),
                "timezone": "America/Chicago", "city": "Chicago", "categories": ["Set"]})
            add_day(session, event, user=organizer,
                    values={"starts_at": start, "ends_at": start + timedelta(hours=6)})
            publish_event(session, event, user=organizer)
            tier = add_ticket_type(session, event, user=organizer, values={
                "name": "Main floor", "price_cents": 0, "quantity_total": 20_000})
            session.commit()
            event_id, tier_id = event.id, tier.id
        hub = Hub(factory, event_snapshot, poll_seconds=3600.0)  # refreshed by hand below
        sink = Sink(args.clients)
        threads = []
        for n in range(args.clients):
            sub = hub.subscribe(event_id, None)
            with factory() as session:
                public, _ = event_snapshot(session, event_id, frozenset())
            sub.offer("availability", public)

            def consume(sub: Any = sub, out: socket.socket = sink.writers[n]) -> None:
                try:
                    for chunk in hub.stream(sub, keepalive_seconds=3600.0):
                        out.sendall(chunk.encode() if isinstance(chunk, str) else chunk)
                except OSError:
                    return

            threads.append(threading.Thread(target=consume, daemon=True))
            threads[-1].start()
        statements = [0]

        def count(*_: Any) -> None:
            statements[0] += 1

        sa.event.listen(engine, "before_cursor_execute", count)
        per_change_statements, waits = [], []
        time.sleep(1.0)
        cpu_before, sink_before, waiting_cpu = _cpu(), sink.cpu, 0.0
        for k in range(1, args.changes + 1):
            with engine.begin() as connection:
                connection.execute(sa.update(TicketType).where(TicketType.id == tier_id)
                                   .values(quantity_sold=k))
            marker = f'"available":{20_000 - k},'.encode()
            statements[0] = 0
            began = time.perf_counter()
            hub.refresh(None)
            per_change_statements.append(statements[0])
            deadline = began + 60
            watching = time.thread_time()
            while sink.seen(marker) < args.clients and time.perf_counter() < deadline:
                time.sleep(0.005)
            waiting_cpu += time.thread_time() - watching
            waits.append(time.perf_counter() - began)
        # The hub and the stream threads only: the reader and this watching loop are the
        # clients' side.
        cpu = _cpu() - cpu_before - (sink.cpu - sink_before) - waiting_cpu
        missed = args.clients - sink.seen(f'"available":{20_000 - args.changes},'.encode())
        sa.event.remove(engine, "before_cursor_execute", count)
        hub.stop()
        sink.stop.set()
        for writer in sink.writers:
            writer.close()
        engine.dispose()
    result = {
        "load_average_before": " ".join(f"{x:.2f}" for x in load_before),
        "clients": args.clients, "changes": args.changes,
        "statements_per_change": statistics.fmean(per_change_statements),
        "cpu_ms_per_change": round(cpu * 1000 / args.changes, 1),
        "cpu_us_per_change_per_client": round(cpu * 1e6 / args.changes / args.clients, 1),
        "change_to_last_client_p50_s": round(statistics.median(waits), 3),
        "change_to_last_client_max_s": round(max(waits), 3),
        "clients_missing_the_last_change": missed,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>34}: {value}")
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
