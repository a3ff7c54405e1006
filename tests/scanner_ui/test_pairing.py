"""First run: pair by showing the pairing QR to the camera, download the tickets, then scan."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from scanner_app.core.door import Door
from scanner_app.core.ports import DoorService
from scanner_app.hardware.camera import FileCamera
from scanner_app.hardware.synthetic import empty_scene, write_frames
from scanner_app.settings import Settings
from scanner_app.workers.adapters import pair_and_download
from shared import protocol as p
from tests.scanner_ui.conftest import EVENT, VALID, AppFactory, door_page, token
from tests.scanner_ui.stand_in_server import StandInServer


@pytest.fixture
def server() -> Iterator[StandInServer]:
    s = StandInServer()
    s.door_data = {EVENT: door_page()}
    s.events = (p.EventSummary(EVENT, "Chicago Steppers Summer Weekend", revision=1),)
    s.start()
    yield s
    s.stop()


def _qr_frame(text: str) -> np.ndarray:
    frame = empty_scene(640, 480, np.random.default_rng(1))
    import qrcode

    code = qrcode.QRCode(border=4, box_size=4)
    code.add_data(text)
    image = np.array(code.make_image().convert("L"), dtype=np.uint8)
    h, w = image.shape
    frame[40 : 40 + h, 40 : 40 + w] = image
    return frame


def _opened_door(settings: Settings) -> Callable[[], DoorService | None]:
    opened: list[Door] = []

    def open_door() -> DoorService | None:
        door = Door.open(settings.folders.data)
        identity = door.store.identity()
        if identity is None or not identity.paired:
            door.close()
            return None
        opened.append(door)
        return door

    return open_door


def test_pairing_qr_on_camera_pairs_downloads_and_scans(
    qtbot, make_app: AppFactory, settings: Settings, server: StandInServer, tmp_path: Path
) -> None:
    frames = tmp_path / "pairing-camera"
    write_frames([_qr_frame(f"stepperslife-pair:{server.url}#{server.pairing_code}")], frames)
    progress: list[tuple[int, int]] = []

    def pair(url: str, code: str, report: Callable[[int, int], None]) -> None:
        def both(done: int, total: int) -> None:
            progress.append((done, total))
            report(done, total)

        pair_and_download(settings.folders.data, url, code, both)

    from scanner_app.app import DoorApp, Parts
    from scanner_app.hardware.decoders import ZxingDecoder
    from scanner_app.ui.sounds import SoundPlayer

    parts = Parts(
        open_door=_opened_door(settings),
        sync_round=lambda _door: None,
        pair=pair,
        open_camera=lambda: FileCamera(frames, fps=10, loop=True),
        decoder=ZxingDecoder(),
    )
    app = DoorApp(settings, parts, sound=SoundPlayer(enabled=False))
    make_app.apps.append(app)
    app.start()
    window = app.window
    assert window.stack.currentWidget() is window.pairing

    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.scan, timeout=15_000)
    assert window.pairing.server.text() == server.url
    assert progress and progress[-1][0] == len(door_page().tickets)
    assert "Chicago Steppers" in window.scan.event_label.text()

    qtbot.keyClicks(window.scan, token(VALID))
    qtbot.keyClick(window.scan, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.scan.answer.outcome == "green", timeout=5000)


def test_wrong_pairing_code_says_so_and_stays_on_the_pairing_screen(
    qtbot, make_app: AppFactory, settings: Settings, server: StandInServer
) -> None:
    from scanner_app.app import DoorApp, Parts
    from scanner_app.hardware.decoders import ZxingDecoder
    from scanner_app.ui.sounds import SoundPlayer

    parts = Parts(
        open_door=_opened_door(settings),
        sync_round=lambda _door: None,
        pair=lambda url, code, report: pair_and_download(settings.folders.data, url, code, report),
        open_camera=make_app.idle_camera,
        decoder=ZxingDecoder(),
    )
    app = DoorApp(settings, parts, sound=SoundPlayer(enabled=False))
    make_app.apps.append(app)
    app.start()
    pairing = app.window.pairing
    pairing.server.setText(server.url)
    pairing.code.setText("WRONG-0000")
    pairing.pair_button.click()
    qtbot.waitUntil(lambda: "not valid" in pairing.error.text(), timeout=10_000)
    assert pairing.pair_button.isEnabled()
    assert app.window.stack.currentWidget() is pairing
