# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""Every box-office call runs here, on one worker thread: the sale (hold, confirm or stock),
then printing, reprints, voids, totals and the periodic refresh (upload offline sales, tiers,
stock). The GUI thread never waits on the network, SQLite or the printer.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from scanner_app.core.box_office import SaleMode, SaleRefused
from scanner_app.core.ports import DeskService
from scanner_app.ui.ticket_print import DeskPrinter, PrintOutcome

logger = logging.getLogger(__name__)


class DeskWorker(QObject):
    """Ask with ``request_*`` from any thread; answers: ``sale_done(Sale, PrintOutcome)``,
    ``sale_refused(str)``, ``printed(PrintOutcome)``, ``voided(Sale)``,
    ``tiers_changed(list[Tier])``, ``totals_changed(SellerTotals)``, ``online_changed(bool)``."""

    sale_done = Signal(object, object)
    sale_refused = Signal(str)
    printed = Signal(object)
    voided = Signal(object)
    tiers_changed = Signal(object)
    totals_changed = Signal(object)
    online_changed = Signal(bool)
    seller_changed = Signal(object)  # the seller's name, or None: nobody signed in
    sign_in_refused = Signal(str)
    events_changed = Signal(object)
    stock_returned = Signal(str)
    box_office_device = Signal()  # this device was paired as a box office: open the sale screen

    _sale_requested = Signal(object)
    _reprint_requested = Signal(str)
    _void_requested = Signal(str, str)
    _refresh_requested = Signal()
    _sign_in_requested = Signal(int, str, str, str)
    _end_requested = Signal()

    def __init__(self, desk: DeskService, printer: DeskPrinter, refresh_ms: int = 15_000) -> None:
        super().__init__()
        self._desk = desk
        self._printer = printer
        self._refresh_ms = refresh_ms
        self._timer: QTimer | None = None
        self._seller_name: str | None = None
        self._published = False
        self._sale_requested.connect(self._sell)
        self._reprint_requested.connect(self._reprint)
        self._void_requested.connect(self._void)
        self._refresh_requested.connect(self._refresh)
        self._sign_in_requested.connect(self._sign_in)
        self._end_requested.connect(self._end_of_night)

    def request_sale(self, request: object) -> None:
        self._sale_requested.emit(request)

    def request_reprint(self, sale_id: str) -> None:
        self._reprint_requested.emit(sale_id)

    def request_void(self, sale_id: str, reason: str) -> None:
        self._void_requested.emit(sale_id, reason)

    def request_refresh(self) -> None:
        self._refresh_requested.emit()

    def request_sign_in(self, event_id: int, email: str, code: str, password: str = "") -> None:
        self._sign_in_requested.emit(event_id, email, code, password)

    def request_end_of_night(self) -> None:
        """Unsold stock back to the server, then the seller is signed out."""
        self._end_requested.emit()

    @Slot(int, str, str, str)
    def _sign_in(self, event_id: int, email: str, code: str, password: str) -> None:
        try:
            seller = self._desk.sign_in(event_id, email, code, password)
        except SaleRefused as exc:
            self.sign_in_refused.emit(exc.message)
            return
        except Exception as exc:
            logger.exception("sign-in failed")
            self.sign_in_refused.emit(f"Sign-in failed: {exc}")
            return
        self._seller_name, self._published = seller.name, True
        self.seller_changed.emit(seller.name)
        self._refresh()

    @Slot()
    def _end_of_night(self) -> None:
        self._refresh()
        try:
            returned = self._desk.return_stock()
            message = f"{returned} unsold stock ticket(s) handed back."
        except SaleRefused as exc:
            message = f"Stock not handed back ({exc.message}): do it when online."
        self.stock_returned.emit(message)

    @Slot()
    def start(self) -> None:
        """On the worker's thread: show what is stored, refresh now and on a timer."""
        self._timer = QTimer(self)
        self._timer.setInterval(self._refresh_ms)
        self._timer.timeout.connect(self._refresh)
        self._timer.start()
        self._publish()
        try:
            if self._desk.is_box_office():
                self.box_office_device.emit()
        except Exception:
            logger.exception("could not tell whether this device is a box office")
        self._refresh()

    @Slot()
    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    def _publish(self) -> None:
        try:
            self.events_changed.emit(list(self._desk.events()))
            seller = self._desk.seller()
            name = None if seller is None else seller.name
            if name != self._seller_name or not self._published:
                self._seller_name, self._published = name, True
                self.seller_changed.emit(name)
            self.tiers_changed.emit(list(self._desk.tiers()))
            self.totals_changed.emit(self._desk.totals())
        except Exception:
            logger.exception("box office state could not be read")

    @Slot(object)
    def _sell(self, request: object) -> None:
        try:
            sale = self._desk.sell(request)  # type: ignore[arg-type]
        except SaleRefused as exc:
            self.sale_refused.emit(exc.message)
            return
        except Exception as exc:
            logger.exception("sale failed")
            self.sale_refused.emit(f"The sale could not be made: {exc}")
            return
        outcome = self._print(sale.sale_id)
        self.sale_done.emit(sale, outcome)
        self.online_changed.emit(sale.mode is SaleMode.ONLINE)
        self._publish()

    def _print(self, sale_id: str) -> PrintOutcome:
        sale = self._desk.sale(sale_id)
        if sale is None:
            return PrintOutcome(False, "No such sale.")
        outcome = self._printer.print_sale(sale)
        if outcome.ok:
            try:
                self._desk.note_printed(sale_id)
            except Exception:
                logger.exception("could not note the print of %s", sale_id)
        return outcome

    @Slot(str)
    def _reprint(self, sale_id: str) -> None:
        self.printed.emit(self._print(sale_id))

    @Slot(str, str)
    def _void(self, sale_id: str, reason: str) -> None:
        try:
            sale = self._desk.void(sale_id, reason)
        except SaleRefused as exc:
            self.sale_refused.emit(exc.message)
            return
        self.voided.emit(sale)
        self._publish()

    @Slot()
    def _refresh(self) -> None:
        try:
            report = self._desk.refresh()
        except Exception:
            logger.exception("box office refresh failed")
            self.online_changed.emit(False)
            return
        self.online_changed.emit(report.error is None)
        self._publish()
