"""The real window, offscreen, over the real door core: camera frames, wedge scans, lookup,
kiosk. (The online badge and the revoked screen run against the real server:
test_door_window_server.py.)"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Slot

from scanner_app.core.door import Door
from scanner_app.core.kiosk import KioskScreen as Screen
from scanner_app.core.verdict import Colour, Verdict, VerdictCode
from scanner_app.hardware.camera import FileCamera
from tests.scanner_ui.conftest import (
    SMITH,
    STAFF_PIN,
    USED,
    VALID,
    AppFactory,
    forged_token,
    token,
)
from tests.support.synthetic import ticket_frames, write_frames


class Recorder(QObject):
    """Lives on the GUI thread, so its slot runs there, after the app's own (queued) slot."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.app = app
        self.seen: list[tuple[Verdict, str, list[str]]] = []

    @Slot(object)
    def record(self, verdict: Verdict) -> None:
        window = self.app.window
        panel = window.kiosk.answer if window.in_kiosk else window.scan.answer
        self.seen.append((verdict, panel.outcome, panel.texts()))


_recorders: list[Recorder] = []


def collect(app) -> list[tuple[Verdict, str, list[str]]]:  # type: ignore[no-untyped-def]
    """Every verdict with what the answer panel showed right after it."""
    recorder = Recorder(app)
    _recorders.append(recorder)
    app.door_worker.ticket_scanned.connect(recorder.record)
    app.door_worker.check_in_finished.connect(recorder.record)
    return recorder.seen


def test_camera_frames_give_green_orange_red_on_screen(
    qtbot, make_app: AppFactory, door: Door, tmp_path: Path
) -> None:
    folder = tmp_path / "camera"
    write_frames(ticket_frames([token(VALID), token(USED), forged_token()], gap=4), folder)
    app = make_app(door, camera=lambda: FileCamera(folder, fps=30, loop=False))
    seen = collect(app)
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=10_000)

    codes = [v.code for v, _, _ in seen]
    assert codes == [VerdictCode.ADMIT, VerdictCode.ALREADY_SCANNED, VerdictCode.FORGED]
    assert [outcome for _, outcome, _ in seen] == ["green", "orange", "red"]
    assert "Guest 1" in seen[0][2]
    assert "Dana Brooks" in seen[1][2]
    assert any("Side door" in line for line in seen[1][2])  # which door it was used at
    assert app.sound.played == [Colour.GREEN, Colour.ORANGE, Colour.RED]
    assert app.window.scan.camera.frames_shown > 0
    values = app.window.scan.status.values
    # already used + forged are both refusals
    qtbot.waitUntil(lambda: (values["admitted"].text(), values["refused"].text()) == ("1", "2"))


def test_camera_codes_reach_the_door_while_the_gui_thread_is_busy(
    make_app: AppFactory, door: Door, tmp_path: Path
) -> None:
    """The camera thread hands codes straight to the door thread: the GUI thread runs no event
    loop here (it sleeps), so a code that had to pass through it would never be decided."""
    folder = tmp_path / "camera"
    write_frames(ticket_frames([token(VALID)], gap=4), folder)
    make_app(door, camera=lambda: FileCamera(folder, fps=30, loop=False))
    deadline = time.monotonic() + 10
    while door.status().admitted == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # not qtbot.wait: that would run the GUI thread's event loop
    assert door.status().admitted == 1


def test_wedge_burst_is_a_scan_while_the_search_box_has_focus(
    qtbot, make_app: AppFactory, door: Door
) -> None:
    app = make_app(door)
    seen = collect(app)
    scan = app.window.scan
    scan.lookup_button.click()
    search = scan.lookup.search
    search.setFocus()
    qtbot.keyClicks(search, token(VALID))
    qtbot.keyClick(search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(seen) == 1)
    assert seen[0][0].code is VerdictCode.ADMIT
    assert seen[0][1] == "green"
    assert search.text() == ""  # not one character of the code landed in the box

    # The same code sent again at once (a scanner set to send twice) is not a second scan.
    qtbot.keyClicks(search, token(VALID))
    qtbot.keyClick(search, Qt.Key.Key_Return)
    qtbot.wait(300)
    assert len(seen) == 1


def test_typing_searches_and_manual_check_in_admits(
    qtbot, make_app: AppFactory, door: Door
) -> None:
    app = make_app(door)
    seen = collect(app)
    scan = app.window.scan
    scan.lookup_button.click()
    search = scan.lookup.search
    search.setFocus()
    qtbot.keyClicks(search, "jordan", delay=90)  # a person's pace
    qtbot.waitUntil(lambda: search.text() == "jordan")
    qtbot.waitUntil(lambda: scan.lookup.results.count() == 1, timeout=5000)
    assert "Jordan Smith" in scan.lookup.results.item(0).text()
    assert seen == []  # typing was never taken for a scan

    scan.lookup.results.setCurrentRow(0)
    assert scan.lookup.check_in.isEnabled()
    scan.lookup.reason.setCurrentText("Phone battery dead")
    scan.lookup.check_in.click()
    qtbot.waitUntil(lambda: len(seen) == 1)
    verdict, outcome, texts = seen[0]
    assert verdict.ticket_id == SMITH and verdict.admitted and outcome == "green"
    assert "Jordan Smith" in texts

    # The journal holds the reason: searching again shows the ticket as checked in.
    search.clear()
    qtbot.keyClicks(search, "smith", delay=90)
    qtbot.waitUntil(lambda: "IN since" in (scan.lookup.results.item(0) or _Empty()).text())


class _Empty:
    def text(self) -> str:
        return ""


def test_kiosk_locks_returns_to_idle_and_unlocks_only_with_the_pin(
    qtbot, make_app: AppFactory, door: Door
) -> None:
    app = make_app(door)
    seen = collect(app)
    app.enter_kiosk()
    window = app.window
    assert window.in_kiosk and window.isFullScreen()
    kiosk = window.kiosk
    kiosk.state.answer_hold = 0.4

    window.close()  # an attendee tries to leave
    assert window.in_kiosk and window.isVisible()

    qtbot.keyClicks(kiosk, token(VALID))
    qtbot.keyClick(kiosk, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(seen) == 1)
    assert seen[0][1] == "green" and kiosk.screen is Screen.ANSWER
    qtbot.waitUntil(lambda: kiosk.screen is Screen.ATTRACT, timeout=3000)  # idle by itself

    kiosk.staff_button.click()
    for digit in "0000":
        kiosk.pin_pad.press(digit)
    kiosk.pin_pad.press("OK")
    assert window.in_kiosk
    assert "Wrong PIN" in kiosk.pin_pad.message.text()
    for digit in STAFF_PIN:
        kiosk.pin_pad.press(digit)
    kiosk.pin_pad.press("OK")
    assert not window.in_kiosk
    assert window.stack.currentWidget() is window.scan


def test_kiosk_needs_a_pin_to_start(qtbot, make_app: AppFactory, door: Door) -> None:
    make_app.settings = make_app.settings.replace(kiosk_pin_hash=None)
    app = make_app(door)
    app.enter_kiosk()
    assert not app.window.in_kiosk
    assert "staff PIN" in app.window.scan.notice.text()
