"""Contract fixtures: the real door client against the real Flask app, in one process.

The server side reuses the server fixtures (a migrated database on the ``database_url`` leg,
SQLite then PostgreSQL, and the app on it); the door side is the real ``scanner_app`` core with
its own SQLite files under ``tmp_path``, speaking HTTP to the app through
``httpx.WSGITransport``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from flask import Flask
from sqlalchemy.orm import Session

from scanner_app.core.door import Door
from scanner_app.core.sync import Backoff, SyncEngine, SyncReport, pair
from sync_server.devices.services import create_pairing_code
from sync_server.door import scans
from sync_server.events.models import Event
from tests.server.conftest import Person, World, app, session, world  # noqa: F401 (fixtures)

# Inside day 1 of tests.server.conftest.World.event (which starts 2030-06-06 23:00 UTC).
DOOR_TIME = datetime(2030, 6, 7, 0, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def server_clock_after_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """The doors here live in June 2030: the server's bound on scan times in the future
    (``scans.latest_scan_time``, issue #13) reads its clock as a month after DOOR_TIME."""
    monkeypatch.setattr(scans, "latest_scan_time",
                        lambda now: max(now, DOOR_TIME + timedelta(days=30)) + scans.CLOCK_SKEW)
SERVER = "http://testserver"


@dataclass
class DoorClient:
    """One real door: its data folder, its Door service and a sync engine over HTTP."""

    name: str
    data_dir: Path
    client: httpx.Client
    offset: timedelta = timedelta(0)  # this door's clock: DOOR_TIME + offset
    door: Door | None = None

    def now(self) -> datetime:
        return DOOR_TIME + self.offset

    def open(self) -> Door:
        if self.door is None:
            self.door = Door.open(self.data_dir, clock=self.now)
        return self.door

    def sync(self) -> SyncReport:
        engine = SyncEngine(self.open().store, self.client, backoff=Backoff(base=0.0, cap=0.0),
                            clock=self.now)
        return engine.sync_once()

    def close(self) -> None:
        if self.door is not None:
            self.door.close()
            self.door = None


@pytest.fixture
def wsgi_client(app: Flask) -> Iterator[httpx.Client]:  # noqa: F811
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url=SERVER) as client:
        yield client


@pytest.fixture
def make_door(
    session: Session, wsgi_client: httpx.Client, tmp_path: Path  # noqa: F811
) -> Iterator[Callable[..., DoorClient]]:
    made: list[DoorClient] = []

    def make(organizer: Person, *events: Event, name: str = "North",
             client: httpx.Client | None = None,
             offset: timedelta = timedelta(0)) -> DoorClient:
        code, _ = create_pairing_code(session, by=organizer.user, events=list(events),
                                      device_name=name)
        session.commit()
        door = DoorClient(name, tmp_path / f"door-{name}-{len(made)}", client or wsgi_client,
                          offset)
        answer = pair(door.client, door.data_dir, code)
        assert answer.device_name == name
        made.append(door)
        return door

    yield make
    for door in made:
        door.close()


__all__ = ["DOOR_TIME", "DoorClient", "World"]
