# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""The composition root: builds the core objects, starts the workers, wires them to the window.

``main(args)`` is what ``scanner-app`` runs with no command. Everything the window shows comes
from a worker signal; everything staff ask goes to a worker. Nothing here decides a ticket.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThread, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from scanner_app.core.kiosk import PinGate
from scanner_app.core.pairing import open_paired_door, read_pairing_qr
from scanner_app.core.ports import (
    DoorService,
    PairedDoor,
    SyncOutcome,
)
from scanner_app.core.verdict import Verdict
from scanner_app.desk_shell import DeskShell
from scanner_app.hardware.camera import open_source
from scanner_app.hardware.decoders import DECODERS, make_decoder
from scanner_app.parts import Parts as Parts
from scanner_app.parts import default_parts as default_parts
from scanner_app.settings import Folders, Settings, configure_logging
from scanner_app.ui.kiosk_screen import KioskScreen
from scanner_app.ui.main_window import MainWindow
from scanner_app.ui.settings_dialog import SettingsDialog
from scanner_app.ui.sounds import SoundPlayer
from scanner_app.ui.theme import style_sheet
from scanner_app.ui.ticket_print import DeskPrinter
from scanner_app.ui.wedge_filter import WedgeFilter
from scanner_app.workers.camera_worker import CameraWorker
from scanner_app.workers.door_worker import DoorWorker
from scanner_app.workers.pairing_worker import PairingWorker
from scanner_app.workers.sync_worker import SyncWorker
from scanner_app.workers.threads import start_in_thread, stop_thread

logger = logging.getLogger(__name__)

STATUS_REFRESH_MS = 2000
SWITCH_INTERVAL_S = 0.001


class DoorApp(QObject):
    """Owns the window, the workers and their threads, and the wiring between them."""

    def __init__(self, settings: Settings, parts: Parts, *, sound: SoundPlayer | None = None):
        super().__init__()
        self.settings = settings
        self.parts = parts
        self.window = MainWindow(settings.door)
        self.sound = sound or SoundPlayer(settings.sound)
        self.wedge = WedgeFilter(parent=self)
        self.door: DoorService | None = None
        self.door_worker: DoorWorker | None = None
        self.sync_worker: SyncWorker | None = None
        self.camera: CameraWorker | None = None
        self.last_sync: SyncOutcome | None = None
        self._camera_codes_to: Callable[[str], None] | None = None
        self._threads: list[tuple[QThread, QObject]] = []  # each worker with its thread
        self._pairing_thread: QThread | None = None
        self._pairing: PairingWorker | None = None
        self.desk_shell: DeskShell | None = None
        self.window.scan.box_office_button.hide()  # shown when this device can sell
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_REFRESH_MS)
        self._status_timer.timeout.connect(self._refresh_status)
        self._wire_window()

    # --- start and stop ------------------------------------------------------------------------

    def start(self, paired: PairedDoor | None) -> None:
        """Show the window: scanning with ``paired`` (opened before Qt started), else pairing."""
        # Three busy threads (camera, door, sync) share the GIL; at the default 5 ms switch
        # interval the GUI thread can wait 5-15 ms for it. 1 ms keeps the preview and answers
        # smooth for a negligible cost in decode throughput (bench/scan_pipeline.py).
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.wedge)
        if paired is None:
            self.window.show_pairing()
        else:
            self._start_door(paired)
        self._start_camera()  # after the door: its first code already goes to the door worker
        self.window.show()

    def stop(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.wedge)
        self._status_timer.stop()
        self._stop_camera()
        self._stop_door()
        if self._pairing_thread is not None:
            stop_thread(self._pairing_thread, self._pairing)
            self._pairing_thread = None

    def _start_door(self, paired: PairedDoor) -> None:
        self.door = paired.door
        self.door_worker = DoorWorker(paired.door, self.settings.door)
        self._threads.append((start_in_thread(self.door_worker, "door"), self.door_worker))
        self.door_worker.ticket_scanned.connect(self._on_verdict)
        self.door_worker.check_in_finished.connect(self._on_verdict)
        self.door_worker.status_changed.connect(self.window.scan.show_status)
        self.door_worker.lookup_finished.connect(self.window.scan.lookup.show_results)
        self.door_worker.door_failed.connect(self.window.scan.show_notice)
        names = ", ".join(e.name for e in paired.door.events()) or "no events yet"
        self.window.scan.event_label.setText(names)
        if paired.sync_round is not None:
            self.sync_worker = SyncWorker(paired.sync_round, self.parts.sync_interval_ms)
            thread = start_in_thread(self.sync_worker, "sync")
            self._threads.append((thread, self.sync_worker))
            # Queued onto the sync thread: the worker's timer must live there.
            QTimer.singleShot(0, self.sync_worker, self.sync_worker.start)
            self.sync_worker.online_changed.connect(self.window.scan.badge.set_online)
            self.sync_worker.sync_finished.connect(self._on_sync)
            self.sync_worker.device_revoked.connect(self._on_revoked)
        self._route_camera_codes()
        self._status_timer.start()
        self.door_worker.request_status()
        self.window.show_scan()
        self._start_desk()
        self._screen_changed(0)

    def _start_desk(self) -> None:
        desk = None if self.parts.open_desk is None else self.parts.open_desk()
        if desk is None:
            return
        self.desk_shell = DeskShell(self.window, desk, self.parts.printer or DeskPrinter(),
                                    refresh_ms=self.parts.sync_interval_ms)
        if self.parts.start_on_sale_screen or desk.seller() is not None:
            self.window.show_sale()

    def _stop_door(self) -> None:
        self.door_worker = None
        if self.desk_shell is not None:
            self.desk_shell.stop()
            self.desk_shell = None
        self._route_camera_codes()  # first: no camera code is queued to a stopping worker
        if self.sync_worker is not None:
            QTimer.singleShot(0, self.sync_worker, self.sync_worker.stop)
            self.sync_worker = None
        for thread, worker in self._threads:  # each worker outlives its thread (threads.py)
            stop_thread(thread, worker)
        self._threads.clear()
        if self.door is not None:
            self.door.close()
        self.door = None

    def _start_camera(self) -> None:
        self._stop_camera()
        camera = CameraWorker(self.parts.open_camera, self.parts.decoder)
        for view in (self.window.scan.camera, self.window.pairing.camera):
            camera.frame_captured.connect(view.show_frame)
            view.view_resized.connect(camera.set_preview_size)
        camera.camera_failed.connect(self._on_camera_failed)
        camera.camera_stopped.connect(self._on_camera_stopped)
        self.camera = camera
        self._camera_codes_to = None
        self._route_camera_codes()
        camera.start()

    def _route_camera_codes(self) -> None:
        """While the door scans, camera codes go straight from the camera thread to the door
        worker's thread (a queued call; the GUI thread only sees the verdict); while no door is
        open, to the pairing screen on the GUI thread."""
        if self.camera is None:
            return
        if self._camera_codes_to is not None:
            self.camera.code_decoded.disconnect(self._camera_codes_to)
        if self.door_worker is not None:
            self._camera_codes_to = self.door_worker.check_camera_code
        else:
            self._camera_codes_to = self._on_pairing_code
        self.camera.code_decoded.connect(self._camera_codes_to)

    def _stop_camera(self) -> None:
        if self.camera is not None:
            self.camera.stop()
            self.camera = None

    # --- wiring --------------------------------------------------------------------------------

    def _wire_window(self) -> None:
        scan = self.window.scan
        self.wedge.code_scanned.connect(lambda code: self.scan_code(code, "wedge"))
        scan.lookup.search_changed.connect(self._lookup)
        scan.lookup.check_in_requested.connect(self._check_in)
        scan.door_changed.connect(self._door_changed)
        scan.kiosk_requested.connect(self.enter_kiosk)
        scan.settings_requested.connect(self.open_settings)
        self.window.pairing.pair_requested.connect(self._pair)
        self.window.revoked.pair_again_requested.connect(self.window.show_pairing)
        self.window.kiosk_left.connect(lambda: self.window.scan.answer.show_ready())
        self.window.stack.currentChanged.connect(self._screen_changed)

    def _screen_changed(self, _index: int) -> None:
        if self.door_worker is not None:
            self.door_worker.paused = self.window.stack.currentWidget() is self.window.sale

    def scan_code(self, code: str, source: str) -> None:
        """A code typed in by a wedge scanner: to the door while it scans, else to pairing.
        On the box office's sale screen nobody is at the door: the code is dropped."""
        if self.window.stack.currentWidget() is self.window.sale:
            logger.info("a code scanned on the sale screen was not checked")
            return
        if self.door_worker is not None:
            self.door_worker.request_check(code, source)
        else:
            self._on_pairing_code(code)

    def _on_pairing_code(self, code: str) -> None:
        """A code read while no door is open: a pairing QR starts pairing, anything else waits."""
        if self.window.stack.currentWidget() is not self.window.pairing:
            return  # the revoked screen: staff press "Pair with a new code" first
        if self._pairing_thread is not None:
            return
        qr = read_pairing_qr(code)
        if qr is None:
            return
        if qr.server_url is not None:
            self.window.pairing.start(qr.server_url, qr.code)
        else:  # the server's own pairing QR holds the code alone
            self.window.pairing.code_scanned(qr.code)

    def _on_camera_failed(self, message: str) -> None:
        for view in (self.window.scan.camera, self.window.pairing.camera):
            view.show_message(f"{message}\nUse a handheld scanner or Search meanwhile.")

    def _on_camera_stopped(self) -> None:
        self._on_camera_failed("The camera stopped.")

    def _on_verdict(self, verdict: Verdict) -> None:
        self.window.show_verdict(verdict)
        self.sound.play(verdict.colour)

    def _on_sync(self, outcome: SyncOutcome) -> None:
        self.last_sync = outcome
        if self.door_worker is not None:
            self.door_worker.request_status()

    def _on_revoked(self) -> None:
        logger.warning("this device was revoked: local data wiped, scanning stopped")
        self.window.show_revoked()
        self._status_timer.stop()
        self._stop_door()

    def _refresh_status(self) -> None:
        if self.door_worker is not None:
            self.door_worker.request_status()

    def _lookup(self, text: str) -> None:
        if self.door_worker is not None:
            self.door_worker.request_lookup(text)

    def _check_in(self, ticket_id: int, reason: str) -> None:
        if self.door_worker is not None:
            self.door_worker.request_check_in(ticket_id, reason)

    def _door_changed(self, name: str) -> None:
        if self.door_worker is not None:
            self.door_worker.set_door_name(name)
        self._save(self.settings.replace(door=name))

    def _save(self, settings: Settings) -> None:
        self.settings = settings
        try:
            settings.save()
        except OSError as exc:
            logger.error("settings not saved: %s", exc)
            self.window.scan.show_notice(f"Settings could not be saved: {exc}")

    # --- pairing -------------------------------------------------------------------------------

    def _pair(self, server: str, code: str, device_name: str = "") -> None:
        if self._pairing_thread is not None:
            return
        self._pairing = PairingWorker(self.parts.pair)
        self._pairing.pairing_progressed.connect(self.window.pairing.show_progress)
        self._pairing.pairing_finished.connect(self._paired)
        self._pairing.pairing_failed.connect(self._pairing_failed)
        self._pairing_thread = start_in_thread(self._pairing, "pairing")
        self._pairing.request_pairing(server, code, device_name)

    def _end_pairing(self) -> None:
        if self._pairing_thread is not None:
            stop_thread(self._pairing_thread, self._pairing)
        self._pairing_thread = None
        self._pairing = None

    def _pairing_failed(self, message: str) -> None:
        self._end_pairing()
        self.window.pairing.show_error(message)

    def _paired(self) -> None:
        self._end_pairing()
        paired = self.parts.open_door()
        if paired is None:
            self.window.pairing.show_error("Pairing finished but the door data cannot be opened.")
            return
        self._start_door(paired)

    # --- kiosk and settings --------------------------------------------------------------------

    def enter_kiosk(self) -> None:
        if not self.settings.kiosk_pin_hash:
            self.window.scan.show_notice("Set a staff PIN in Settings before starting kiosk mode.")
            return
        kiosk = KioskScreen(PinGate(self.settings.kiosk_pin_hash), clock=time.monotonic)
        if self.camera is not None:
            self.camera.frame_captured.connect(kiosk.camera.show_frame)
        self.window.scan.show_notice("")
        self.window.enter_kiosk(kiosk)

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, list(DECODERS), self.window)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.result_settings is None:
            return
        self.apply_settings(dialog.result_settings)

    def apply_settings(self, new: Settings) -> None:
        old, self.settings = self.settings, new
        self._save(new)
        self.sound.enabled = new.sound
        if self.door_worker is not None:
            self.door_worker.set_door_name(new.door)
        if new.decoder != old.decoder:
            self.parts.decoder = make_decoder(new.decoder)
            if self.camera is not None:
                self.camera.set_decoder(self.parts.decoder)
        if (new.camera, new.width, new.height) != (old.camera, old.width, old.height):
            self.parts.open_camera = lambda: open_source(
                new.camera, width=new.width, height=new.height
            )
            self._start_camera()


def main(args: argparse.Namespace) -> int:
    """Open the door window (``scanner-app`` with no command). Returns the process exit code.

    Start-up order, after the exception hook the CLI set first: config -> logging -> the door
    database, opened and migrated -> Qt. A database that cannot be opened fails (logged) before
    any window exists.
    """
    folders = Folders.for_user(args.home)
    if args.data_dir is not None:  # the CLI's --data-dir, shared with the headless commands
        folders = dataclasses.replace(folders, data=Path(args.data_dir))
    settings = Settings.load(folders)
    if args.camera:
        settings = settings.replace(camera=args.camera)
    if args.decoder:
        settings = settings.replace(decoder=args.decoder)
    log_file = configure_logging(folders)
    logger.info("starting; logs in %s", log_file)
    paired = open_paired_door(folders.data)
    qt_app = QApplication([])  # this process's one; main runs once, from the CLI
    qt_app.setApplicationName("SteppersLife Door")
    qt_app.setStyleSheet(style_sheet())
    door_app = DoorApp(settings, default_parts(settings))
    door_app.start(paired)
    if args.kiosk:
        door_app.enter_kiosk()
    try:
        return int(qt_app.exec())
    finally:
        door_app.stop()
        # Delete the widgets while Qt is still up: left to the interpreter's final garbage
        # collection, PySide6 6.12 sometimes aborts at exit ("bool_dealloc").
        door_app.window.close()
        door_app.window.deleteLater()
        qt_app.processEvents()
        del door_app
        gc.collect()
