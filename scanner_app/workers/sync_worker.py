# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""The one sync worker: runs the core's sync round on its own thread, on a timer.

The engine and its policy (what a failure means, how long to back off) live in
``scanner_app.core.sync``; this adapter only needs a ``SyncRound`` (``core/ports.py``): one
callable that syncs once and says how it went, ``SyncEngine.sync_round`` in the product.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from scanner_app.core.ports import SyncOutcome, SyncRound

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_MS = 15_000


class SyncWorker(QObject):
    """Signals: ``sync_finished(SyncOutcome)``, ``online_changed(bool)``, ``device_revoked()``."""

    sync_finished = Signal(object)
    online_changed = Signal(bool)
    device_revoked = Signal()

    def __init__(self, sync_round: SyncRound, interval_ms: int = DEFAULT_INTERVAL_MS) -> None:
        super().__init__()
        self._round = sync_round
        self._interval_ms = interval_ms
        self._online: bool | None = None
        self._revoked = False
        self._timer: QTimer | None = None

    @Slot()
    def start(self) -> None:
        """Call on the worker's thread (connect to ``QThread.started``): starts the timer."""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._sync)
        self._sync()

    @Slot()
    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    @Slot()
    def _sync(self) -> None:
        if self._revoked:
            return
        try:
            report = self._round()
        except Exception as exc:  # the engine should report, not raise; never kill the worker
            logger.exception("sync round raised")
            report = SyncOutcome(online=False, message=f"Sync failed: {exc}")
        if report.online != self._online:
            self._online = report.online
            self.online_changed.emit(report.online)
        self.sync_finished.emit(report)
        if report.revoked:
            self._revoked = True
            self.device_revoked.emit()
            return
        if self._timer is not None:
            delay = self._interval_ms
            if report.retry_after_s is not None:
                delay = max(1000, int(report.retry_after_s * 1000))
            self._timer.start(delay)
