"""The door keeps answering when the camera or the sound cannot work."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import Qt

from scanner_app.core.door import Door
from scanner_app.core.ports import FrameSource
from scanner_app.core.verdict import Colour
from scanner_app.hardware.camera import OpenCvCamera
from scanner_app.ui.sounds import SoundPlayer
from tests.scanner_ui.conftest import VALID, AppFactory, token


def test_missing_camera_says_so_and_the_wedge_still_scans(
    qtbot, make_app: AppFactory, door: Door
) -> None:
    def no_camera() -> FrameSource:
        return OpenCvCamera(95)  # no such device: raises CameraError with words for staff

    app = make_app(door, camera=no_camera)
    view = app.window.scan.camera
    qtbot.waitUntil(lambda: "could not be opened" in view.text(), timeout=5000)
    assert "handheld scanner" in view.text()
    qtbot.keyClicks(app.window.scan, token(VALID))
    qtbot.keyClick(app.window.scan, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: app.window.scan.answer.outcome == "green", timeout=5000)


def test_sound_without_qt_multimedia_is_silent_and_never_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "PySide6.QtMultimedia", None)  # import now fails
    player = SoundPlayer(enabled=True)
    assert not player.available
    for colour in Colour:
        player.play(colour)
    assert player.played == list(Colour)


def test_sound_with_qt_multimedia_loads_all_three(qtbot) -> None:
    player = SoundPlayer(enabled=True)
    assert player.available  # the WAVs are there and QtMultimedia loads (no device needed)
    player.play(Colour.RED)  # no audio device here: silent, no exception
