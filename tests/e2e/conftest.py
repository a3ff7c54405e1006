"""End-to-end fixtures: a real ``sync-server run`` process and real ``scanner-app`` processes.

The server runs on a free 127.0.0.1 port with a throwaway instance folder and SQLite database;
the test process sets data up in that same database through the server's own services (users,
an event whose first day is open right now, tickets, pairing codes) and reads it back to check
what the server stored. Doors are ``scanner-app --data-dir ...`` processes. Every wait is
bounded in time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.accounts.services import create_user
from sync_server.db import make_engine
from sync_server.devices.services import create_pairing_code
from sync_server.events.catalog import add_day, add_ticket_type
from sync_server.events.models import Event, TicketType
from sync_server.events.services import create_event, publish_event
from sync_server.tickets.models import TicketInstance
from tests.server.conftest import MASTER_SECRET
from tests.server.door.conftest import sell
from tests.support.databases import reset_to_head

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    env.update(PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen", **extra)
    return env


@dataclass
class ServerProcess:
    """``sync-server run`` on a throwaway instance folder; stop, kill and start it again."""

    instance: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.instance / 'sync-server.db'}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.process is None
        log = (self.instance / "server.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sync_server.cli", "--instance", str(self.instance), "run",
             "--host", "127.0.0.1", "--port", str(self.port)],
            env=_env(SYNC_MASTER_SECRET=MASTER_SECRET.hex(), SYNC_SECRET_KEY="e2e-secret",
                     SYNC_LOG_LEVEL="INFO"),
            stdout=log, stderr=subprocess.STDOUT, cwd=self.instance,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log_tail()}")
            try:
                httpx.get(f"{self.url}/api/v1/openapi.json", timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"the server did not start in {START_TIMEOUT} s: {self.log_tail()}")

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def log_tail(self) -> str:
        path = self.instance / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@dataclass
class Stage:
    """The data the test made on the server: an organizer, an event open now, its tickets."""

    server: ServerProcess
    session: Session
    organizer: User
    event: Event
    ticket_type: TicketType
    tickets: list[TicketInstance]

    def pairing_code(self, name: str) -> str:
        code, _ = create_pairing_code(self.session, by=self.organizer, events=[self.event],
                                      device_name=name)
        self.session.commit()
        return code


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    instance = tmp_path / "instance"
    instance.mkdir()
    process = ServerProcess(instance)
    reset_to_head(process.database_url)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def stage(server: ServerProcess) -> Iterator[Stage]:
    engine = make_engine(server.database_url)
    session = Session(engine, expire_on_commit=False)
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    organizer = create_user(session, email="org@example.test", password="correct horse battery",
                            name="Olive Organizer", hasher=hasher, email_verified=True)
    now = datetime.now(UTC)
    start = now - timedelta(hours=1)
    event = create_event(session, organizer=organizer, values={
        "name": "Tonight's social", "event_type": "TICKETED_EVENT", "starts_at": start,
        "ends_at": start + timedelta(hours=8), "timezone": "UTC", "city": "Chicago"})
    add_day(session, event, user=organizer, values={
        "starts_at": start, "ends_at": start + timedelta(hours=8)})
    publish_event(session, event, user=organizer)
    tier = add_ticket_type(session, event, user=organizer, values={
        "name": "Social", "price_cents": 1500, "quantity_total": 5000})
    session.commit()
    tickets = sell(session, event, tier, 30)
    try:
        yield Stage(server, session, organizer, event, tier, tickets)
    finally:
        session.close()
        engine.dispose()


@dataclass
class DoorProcess:
    """A door: its data folder, driven through ``scanner-app`` commands."""

    data_dir: Path

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "scanner_app.cli", "--data-dir", str(self.data_dir), *args],
            env=_env(), capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False,
        )

    def run(self, *args: str, ok: bool = True) -> Any:
        done = self.command(*args)
        if ok:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        return json.loads(done.stdout)

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "scanner_app.cli", "--data-dir", str(self.data_dir), *args],
            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        )


@pytest.fixture
def make_door(tmp_path: Path) -> Any:
    def make(name: str) -> DoorProcess:
        return DoorProcess(tmp_path / f"door-{name}")

    return make
