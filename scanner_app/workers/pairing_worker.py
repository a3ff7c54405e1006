# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""Pair with a server and download its ticket list off the GUI thread, reporting progress."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal, Slot

from scanner_app.core.ports import PairFunction

logger = logging.getLogger(__name__)


class PairingWorker(QObject):
    """Signals: ``pairing_progressed(done, total)``, ``pairing_finished``, ``pairing_failed``."""

    pairing_progressed = Signal(int, int)
    pairing_finished = Signal()
    pairing_failed = Signal(str)

    _pair_requested = Signal(str, str, str)

    def __init__(self, pair: PairFunction) -> None:
        super().__init__()
        self._pair = pair
        self._pair_requested.connect(self._run)

    def request_pairing(self, server_url: str, code: str, device_name: str = "") -> None:
        """``device_name`` empty: keep the name the organiser gave the device on the server."""
        self._pair_requested.emit(server_url, code, device_name.strip())

    @Slot(str, str, str)
    def _run(self, server_url: str, code: str, device_name: str) -> None:
        try:
            if device_name:
                self._pair(server_url, code, self.pairing_progressed.emit, device_name=device_name)
            else:
                self._pair(server_url, code, self.pairing_progressed.emit)
        except Exception as exc:
            logger.warning("pairing with %s failed: %s", server_url, exc)
            self.pairing_failed.emit(str(exc) or type(exc).__name__)
            return
        self.pairing_finished.emit()
