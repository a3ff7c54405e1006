# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""Qt side of the keyboard-wedge rule: sees every key press in the application first.

The rule itself (``scanner_app.core.wedge``) decides; this filter swallows keys it holds, replays
to the focused widget the ones that turn out to be typing, and emits ``code_scanned(str)`` for a
burst. A scan therefore never types into the search box, whatever has focus.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from scanner_app.core.wedge import WedgeDetector

logger = logging.getLogger(__name__)

MODIFIER_KEYS = frozenset(
    {
        Qt.Key.Key_Shift,
        Qt.Key.Key_Control,
        Qt.Key.Key_Alt,
        Qt.Key.Key_AltGr,
        Qt.Key.Key_Meta,
        Qt.Key.Key_CapsLock,
        Qt.Key.Key_NumLock,
    }
)
ENTER_KEYS = frozenset({Qt.Key.Key_Return, Qt.Key.Key_Enter})


class WedgeFilter(QObject):
    code_scanned = Signal(str)
    duplicate_ignored = Signal(str)

    def __init__(
        self, detector: WedgeDetector | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.detector = detector or WedgeDetector()
        self.enabled = True
        self._replaying = False
        self._target: QObject | None = None  # where held keys were going
        self._expire = QTimer(self)
        self._expire.setInterval(max(5, int(self.detector.max_gap * 1000 / 2)))
        self._expire.timeout.connect(self._on_expire)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            not self.enabled
            or self._replaying
            or event.type() != QEvent.Type.KeyPress
            or not isinstance(event, QKeyEvent)
            or not watched.isWidgetType()
        ):
            return False
        # A press a widget ignores goes on to its parent and passes here again; only presses
        # this filter let through can do that, and feeding one twice changes nothing.
        key = Qt.Key(event.key())
        if key in MODIFIER_KEYS or event.isAutoRepeat():
            return False
        text = "\r" if key in ENTER_KEYS else event.text()
        if event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier
            | Qt.KeyboardModifier.AltModifier
            | Qt.KeyboardModifier.MetaModifier
        ):
            text = ""  # a shortcut, never part of a scan
        outcome = self.detector.key(text, time.monotonic())
        self._target = watched
        if outcome.replay:
            self._replay(outcome.replay)
        if outcome.scan is not None:
            logger.info("keyboard wedge scan (%d characters)", len(outcome.scan))
            self.code_scanned.emit(outcome.scan)
        elif outcome.duplicate:
            self.duplicate_ignored.emit("")
        if self.detector.holding:
            self._expire.start()
        else:
            self._expire.stop()
        return outcome.swallow

    def _on_expire(self) -> None:
        held = self.detector.expire(time.monotonic())
        if held:
            self._replay(held)
        if not self.detector.holding:
            self._expire.stop()

    def _replay(self, text: str) -> None:
        """Hand characters held back, typed by a person, to whatever has focus now."""
        target = QApplication.focusWidget() or self._target
        if target is None:
            return
        self._replaying = True
        try:
            for ch in text:
                for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                    code = ord(ch.upper()) if ch.isascii() else 0
                    QApplication.sendEvent(
                        target, QKeyEvent(kind, code, Qt.KeyboardModifier.NoModifier, ch)
                    )
        finally:
            self._replaying = False
