# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""What a door shows once the organiser has removed it: no scanning, no data, what to do next."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

TITLE = "This scanner has been removed"
BODY = (
    "The event organiser has disconnected this device, so it can no longer check tickets.\n"
    "The ticket list stored on it has been erased.\n\n"
    "To scan again, ask the organiser for a new pairing code."
)


class RevokedScreen(QWidget):
    pair_again_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("revoked")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("QWidget#revoked { background-color: #4a1010; }")
        symbol = QLabel("✖")
        title = QLabel(TITLE)
        body = QLabel(BODY)
        for label, px in ((symbol, 140), (title, 56), (body, 28)):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
            weight = 700 if px > 30 else 400
            label.setStyleSheet(
                f"background: transparent; color: #fff; font-size: {px}px; font-weight: {weight};"
            )
        self.title, self.body = title, body
        self.pair_again = QPushButton("Pair with a new code")
        self.pair_again.setObjectName("primary")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(symbol)
        layout.addWidget(title)
        layout.addWidget(body)
        layout.addSpacing(24)
        layout.addWidget(self.pair_again, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(1)
        self.pair_again.clicked.connect(self.pair_again_requested)
