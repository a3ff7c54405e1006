"""Two gunicorn servers (deploy/gunicorn.conf.py, gthread, 2 workers each) on one PostgreSQL
database: a flash sale of free tickets and the door uploads split between them (and every batch
re-sent to the other server, as a door retrying after a timeout does) sell 0 too many and keep
every scan exactly once. /metrics of each server adds up its own workers' counts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from shared import protocol as p
from sync_server import create_app
from sync_server.door.models import DoorScan
from sync_server.events.models import TicketType
from sync_server.tickets.models import TicketInstance
from tests.server.conftest import MASTER_SECRET, World, server_config
from tests.server.door.conftest import T0, scan, sell
from tests.server.ops.conftest import closed_port
from tests.server.ops.test_metrics import sample
from tests.support.apps import close_app
from tests.support.databases import reset_to_head

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[3]
TICKETS = 40
ATTEMPTS = 64
SCANS = 30
TOKEN = "two-server-scrape"


def start(url: str, folder: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = closed_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    env.update(PYTHONPATH=str(ROOT), SYNC_BIND=f"127.0.0.1:{port}", SYNC_WORKERS="2",
               SYNC_THREADS="2", SYNC_DATABASE_URL=url, SYNC_INSTANCE_PATH=str(folder),
               SYNC_MASTER_SECRET=MASTER_SECRET.hex(), SYNC_SECRET_KEY="two-servers",
               SYNC_METRICS_TOKEN=TOKEN, SYNC_CHECKOUT_LIMIT_PER_ADDRESS="0",
               SYNC_GUNICORN_LOG_LEVEL="warning", SYNC_ENV="production",
               PROMETHEUS_MULTIPROC_DIR=str(folder / "metrics"))
    folder.mkdir()
    log = (folder / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "deploy" /
                                                                  "gunicorn.conf.py")],
        env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return f"http://127.0.0.1:{port}", process


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 40
    last = ""
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            answer = httpx.get(base + "/readyz", timeout=1)
            if answer.status_code == 200:
                return
        except httpx.TransportError as error:
            last = repr(error)
        time.sleep(0.1)
    raise AssertionError(f"not ready in time ({last}): {log.read_text()[-2000:]}")


@pytest.fixture
def database(postgres_database: str) -> str:
    reset_to_head(postgres_database)
    return postgres_database


@pytest.fixture
def servers(database: str, tmp_path: Path) -> Iterator[list[str]]:
    started = [start(database, tmp_path / name) for name in ("a", "b")]
    try:
        for (base, process), name in zip(started, ("a", "b"), strict=True):
            wait_ready(base, process, tmp_path / name / "gunicorn.log")
        yield [base for base, _ in started]
    finally:
        for _, process in started:
            process.terminate()
        deadline = time.monotonic() + 5
        for _, process in started:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:  # a gthread worker can sit out graceful_timeout
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def test_flash_sale_and_door_uploads_across_two_servers(
        database: str, servers: list[str], tmp_path: Path) -> None:
    app = create_app(server_config(database, tmp_path / "setup"))
    with app.extensions["sync_db_sessionmaker"]() as session:
        world = World(app, session)
        organizer = world.person("Olive Organizer")
        event = world.event(organizer)
        free = world.ticket_type(event, organizer, price_cents=0, quantity=TICKETS)
        buyers = [world.person(f"Buyer {n}") for n in range(16)]
        door_tier = world.ticket_type(event, organizer, quantity=SCANS)
        sold = sell(session, event, door_tier, SCANS)
        token, _device = world.device(organizer, event, name="North")
        event_id, free_id = event.id, free.id
        # The door's scans are dated now: these servers run in their own processes, where the
        # bound on future scan times (issue #13) reads the real clock; so the night is tonight.
        shift = datetime.now(UTC) - T0
        for day in event.days:
            day.starts_at, day.ends_at = day.starts_at + shift, day.ends_at + shift
        event.starts_at = event.starts_at + shift
        event.ends_at = event.ends_at + shift if event.ends_at else None
        _device.paired_at = _device.paired_at - timedelta(days=1)
        session.commit()
        minutes_now = shift.total_seconds() / 60
    close_app(app)

    clients = [httpx.Client(base_url=base + "/api/v1", timeout=30) for base in servers]

    def buy(n: int) -> int:
        answer = clients[n % 2].post("/checkout", headers=buyers[n % len(buyers)].headers, json={
            "event_id": event_id, "items": [{"ticket_type_id": free_id, "quantity": 1}]})
        return answer.status_code

    door = {"Authorization": f"Bearer {token}", "X-Protocol-Version": "1"}
    records = [scan(event_id, ticket, minutes=minutes_now - 60 + i / 100)
               for i, ticket in enumerate(sold)]
    batches = [records[i:i + 5] for i in range(0, SCANS, 5)]

    def send(n: int) -> list[str]:
        batch = batches[n % len(batches)]
        answer = clients[n % 2].post("/door/scans", headers=door, json=p.ScanBatch(
            tuple(batch), datetime.now(UTC)).to_json())
        assert answer.status_code == 200, answer.text
        return [r["outcome"] for r in answer.json()["results"]]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(buy, range(ATTEMPTS)))
        # Each batch twice, once to each server (n and n + len(batches) differ in parity).
        uploads = list(pool.map(send, range(2 * len(batches))))

    assert statuses.count(201) == TICKETS, statuses
    assert set(statuses) == {201, 409}, statuses
    assert sorted(s for answer in uploads for s in answer).count("accepted") == SCANS

    engine = sa.create_engine(database)
    with engine.connect() as connection:
        instances = connection.scalar(sa.select(sa.func.count()).select_from(TicketInstance)
                                      .where(TicketInstance.ticket_type_id == free_id))
        counted = connection.scalar(sa.select(TicketType.quantity_sold)
                                    .where(TicketType.id == free_id))
        scan_ids = connection.scalars(sa.select(DoorScan.scan_id)).all()
    engine.dispose()
    assert instances == counted == TICKETS  # 0 oversold
    assert sorted(scan_ids) == sorted(r.scan_id for r in records)  # every scan, once

    for n, client in enumerate(clients):
        text = httpx.get(servers[n] + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=10).text
        assert sample(text, "sync_checkout_duration_seconds_count") == ATTEMPTS / 2
        assert sample(text, "sync_http_requests_total", route="/api/v1/door/scans",
                      status="200") == len(batches)
        client.close()
