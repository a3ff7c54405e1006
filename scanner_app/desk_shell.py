# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""The box office inside the door app: the desk worker on its thread, wired to the sale screen.

``DoorApp`` makes one when its parts can open a desk (``Parts.open_desk``). A device paired as
BOX_OFFICE starts on the sale screen; a door shows a "Box office" button that switches to it,
and the sale screen's "Door" button switches back. Nothing here decides anything.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from PySide6.QtCore import QObject, QThread, QTimer
from PySide6.QtWidgets import QMessageBox

from scanner_app.core.box_office import SellerTotals, end_of_night_lines
from scanner_app.core.ports import DeskService
from scanner_app.ui.main_window import MainWindow
from scanner_app.ui.ticket_print import DeskPrinter
from scanner_app.workers.desk_worker import DeskWorker
from scanner_app.workers.threads import start_in_thread, stop_thread

logger = logging.getLogger(__name__)


class DeskShell(QObject):
    def __init__(self, window: MainWindow, desk: DeskService, printer: DeskPrinter, *,
                 refresh_ms: int = 15_000, desk_name: str = "Box office") -> None:
        super().__init__()
        self.window = window
        self.desk = desk
        self.desk_name = desk_name
        self.totals = SellerTotals()
        self.report_box: QMessageBox | None = None
        self.seller_name = ""
        self.worker = DeskWorker(desk, printer, refresh_ms)
        self.desk_thread: QThread | None = start_in_thread(self.worker, "desk")
        sale = window.sale
        sale.sign_in_requested.connect(self.worker.request_sign_in)
        sale.sale_requested.connect(self.worker.request_sale)
        sale.reprint_requested.connect(self.worker.request_reprint)
        sale.void_requested.connect(self.worker.request_void)
        sale.report_requested.connect(self.show_report)
        sale.door_requested.connect(window.show_scan)
        self.worker.sale_done.connect(sale.show_sale)
        self.worker.sale_refused.connect(sale.show_refusal)
        self.worker.printed.connect(sale.show_print)
        self.worker.voided.connect(sale.show_voided)
        self.worker.tiers_changed.connect(sale.set_tiers)
        self.worker.totals_changed.connect(self._totals)
        self.worker.online_changed.connect(sale.badge.set_online)
        self.worker.seller_changed.connect(sale.show_seller)
        self.worker.seller_changed.connect(self._seller)
        self.worker.sign_in_refused.connect(sale.show_sign_in_refusal)
        self.worker.events_changed.connect(sale.set_events)
        self.worker.stock_returned.connect(self._stock_returned)
        self.worker.box_office_device.connect(self._box_office_device)
        window.scan.box_office_requested.connect(window.show_sale)
        window.scan.box_office_button.show()
        QTimer.singleShot(0, self.worker, self.worker.start)  # its timer lives on its thread

    def _seller(self, name: str | None) -> None:
        self.seller_name = name or ""

    def _box_office_device(self) -> None:
        if self.window.stack.currentWidget() is self.window.scan:
            self.window.show_sale()

    def _totals(self, totals: SellerTotals) -> None:
        self.totals = totals
        self.window.sale.show_totals(totals)

    def report_lines(self) -> list[str]:
        return end_of_night_lines(self.totals, seller=self.seller_name, desk=self.desk_name,
                                  at=datetime.now(UTC))

    def show_report(self) -> None:
        """End of night: the seller's report on screen; unsold stock goes back to the server."""
        box = QMessageBox(self.window)
        box.setWindowTitle("End of night")
        box.setText("\n".join(self.report_lines()))
        box.open()
        self.report_box = box
        self.worker.request_end_of_night()

    def _stock_returned(self, message: str) -> None:
        if self.report_box is not None:
            self.report_box.setText("\n".join([*self.report_lines(), "", message]))

    def stop(self) -> None:
        if self.desk_thread is not None:
            QTimer.singleShot(0, self.worker, self.worker.stop)
            stop_thread(self.desk_thread, self.worker)
            self.desk_thread = None
        self.desk.close()
