# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""Manual lookup: search as you type (name, email, order, ticket number), check in with a reason."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from scanner_app.core.ports import TicketRow

REASONS = (
    "QR code will not scan",
    "Phone battery dead",
    "Ticket on another phone",
    "Name on the guest list",
    "Checked photo ID",
)
SEARCH_DELAY_MS = 120  # a pause in typing, not every key, starts a search


def row_text(row: TicketRow) -> str:
    state = (
        f"IN since {row.checked_in_at.astimezone().strftime('%H:%M')}"
        if row.checked_in_at
        else row.status.upper()
    )
    return (
        f"{row.holder_name}  ·  {row.ticket_type}  ·  {state}\n"
        f"{row.ticket_number}  ·  order {row.order_number}  ·  {row.holder_email}"
    )


class LookupPanel(QWidget):
    """Signals: ``search_changed(str)`` after a pause in typing, ``check_in_requested(id, why)``."""

    search_changed = Signal(str)
    check_in_requested = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search name, email, order or ticket number")
        self.search.setClearButtonEnabled(True)
        self.results = QListWidget()
        self.results.setWordWrap(True)
        self.reason = QComboBox()
        self.reason.setEditable(True)
        self.reason.addItems(REASONS)
        self.check_in = QPushButton("Check in")
        self.check_in.setObjectName("primary")
        self.check_in.setEnabled(False)
        self.message = QLabel("")
        self.message.setObjectName("hint")
        self.message.setWordWrap(True)
        heading = QLabel("Find a ticket")
        heading.setObjectName("heading")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(heading)
        layout.addWidget(self.search)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.message)
        reason_row = QHBoxLayout()
        reason_row.addWidget(QLabel("Reason"))
        reason_row.addWidget(self.reason, 1)
        layout.addLayout(reason_row)
        layout.addWidget(self.check_in)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DELAY_MS)
        self._debounce.timeout.connect(lambda: self.search_changed.emit(self.search.text().strip()))
        self.search.textChanged.connect(lambda _text: self._debounce.start())
        self.results.currentItemChanged.connect(self._selection_changed)
        self.results.itemDoubleClicked.connect(lambda _item: self._request_check_in())
        self.check_in.clicked.connect(self._request_check_in)

    def show_results(self, text: str, rows: Sequence[TicketRow]) -> None:
        if text != self.search.text().strip():
            return  # an answer to an older search: the staff has typed on since
        self.results.clear()
        for row in rows:
            item = QListWidgetItem(row_text(row))
            item.setData(Qt.ItemDataRole.UserRole, row.ticket_id)
            self.results.addItem(item)
        if not text:
            self.message.setText("")
        elif rows:
            self.message.setText(f"{len(rows)} found")
        else:
            self.message.setText(f"No ticket matches “{text}”")
        self.check_in.setEnabled(False)

    def _selection_changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        self.check_in.setEnabled(current is not None)

    def selected_ticket(self) -> int | None:
        item = self.results.currentItem()
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def _request_check_in(self) -> None:
        ticket = self.selected_ticket()
        reason = self.reason.currentText().strip()
        if ticket is None:
            return
        if not reason:
            self.message.setText("Give a reason for checking in by hand")
            return
        self.check_in_requested.emit(ticket, reason)
