"""The real window, offscreen, syncing with the real sync server over a real socket: the online
badge follows the server going away and coming back (and the scan made offline reaches the
server), and a device the organizer revoked shows the revoked screen and stops scanning.

The server is the real Flask app on a SQLite file served by werkzeug in a thread
(tests/scanner_core/real_server.py: ``LiveServer``), stopped and started again on the same port;
the door pairs with it and downloads real signed tickets before the window opens.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from scanner_app.core.door import Door
from scanner_app.core.sync import SyncEngine, pair
from scanner_app.core.verdict import Verdict
from scanner_app.settings import Folders
from sync_server.events.models import Event
from sync_server.tickets.models import TicketInstance
from tests.scanner_core.real_server import (
    LiveServer,
    RealServer,
    real_server,  # noqa: F401 (fixture)
    ticket_token,
)
from tests.scanner_ui.conftest import AppFactory

DEVICE = "North door"


class Recorder(QObject):
    """Lives on the GUI thread, so its slot runs there, after the app's own (queued) slot."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.app = app
        self.seen: list[tuple[Verdict, str]] = []

    @Slot(object)
    def record(self, verdict: Verdict) -> None:
        self.seen.append((verdict, self.app.window.scan.answer.outcome))


_recorders: list[Recorder] = []


def collect(app) -> list[tuple[Verdict, str]]:  # type: ignore[no-untyped-def]
    """Every verdict with the answer panel's outcome right after it."""
    recorder = Recorder(app)
    _recorders.append(recorder)
    app.door_worker.ticket_scanned.connect(recorder.record)
    return recorder.seen


@pytest.fixture
def live(real_server: RealServer) -> Iterator[LiveServer]:  # noqa: F811
    server = LiveServer(real_server.app)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def event_and_tickets(real_server: RealServer) -> tuple[Event, list[TicketInstance]]:  # noqa: F811
    event, _tier, sold = real_server.event(tickets=5, name="Chicago Steppers Summer Weekend")
    return event, sold


@pytest.fixture
def tickets(event_and_tickets: tuple[Event, list[TicketInstance]]) -> list[TicketInstance]:
    return event_and_tickets[1]


@pytest.fixture
def paired_door(real_server: RealServer, live: LiveServer,  # noqa: F811
                event_and_tickets: tuple[Event, list[TicketInstance]],
                folders: Folders) -> Iterator[Door]:
    event = event_and_tickets[0]
    with httpx.Client(base_url=live.url, timeout=5.0) as client:
        pair(client, folders.data, real_server.pairing_code(event, name=DEVICE))
    door = Door.open(folders.data)
    yield door
    door.close()


@pytest.fixture
def live_client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=2.0) as client:
        yield client


def test_badge_goes_offline_when_the_server_goes_away_and_back_online(
    qtbot: QtBot, make_app: AppFactory, paired_door: Door, live: LiveServer,
    live_client: httpx.Client, real_server: RealServer,  # noqa: F811
    tickets: list[TicketInstance],
) -> None:
    engine = SyncEngine(paired_door.store, live_client)
    engine.backoff.cap = 0.3  # retry quickly in the test
    app = make_app(paired_door, sync_round=engine.sync_round, sync_interval_ms=200)
    badge = app.window.scan.badge
    qtbot.waitUntil(lambda: badge.online is True, timeout=5000)
    assert "ONLINE" in badge.text()
    qtbot.waitUntil(lambda: paired_door.status().tickets_cached == 5, timeout=5000)

    live.stop()
    qtbot.waitUntil(lambda: badge.online is False, timeout=5000)
    assert "OFFLINE" in badge.text()
    # Offline, the door still answers, and the answer is on screen, not hidden by the badge.
    seen = collect(app)
    qtbot.keyClicks(app.window.scan, ticket_token(tickets[0]))
    qtbot.keyClick(app.window.scan, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(seen) == 1)
    assert seen[0][1] == "green" and app.window.scan.answer.isVisible()
    assert real_server.stored_scan_ids() == []

    live.start()
    qtbot.waitUntil(lambda: badge.online is True, timeout=5000)
    # the offline scan reached the real server, once
    qtbot.waitUntil(lambda: real_server.stored_scan_ids() == [seen[0][0].scan_id], timeout=5000)
    qtbot.waitUntil(lambda: paired_door.status().scans_queued == 0, timeout=5000)


def test_revoked_device_shows_the_revoked_screen_and_stops_scanning(
    qtbot: QtBot, make_app: AppFactory, paired_door: Door, live_client: httpx.Client,
    real_server: RealServer, tickets: list[TicketInstance], tmp_path: Path,  # noqa: F811
) -> None:
    folder = paired_door.store.folder
    assert any(folder.iterdir())
    real_server.revoke(DEVICE)  # the organizer removes the device on the server
    engine = SyncEngine(paired_door.store, live_client)
    app = make_app(paired_door, sync_round=engine.sync_round, sync_interval_ms=200)
    window = app.window
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.revoked, timeout=5000)
    assert "removed" in window.revoked.title.text()
    assert app.door_worker is None  # nothing left to scan with
    assert not folder.exists()  # the core wiped the ticket data
    app.scan_code(ticket_token(tickets[0]), "wedge")  # a scan now goes nowhere, nothing breaks
    QApplication.processEvents()
    assert window.stack.currentWidget() is window.revoked
