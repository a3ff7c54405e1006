# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""The live camera picture. It only draws images the camera worker already shrank."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class CameraView(QLabel):
    """``view_resized(QSize)`` tells the worker how large to make preview frames."""

    view_resized = Signal(QSize)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cameraView")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(320, 200)
        self.frames_shown = 0
        self.show_message("Starting the camera…")

    def show_frame(self, image: QImage) -> None:
        # Every view gets every preview (scan, pairing, kiosk); only the one on screen draws it.
        if not self.isVisible():
            return
        self.setPixmap(QPixmap.fromImage(image))
        self.frames_shown += 1

    def show_message(self, text: str) -> None:
        self.clear()
        self.setText(text)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.view_resized.emit(self.size())
