# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""The sold page of the sale screen: the ticket's QR large (for the buyer to photograph), the
change due, the print outcome, and Next ticket / Reprint / Void / Next sale."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

QR_SIDE = 480  # pixels: large enough for a buyer's phone to photograph from the other side


class SoldPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("")
        self.title.setObjectName("heading")
        self.qr = QLabel()
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setMinimumSize(QR_SIDE, QR_SIDE)
        self.info = QLabel("")
        self.info.setObjectName("eventName")
        self.info.setWordWrap(True)
        self.print_label = QLabel("")
        self.print_label.setObjectName("hint")
        self.next_ticket_button = QPushButton("Next ticket")
        self.reprint = QPushButton("Reprint")
        self.void_button = QPushButton("Void…")
        self.new_sale_button = QPushButton("Next sale (Enter)")
        self.new_sale_button.setObjectName("primary")
        self.void_reason = QLineEdit()
        self.void_reason.setPlaceholderText("Why is this sale voided? Enter to void")
        self.void_reason.hide()
        buttons = QHBoxLayout()
        for button in (self.next_ticket_button, self.reprint, self.void_button,
                       self.new_sale_button):
            buttons.addWidget(button)
        done_layout = QHBoxLayout(self)
        done_layout.addWidget(self.qr, 3)
        side = QVBoxLayout()
        for widget in (self.title, self.info, self.print_label, self.void_reason):
            side.addWidget(widget)
        side.addLayout(buttons)
        side.addStretch(1)
        done_layout.addLayout(side, 2)
