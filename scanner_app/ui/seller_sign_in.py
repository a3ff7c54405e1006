# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""The seller's sign-in at the desk: the event (when the device serves several), e-mail, the
4-digit code of the day, and a password only at a door laptop (docs/box-office.md)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

HELLO = ("Sellers: sign in with your e-mail and your 4-digit code of the day (the organizer "
         "gives it to you).")


class SignInForm(QWidget):
    """Signal: ``sign_in_requested(event id, e-mail, code, password)``."""

    sign_in_requested = Signal(int, str, str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.event_choice = QComboBox()
        self.email_edit = QLineEdit()
        self.email_edit.setPlaceholderText("Seller e-mail")
        self.code_edit = QLineEdit()
        self.code_edit.setPlaceholderText("Code of the day")
        self.code_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.code_edit.setMaxLength(4)
        self.password_edit = QLineEdit()
        self.password_edit.setPlaceholderText("Password (only at a door laptop)")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.button = QPushButton("Sign in")
        self.button.setObjectName("primary")
        self.message = QLabel(HELLO)
        self.message.setWordWrap(True)
        form = QVBoxLayout(self)
        for part in (self.message, self.event_choice, self.email_edit, self.code_edit,
                     self.password_edit, self.button):
            form.addWidget(part)
        form.addStretch(1)
        self.email_edit.returnPressed.connect(self.code_edit.setFocus)
        self.code_edit.returnPressed.connect(self.submit)
        self.button.clicked.connect(self.submit)

    def set_events(self, events: list[tuple[int, str]]) -> None:
        self.event_choice.clear()
        for event_id, name in events:
            self.event_choice.addItem(name, event_id)
        self.event_choice.setVisible(len(events) > 1)

    def show_refusal(self, message: str) -> None:
        self.message.setText(message)
        self.code_edit.clear()
        self.code_edit.setFocus()

    def submit(self) -> None:
        event_id = self.event_choice.currentData()
        if event_id is None:
            self.show_refusal("This device serves no event yet: wait for its sync.")
            return
        self.sign_in_requested.emit(int(event_id), self.email_edit.text(),
                                    self.code_edit.text(), self.password_edit.text())
        self.password_edit.clear()
