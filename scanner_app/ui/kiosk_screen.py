# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""Self check-in: attendee-facing, large instructions, back to idle by itself, staff PIN to leave.

The rules (PIN hash, lockout, timeouts) are in ``scanner_app.core.kiosk``; this only shows them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from scanner_app.core.kiosk import KioskScreen as Screen
from scanner_app.core.kiosk import KioskState, PinGate, Unlock
from scanner_app.core.verdict import Verdict
from scanner_app.ui.answer_panel import AnswerPanel
from scanner_app.ui.camera_view import CameraView

ATTRACT_TEXT = "Welcome!\nHold your ticket's QR code\nup to the camera"


def _big(widget: QWidget, px: int, weight: int = 700) -> QWidget:
    """Sizes go in a style sheet: an application style sheet overrides ``setFont``."""
    widget.setStyleSheet(f"font-size: {px}px; font-weight: {weight};")
    return widget


class PinPad(QWidget):
    """Digits on big buttons (a touch screen has no keyboard). ``pin_entered(str)`` on OK."""

    pin_entered = Signal(str)
    cancelled = Signal()
    touched = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.display = QLineEdit()
        self.display.setEchoMode(QLineEdit.EchoMode.Password)
        self.display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.display.setMaxLength(12)
        self.display.setReadOnly(True)
        _big(self.display, 48)
        self.message = QLabel("Staff PIN")
        _big(self.message, 30)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"]
        for index, key in enumerate(keys):
            button = QPushButton(key)
            button.setMinimumSize(120, 90)
            _big(button, 36)
            button.clicked.connect(lambda _checked=False, k=key: self.press(k))
            grid.addWidget(button, index // 3, index % 3)
            self.buttons[key] = button
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.cancelled)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.message)
        layout.addWidget(self.display)
        layout.addLayout(grid)
        layout.addWidget(cancel)
        layout.addStretch(1)

    def press(self, key: str) -> None:
        self.touched.emit()
        if key == "OK":
            pin = self.display.text()
            self.display.clear()
            self.pin_entered.emit(pin)
        elif key == "⌫":
            self.display.backspace()
        elif len(self.display.text()) < self.display.maxLength():
            self.display.setText(self.display.text() + key)

    def reset(self, message: str = "Staff PIN") -> None:
        self.display.clear()
        self.message.setText(message)


class KioskScreen(QWidget):
    """Emits ``unlocked()`` when staff enter the right PIN; nothing else leaves kiosk mode."""

    unlocked = Signal()

    def __init__(
        self,
        gate: PinGate,
        state: KioskState | None = None,
        clock: Callable[[], float] = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.gate = gate
        self.state = state or KioskState()
        self._clock = clock
        self.camera = CameraView()
        self.camera.setMaximumHeight(420)
        attract = QWidget()
        self.attract_text = QLabel(ATTRACT_TEXT)
        _big(self.attract_text, 64, 900)
        self.attract_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        arrow = QLabel("Hold it still, about a hand's width from the camera")
        _big(arrow, 30, 600)
        arrow.setAlignment(Qt.AlignmentFlag.AlignCenter)
        attract_layout = QVBoxLayout(attract)
        attract_layout.addStretch(1)
        attract_layout.addWidget(self.attract_text)
        attract_layout.addWidget(self.camera, 2)
        attract_layout.addWidget(arrow)
        attract_layout.addStretch(1)
        self.answer = AnswerPanel(hold_ms=10 * 60 * 1000)  # the kiosk timer, not the panel, decides
        self.pin_pad = PinPad()
        self.pages = QStackedWidget()
        self.pages.addWidget(attract)
        self.pages.addWidget(self.answer)
        self.pages.addWidget(self.pin_pad)
        self._page = {
            Screen.ATTRACT: attract,
            Screen.ANSWER: self.answer,
            Screen.UNLOCK: self.pin_pad,
        }
        self.staff_button = QPushButton("Staff")
        self.staff_button.setFlat(True)
        corner = QHBoxLayout()
        corner.addStretch(1)
        corner.addWidget(self.staff_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        layout.addLayout(corner)
        self.staff_button.clicked.connect(self.open_unlock)
        self.pin_pad.pin_entered.connect(self._try_pin)
        self.pin_pad.cancelled.connect(self._back_to_attract)
        self.pin_pad.touched.connect(lambda: self.state.touch(self._clock()))
        self._ticker = QTimer(self)
        self._ticker.setInterval(250)
        self._ticker.timeout.connect(self.tick)
        self._ticker.start()
        self._show(Screen.ATTRACT)

    @property
    def screen(self) -> Screen:  # type: ignore[override]  # which kiosk page, not the QScreen
        return self.state.screen

    def _show(self, screen: Screen) -> None:
        self.pages.setCurrentWidget(self._page[screen])

    def show_verdict(self, verdict: Verdict) -> None:
        if self.state.screen is Screen.UNLOCK:
            return  # staff at the PIN pad: do not snatch the screen from them
        self.answer.show_verdict(verdict)
        self.state.show_answer(self._clock())
        self._show(Screen.ANSWER)

    def open_unlock(self) -> None:
        self.pin_pad.reset()
        self.state.open_unlock(self._clock())
        self._show(Screen.UNLOCK)

    def tick(self) -> None:
        self._show(self.state.tick(self._clock()))

    def _back_to_attract(self) -> None:
        self.state.back_to_attract(self._clock())
        self._show(Screen.ATTRACT)

    def _try_pin(self, pin: str) -> None:
        now = self._clock()
        result = self.gate.try_pin(pin, now)
        if result is Unlock.OK:
            self._back_to_attract()
            self.unlocked.emit()
        elif result is Unlock.LOCKED_OUT:
            self.pin_pad.reset(f"Too many tries: wait {int(self.gate.seconds_locked(now)) + 1} s")
        else:
            self.pin_pad.reset("Wrong PIN, try again")
