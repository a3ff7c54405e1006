# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""The door staff's screen: door choice, live camera, full-width answer, counters, lookup."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from scanner_app.core.ports import DoorStatus
from scanner_app.core.verdict import Verdict
from scanner_app.ui.answer_panel import AnswerPanel
from scanner_app.ui.camera_view import CameraView
from scanner_app.ui.lookup_panel import LookupPanel
from scanner_app.ui.status_strip import OnlineBadge, StatusStrip

DOORS = ("Main entrance", "Side door", "VIP entrance", "Box office")


class ScanScreen(QWidget):
    """Signals: ``door_changed(str)``, ``kiosk_requested()``, ``settings_requested()``.

    The door serves every event it was paired for; the header names them.
    """

    door_changed = Signal(str)
    kiosk_requested = Signal()
    settings_requested = Signal()
    box_office_requested = Signal()

    def __init__(self, door: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.event_label = QLabel("")
        self.event_label.setObjectName("eventName")
        self.event_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.event_label.setMinimumWidth(120)
        self.door_choice = QComboBox()
        self.door_choice.setEditable(True)
        self.door_choice.addItems(list(DOORS) if door in DOORS else [door, *DOORS])
        self.door_choice.setCurrentText(door)
        self.door_choice.setMinimumWidth(220)
        self.badge = OnlineBadge()
        self.lookup_button = QPushButton("Search")
        self.lookup_button.setCheckable(True)
        self.kiosk_button = QPushButton("Kiosk")
        self.settings_button = QPushButton("Settings")
        self.box_office_button = QPushButton("Box office")
        self.box_office_button.setToolTip("Sell tickets at this desk (the seller's code of the "
                                          "day confirms each sale)")
        header = QHBoxLayout()
        header.addWidget(self.event_label, 1)
        header.addSpacing(12)
        header.addWidget(QLabel("Door"))
        header.addWidget(self.door_choice)
        header.addWidget(self.badge)
        header.addSpacing(12)
        for button in (self.lookup_button, self.kiosk_button, self.box_office_button,
                       self.settings_button):
            header.addWidget(button)

        self.camera = CameraView()
        self.lookup = LookupPanel()
        self.lookup.setVisible(False)
        self.lookup.setMinimumWidth(460)
        middle = QHBoxLayout()
        middle.addWidget(self.camera, 3)
        middle.addWidget(self.lookup, 2)

        self.answer = AnswerPanel()
        self.status = StatusStrip()
        self.notice = QLabel("")
        self.notice.setObjectName("error")
        self.notice.setWordWrap(True)
        self.notice.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 8)
        layout.setSpacing(10)
        layout.addLayout(header)
        layout.addLayout(middle, 4)
        layout.addWidget(self.notice)
        layout.addWidget(self.answer, 5)
        layout.addWidget(self.status)

        self.lookup_button.toggled.connect(self._toggle_lookup)
        self.kiosk_button.clicked.connect(self.kiosk_requested)
        self.settings_button.clicked.connect(self.settings_requested)
        self.box_office_button.clicked.connect(self.box_office_requested)
        self.door_choice.currentTextChanged.connect(self._door_text_changed)

    def _door_text_changed(self, text: str) -> None:
        if text.strip():
            self.door_changed.emit(text.strip())

    def _toggle_lookup(self, shown: bool) -> None:
        self.lookup.setVisible(shown)
        if shown:
            self.lookup.search.setFocus()

    def show_verdict(self, verdict: Verdict) -> None:
        self.answer.show_verdict(verdict)

    def show_status(self, status: DoorStatus) -> None:
        self.status.show_status(status)

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
