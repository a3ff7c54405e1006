# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""First run: pair with a server by URL and code, or by showing the pairing QR to the camera."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from scanner_app.ui.camera_view import CameraView


class PairingScreen(QWidget):
    """``pair_requested(server_url, code, device_name)``; then :meth:`show_progress` until the
    app moves on. ``device_name`` is empty unless staff typed one: the device then keeps the name
    the organiser gave it when making the code."""

    pair_requested = Signal(str, str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        heading = QLabel("Connect this scanner to your event")
        heading.setObjectName("heading")
        hint = QLabel(
            "In the organiser's dashboard open Devices → Add a door scanner. Type the server "
            "address and the pairing code shown there, or hold the pairing QR up to the camera."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.server = QLineEdit()
        self.server.setPlaceholderText("https://tickets.example.com")
        self.code = QLineEdit()
        self.code.setPlaceholderText("Pairing code")
        self.device_name = QLineEdit()
        self.device_name.setPlaceholderText("Optional: keeps the name from the dashboard")
        self.device_name.setMaxLength(100)
        self.pair_button = QPushButton("Connect")
        self.pair_button.setObjectName("primary")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setFormat("Downloading tickets: %v of %m")
        self.progress_text = QLabel("")
        self.progress_text.setObjectName("hint")
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.camera = CameraView()
        self.camera.setMinimumSize(360, 240)
        form = QFormLayout()
        form.addRow("Server", self.server)
        form.addRow("Code", self.code)
        form.addRow("Name", self.device_name)
        left = QVBoxLayout()
        left.addWidget(heading)
        left.addWidget(hint)
        left.addLayout(form)
        left.addWidget(self.pair_button)
        left.addWidget(self.progress)
        left.addWidget(self.progress_text)
        left.addWidget(self.error)
        left.addStretch(1)
        right = QVBoxLayout()
        qr_hint = QLabel("…or show the pairing QR code here")
        qr_hint.setObjectName("hint")
        qr_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        right.addWidget(self.camera, 1)
        right.addWidget(qr_hint)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(40, 30, 40, 30)
        layout.setSpacing(30)
        layout.addLayout(left, 3)
        layout.addLayout(right, 2)
        self.pair_button.clicked.connect(self._submit)
        self.code.returnPressed.connect(self._submit)

    def _submit(self) -> None:
        server, code = self.server.text().strip(), self.code.text().strip()
        if not server or not code:
            self.show_error("Type the server address and the pairing code.")
            return
        self.start(server, code)

    def start(self, server: str, code: str) -> None:
        self.server.setText(server)
        self.code.setText(code)
        self.error.setText("")
        self.pair_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)  # busy until the first page arrives
        self.progress_text.setText("Connecting…")
        self.pair_requested.emit(server, code, self.device_name.text().strip())

    def code_scanned(self, code: str) -> None:
        """A pairing QR holding the code alone: pair if the server is known, else ask for it."""
        self.code.setText(code)
        server = self.server.text().strip()
        if server:
            self.start(server, code)
            return
        self.show_error("Pairing code read. Type the server address, then press Connect.")
        self.server.setFocus()

    def show_progress(self, done: int, total: int) -> None:
        """``total`` 0: not known yet (an older server): a busy bar and a count."""
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        else:
            self.progress.setRange(0, 0)
        self.progress_text.setText(f"{done:,} tickets downloaded")

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.pair_button.setEnabled(True)
        self.progress.setVisible(False)
        self.progress_text.setText("")
