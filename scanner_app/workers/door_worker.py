# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""Every call into the ``DoorService`` runs here, on one worker thread, in arrival order.

The core's calls are fast, but SQLite can stall for tens of milliseconds (a WAL checkpoint, the
sync thread holding the write lock): on the GUI thread that would freeze the camera preview. One
thread also means the door core never sees two calls at once.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal, Slot

from scanner_app.core.ports import DoorService

logger = logging.getLogger(__name__)


class DoorWorker(QObject):
    """Queued-signal adapter around a ``DoorService``.

    Ask with :meth:`request_check`, :meth:`request_lookup`, :meth:`request_check_in` and
    :meth:`request_status` from any thread. The camera's ``code_decoded`` connects straight to
    :meth:`check_camera_code` while this worker exists (a queued call from the camera thread to
    this one: a door worker exists only while the door is scanning, so a camera code never asks
    the GUI thread which screen is showing). Answers arrive as ``ticket_scanned(Verdict)``,
    ``lookup_finished(str, list[TicketRow])``, ``check_in_finished(Verdict)``,
    ``status_changed(DoorStatus)`` and ``door_failed(str)``.
    """

    ticket_scanned = Signal(object)
    lookup_finished = Signal(str, object)
    check_in_finished = Signal(object)
    status_changed = Signal(object)
    door_failed = Signal(str)

    _check_requested = Signal(str, str)
    _lookup_requested = Signal()
    _check_in_requested = Signal(int, str)
    _status_requested = Signal()

    def __init__(self, door: DoorService, door_name: str) -> None:
        super().__init__()
        self._door = door
        self._door_name = door_name
        self._lock = threading.Lock()
        self._wanted_lookup: str | None = None
        # True while the window shows the box office's sale screen: a code the camera reads
        # there is not someone at the door (set from the GUI thread; a bool is atomic).
        self.paused = False
        self._check_requested.connect(self._check)
        self._lookup_requested.connect(self._lookup)
        self._check_in_requested.connect(self._check_in)
        self._status_requested.connect(self._status)

    @property
    def door_name(self) -> str:
        return self._door_name

    def set_door_name(self, name: str) -> None:
        self._door_name = name.strip() or self._door_name

    # Requests: callable from any thread; each becomes a queued call on the worker's thread.
    def request_check(self, payload: str, source: str) -> None:
        self._check_requested.emit(payload, source)

    def request_lookup(self, text: str) -> None:
        """Search as you type: only the newest text is searched; older requests are dropped."""
        with self._lock:
            self._wanted_lookup = text
        self._lookup_requested.emit()

    def request_check_in(self, ticket_id: int, reason: str) -> None:
        self._check_in_requested.emit(ticket_id, reason)

    def request_status(self) -> None:
        self._status_requested.emit()

    @Slot(str)
    def check_camera_code(self, payload: str) -> None:
        if self.paused:
            return
        self._check(payload, "camera")

    @Slot(str, str)
    def _check(self, payload: str, source: str) -> None:
        verdict = self._door.check(payload, door=self._door_name, source=source)
        logger.info("scan via %s: %s %s", source, verdict.code, verdict.ticket_number or "")
        self.ticket_scanned.emit(verdict)
        self._status()

    @Slot()
    def _lookup(self) -> None:
        with self._lock:
            text, self._wanted_lookup = self._wanted_lookup, None
        if text is None:
            return  # a newer request already answered this one
        try:
            rows = list(self._door.lookup(text))
        except Exception as exc:
            logger.exception("lookup failed for %r", text)
            self.door_failed.emit(f"Search failed: {exc}")
            return
        self.lookup_finished.emit(text, rows)

    @Slot(int, str)
    def _check_in(self, ticket_id: int, reason: str) -> None:
        try:
            verdict = self._door.manual_check_in(ticket_id, reason=reason, door=self._door_name)
        except Exception as exc:
            logger.exception("manual check-in failed for ticket %s", ticket_id)
            self.door_failed.emit(f"Check-in failed: {exc}")
            return
        logger.info("manual check-in of %s (%s): %s", ticket_id, reason, verdict.code)
        self.check_in_finished.emit(verdict)
        self._status()

    @Slot()
    def _status(self) -> None:
        try:
            self.status_changed.emit(self._door.status())
        except Exception:
            logger.exception("door status failed")
