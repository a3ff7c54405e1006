"""Render each answer screen, and the other screens, to PNG under tests/artifacts/ for review.

The verdicts come from the real door core; each picture is checked for its colour, so a wrong
colour fails the test, and a reviewer can look at the files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from scanner_app.core.door import Door
from scanner_app.core.kiosk import PinGate, hash_pin
from scanner_app.core.ports import DoorStatus
from scanner_app.core.verdict import Colour
from scanner_app.ui.kiosk_screen import KioskScreen
from scanner_app.ui.main_window import MainWindow
from scanner_app.ui.theme import OUTCOMES, style_sheet
from tests.scanner_ui.conftest import CANCELLED, USED, VALID, forged_token, token

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SIZE = (1280, 800)


def _render(widget, name: str) -> QImage:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    widget.resize(*SIZE)
    widget.show()
    QApplication.processEvents()
    image = widget.grab().toImage()
    path = ARTIFACTS / f"{name}.png"
    assert image.save(str(path))
    return image


def _window(qtbot) -> MainWindow:  # type: ignore[no-untyped-def]
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setStyleSheet(style_sheet())
    window = MainWindow("Main entrance")
    qtbot.addWidget(window)
    window.scan.event_label.setText("Chicago Steppers Summer Weekend")
    window.scan.badge.set_online(True)
    window.scan.camera.show_message("Camera")
    window.scan.show_status(DoorStatus(1520, 3, None, True, 0, 412, 9))
    window.show_scan()
    return window


@pytest.mark.parametrize(
    ("name", "payload", "colour"),
    [
        ("answer-green-admit", token(VALID), Colour.GREEN),
        ("answer-orange-already-used", token(USED), Colour.ORANGE),
        ("answer-red-forged", forged_token(), Colour.RED),
        ("answer-red-cancelled", token(CANCELLED), Colour.RED),
    ],
)
def test_answer_screens_render_in_their_colour(
    qtbot, door: Door, name: str, payload: str, colour: Colour
) -> None:
    window = _window(qtbot)
    verdict = door.check(payload, door="Main entrance", source="camera")
    assert verdict.colour is colour
    window.show_verdict(verdict)
    image = _render(window, name)
    panel = window.scan.answer
    # a point of the panel's background, inside its rounded corner, below the text
    corner = panel.mapTo(window, panel.rect().bottomLeft())
    pixel = QColor(image.pixel(corner.x() + 20, corner.y() - 20))
    assert pixel.name() == OUTCOMES[colour].background


def test_other_screens_render(qtbot) -> None:
    window = _window(qtbot)
    _render(window, "scan-ready")
    window.show_pairing()
    window.pairing.server.setText("https://tickets.stepperslife.com")
    window.pairing.show_progress(41_500, 0)
    window.pairing.progress.setVisible(True)
    _render(window, "pairing")
    window.show_revoked()
    _render(window, "revoked")
    kiosk = KioskScreen(PinGate(hash_pin("1234")))
    qtbot.addWidget(kiosk)
    _render(kiosk, "kiosk-attract")
    kiosk.open_unlock()
    _render(kiosk, "kiosk-pin")
