"""First run against the real sync server over a real socket: pair by showing the pairing QR to
the camera or by typing the code, download the tickets, then scan; a wrong code is refused.

The server is the real Flask app on a SQLite file, served by werkzeug in a thread
(tests/scanner_core/real_server.py: ``LiveServer``), with an event open now and tickets sold and
signed by its own services.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy.exc import NoResultFound

from scanner_app.core.door import Door
from scanner_app.core.pairing import pair_and_download
from scanner_app.core.ports import FrameSource, PairedDoor
from scanner_app.hardware.camera import FileCamera
from scanner_app.settings import Settings
from shared.qr import render_png
from sync_server.events.models import Event
from sync_server.tickets.models import TicketInstance
from tests.scanner_core.real_server import (
    LiveServer,
    RealServer,
    real_server,  # noqa: F401 (fixture)
    ticket_token,
)
from tests.scanner_ui.conftest import AppFactory
from tests.support.synthetic import empty_scene, write_frames

SOLD = 20
DEVICE = "Front door"


@pytest.fixture
def server(real_server: RealServer) -> Iterator[LiveServer]:  # noqa: F811
    live = LiveServer(real_server.app)
    live.start()
    yield live
    live.stop()


@pytest.fixture
def sold(real_server: RealServer) -> tuple[Event, list[TicketInstance]]:  # noqa: F811
    event, _tier, tickets = real_server.event(tickets=SOLD, name="Chicago Steppers Summer Weekend")
    return event, tickets


def _qr_frame(text: str) -> np.ndarray:
    frame = empty_scene(640, 480, np.random.default_rng(1))
    png = np.frombuffer(render_png(text, box_size=4), np.uint8)
    image = cv2.imdecode(png, cv2.IMREAD_GRAYSCALE)
    assert image is not None
    h, w = image.shape
    frame[40 : 40 + h, 40 : 40 + w] = image
    return frame


def _opened_door(settings: Settings) -> Callable[[], PairedDoor | None]:
    opened: list[Door] = []

    def open_door() -> PairedDoor | None:
        door = Door.open(settings.folders.data)
        identity = door.store.identity()
        if identity is None or not identity.paired:
            door.close()
            return None
        opened.append(door)
        return PairedDoor(door)

    return open_door


if TYPE_CHECKING:
    from scanner_app.app import DoorApp
    from scanner_app.ui.main_window import MainWindow


def _door_app(settings: Settings, make_app: AppFactory, camera: Callable[[], FrameSource],
              progress: list[tuple[int, int]]) -> DoorApp:
    """The real app, unpaired, pairing with the real HTTP client (no client factory)."""
    from scanner_app.app import DoorApp, Parts
    from scanner_app.hardware.decoders import ZxingDecoder
    from scanner_app.ui.sounds import SoundPlayer

    def pair(url: str, code: str, report: Callable[[int, int], None], /, *,
             device_name: str = "") -> None:
        def both(done: int, total: int) -> None:
            progress.append((done, total))
            report(done, total)

        pair_and_download(settings.folders.data, url, code, both, device_name=device_name)

    parts = Parts(
        open_door=_opened_door(settings),
        pair=pair,
        open_camera=camera,
        decoder=ZxingDecoder(),
    )
    app = DoorApp(settings, parts, sound=SoundPlayer(enabled=False))
    make_app.apps.append(app)
    app.start(None)
    assert app.window.stack.currentWidget() is app.window.pairing
    return app


def _scan_is_green(qtbot: QtBot, window: MainWindow, ticket: TicketInstance) -> None:
    qtbot.keyClicks(window.scan, ticket_token(ticket))
    qtbot.keyClick(window.scan, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.scan.answer.outcome == "green", timeout=5000)


def test_pairing_qr_on_camera_pairs_downloads_and_scans(
    qtbot: QtBot, make_app: AppFactory, settings: Settings, server: LiveServer,
    real_server: RealServer, sold: tuple[Event, list[TicketInstance]], tmp_path: Path,  # noqa: F811
) -> None:
    event, tickets = sold
    code = real_server.pairing_code(event, name=DEVICE)
    frames = tmp_path / "pairing-camera"
    write_frames([_qr_frame(f"stepperslife-pair:{server.url}#{code}")], frames)
    progress: list[tuple[int, int]] = []
    app = _door_app(settings, make_app, lambda: FileCamera(frames, fps=10, loop=True), progress)
    window = app.window

    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.scan, timeout=15_000)
    assert window.pairing.server.text() == server.url
    assert progress and progress[-1][0] == SOLD
    assert "Chicago Steppers" in window.scan.event_label.text()
    assert real_server.device(DEVICE).revoked_at is None  # the server made the device
    _scan_is_green(qtbot, window, tickets[0])


def test_typed_pairing_code_pairs_downloads_and_scans(
    qtbot: QtBot, make_app: AppFactory, settings: Settings, server: LiveServer,
    real_server: RealServer, sold: tuple[Event, list[TicketInstance]],  # noqa: F811
) -> None:
    event, tickets = sold
    progress: list[tuple[int, int]] = []
    app = _door_app(settings, make_app, make_app.idle_camera, progress)
    pairing = app.window.pairing
    pairing.server.setText(server.url)
    pairing.code.setText(real_server.pairing_code(event, name=DEVICE))
    pairing.pair_button.click()
    window = app.window
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.scan, timeout=15_000)
    # The server announced the snapshot's size, so the bar filled to a known total.
    assert progress and progress[-1] == (SOLD, SOLD)
    assert (pairing.progress.maximum(), pairing.progress.value()) == (SOLD, SOLD)
    assert real_server.device(DEVICE).events[0].id == event.id
    _scan_is_green(qtbot, window, tickets[-1])


def test_wrong_pairing_code_says_so_and_stays_on_the_pairing_screen(
    qtbot: QtBot, make_app: AppFactory, settings: Settings, server: LiveServer,
    real_server: RealServer, sold: tuple[Event, list[TicketInstance]],  # noqa: F811
) -> None:
    real_server.pairing_code(sold[0], name=DEVICE)  # a real code exists, but not this one
    progress: list[tuple[int, int]] = []
    app = _door_app(settings, make_app, make_app.idle_camera, progress)
    pairing = app.window.pairing
    pairing.server.setText(server.url)
    pairing.code.setText("WRONG-0000")
    pairing.pair_button.click()
    qtbot.waitUntil(lambda: "not valid" in pairing.error.text(), timeout=10_000)
    assert pairing.pair_button.isEnabled()
    assert app.window.stack.currentWidget() is pairing
    assert progress == []
    with pytest.raises(NoResultFound):
        real_server.device(DEVICE)  # no device was made
