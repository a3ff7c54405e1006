# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""Settings: camera and resolution, decoder backend, door name, kiosk PIN, sound."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from scanner_app.core.kiosk import PinError, hash_pin
from scanner_app.settings import RESOLUTIONS, Settings


class SettingsDialog(QDialog):
    """Edit a copy of ``Settings``; :attr:`result_settings` holds the new ones after OK."""

    def __init__(
        self, settings: Settings, decoders: Sequence[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._settings = settings
        self.result_settings: Settings | None = None
        self.camera = QComboBox()
        self.camera.setEditable(True)
        self.camera.addItems([str(i) for i in range(4)])
        self.camera.setCurrentText(settings.camera)
        self.camera.setToolTip("A camera number (0 is the first), or a video file or image folder")
        self.resolution = QComboBox()
        choices = list(RESOLUTIONS)
        if (settings.width, settings.height) not in choices:
            choices.append((settings.width, settings.height))  # keep a size set by hand
        for width, height in choices:
            # a string as item data: a tuple does not survive the trip through QVariant
            self.resolution.addItem(f"{width} × {height}", f"{width}x{height}")
        self.resolution.setCurrentIndex(
            max(0, self.resolution.findData(f"{settings.width}x{settings.height}"))
        )
        self.decoder = QComboBox()
        self.decoder.addItem("Automatic (fastest that reads best)", "auto")
        for name in decoders:
            self.decoder.addItem(name, name)
        self.decoder.setCurrentIndex(max(0, self.decoder.findData(settings.decoder)))
        self.door = QLineEdit(settings.door)
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText("unchanged" if settings.kiosk_pin_hash else "not set")
        self.sound = QCheckBox("Play a sound for each answer")
        self.sound.setChecked(settings.sound)
        self.error = QLabel("")
        self.error.setObjectName("error")
        form = QFormLayout()
        form.addRow("Camera", self.camera)
        form.addRow("Resolution", self.resolution)
        form.addRow("QR decoder", self.decoder)
        form.addRow("Door name", self.door)
        form.addRow("New kiosk PIN", self.pin)
        form.addRow("", self.sound)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _accept(self) -> None:
        pin_hash = self._settings.kiosk_pin_hash
        if self.pin.text():
            try:
                pin_hash = hash_pin(self.pin.text())
            except PinError as exc:
                self.error.setText(str(exc))
                return
        width, height = str(self.resolution.currentData()).split("x")
        self.result_settings = self._settings.replace(
            camera=self.camera.currentText().strip() or "0",
            width=int(width),
            height=int(height),
            decoder=str(self.decoder.currentData()),
            door=self.door.text().strip() or self._settings.door,
            kiosk_pin_hash=pin_hash,
            sound=self.sound.isChecked(),
        )
        self.accept()
