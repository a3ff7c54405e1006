# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""The one window: pairing, scanning, kiosk and revoked screens on a stack.

It holds no rules: it shows what it is given and passes on what staff ask for. In kiosk mode it
cannot be closed until the kiosk screen reports the staff PIN.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QWidget

from scanner_app.core.verdict import Verdict
from scanner_app.ui.kiosk_screen import KioskScreen
from scanner_app.ui.pairing_screen import PairingScreen
from scanner_app.ui.revoked_screen import RevokedScreen
from scanner_app.ui.sale_screen import SaleScreen
from scanner_app.ui.scan_screen import ScanScreen

logger = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    kiosk_left = Signal()

    def __init__(self, door: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("SteppersLife Door")
        self.resize(1280, 800)
        self.pairing = PairingScreen()
        self.scan = ScanScreen(door)
        self.revoked = RevokedScreen()
        self.sale = SaleScreen()
        self.kiosk: KioskScreen | None = None
        self.stack = QStackedWidget()
        for page in (self.pairing, self.scan, self.revoked, self.sale):
            self.stack.addWidget(page)
        self.setCentralWidget(self.stack)

    @property
    def in_kiosk(self) -> bool:
        return self.kiosk is not None and self.stack.currentWidget() is self.kiosk

    def show_pairing(self) -> None:
        self.stack.setCurrentWidget(self.pairing)

    def show_scan(self) -> None:
        self.stack.setCurrentWidget(self.scan)

    def show_sale(self) -> None:
        """The box office's sale screen (a BOX_OFFICE device, or a door a seller took over)."""
        self.stack.setCurrentWidget(self.sale)
        self.sale.setFocus()

    def show_revoked(self) -> None:
        self._drop_kiosk()
        self.stack.setCurrentWidget(self.revoked)

    def show_verdict(self, verdict: Verdict) -> None:
        """Every answer goes to the screen in front of the person being answered."""
        if self.in_kiosk and self.kiosk is not None:
            self.kiosk.show_verdict(verdict)
        else:
            self.scan.show_verdict(verdict)

    def enter_kiosk(self, kiosk: KioskScreen) -> None:
        self._drop_kiosk()
        self.kiosk = kiosk
        self.stack.addWidget(kiosk)
        self.stack.setCurrentWidget(kiosk)
        kiosk.unlocked.connect(self.leave_kiosk)
        self.showFullScreen()
        logger.info("kiosk mode on")

    def leave_kiosk(self) -> None:
        self._drop_kiosk()
        self.showNormal()
        self.stack.setCurrentWidget(self.scan)
        logger.info("kiosk mode off (staff PIN)")
        self.kiosk_left.emit()

    def _drop_kiosk(self) -> None:
        if self.kiosk is not None:
            self.stack.removeWidget(self.kiosk)
            self.kiosk.deleteLater()
            self.kiosk = None

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.in_kiosk:
            logger.info("close refused: kiosk mode needs the staff PIN")
            event.ignore()
            return
        super().closeEvent(event)
